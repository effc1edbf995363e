"""The gate's configuration (`gate.yaml`): defaults, loading and validation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate.collect.base import CollectSettings, Identity
from gate.engine.limits import DEFAULT_EVAL_MEMORY_MB, DEFAULT_EVAL_TIMEOUT_SECONDS
from gate.errors import ConfigError

SEVERITIES = ("critical", "high", "medium", "low")
ACTIONS = ("block", "warn", "off")
REQUIREMENTS = ("sbom", "signature", "provenance")
ENGINES = ("embedded", "opa", "opa-server")
# The engines that need no server: what `gate serve`'s workers and `gate audit replay` may run.
LOCAL_ENGINES = ("embedded", "opa")
# How audit records are signed (`audit.signer`, `--signer`); the audit package, which cannot import
# the gate, keeps the same list in audit/signer.py (tests/gate/test_config.py holds them equal).
SIGNERS = ("local", "sigstore")
# The sigstore trust roots embedded in sigstore-python; anything else names a trusted_root.json.
TRUST_ROOTS = ("production", "staging")

DEFAULT_TIERS: dict[str, dict[str, str]] = {
    "dev": {"critical": "warn", "high": "warn", "medium": "warn", "low": "warn"},
    "staging": {"critical": "block", "high": "warn", "medium": "warn", "low": "warn"},
    "prod": {"critical": "block", "high": "block", "medium": "warn", "low": "warn"},
}

# The actions @backstage/plugin-scaffolder-backend 4.3.0 registers itself (ScaffolderPlugin), in its
# order; it registers no module by default. tests/gate/test_scaffolder_actions.py reads the published
# package and fails when this list and the release differ.
BUILTIN_SCAFFOLDER_ACTIONS = (
    "fetch:plain",
    "fetch:plain:file",
    "fetch:template",
    "fetch:template:file",
    "debug:log",
    "debug:wait",
    "catalog:register",
    "catalog:fetch",
    "catalog:write",
    "fs:delete",
    "fs:rename",
    "fs:readdir",
)
# Actions of the scaffolder modules Backstage publishes for source hosts and tools, which an app adds
# with `backend.add(...)` (a new app adds the GitHub one); allowed by default so that a template
# publishing to a host the app supports is not refused.
MODULE_SCAFFOLDER_ACTIONS = (
    "fetch:cookiecutter",
    "fetch:rails",
    "publish:github",
    "publish:github:pull-request",
    "publish:gitlab",
    "publish:gitlab:merge-request",
    "publish:bitbucket",
    "publish:bitbucketCloud",
    "publish:bitbucketServer",
    "publish:bitbucketServer:pull-request",
    "publish:azure",
    "publish:gerrit",
    "publish:gitea",
    "github:actions:dispatch",
    "github:environment:create",
    "github:repo:create",
    "github:repo:push",
    "github:webhook",
    "github:deployKey:create",
    "github:autolinks:create",
    "github:pages:enable",
    "gitlab:group:ensureExists",
    "gitlab:projectAccessToken:create",
    "gitlab:projectDeployToken:create",
    "gitlab:projectVariable:create",
    "gitlab:repo:push",
    "gitlab:issues:create",
    "gitlab:pipeline:trigger",
    "confluence:transform:markdown",
)
# govgate's own action (integrations/backstage) and the HTTP request action of Roadie's module, the
# two default `prepublish_actions`.
PREPUBLISH_ACTIONS = ("govgate:check", "http:backstage:request")
# Component types that run, and so can page someone (CATALOG-ONCALL).
ONCALL_TYPES = ("service", "website")

DEFAULT_DATA: dict[str, Any] = {
    "denied_licenses": ["AGPL-3.0-only", "AGPL-3.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "SSPL-1.0"],
    "allowed_actions": [*BUILTIN_SCAFFOLDER_ACTIONS, *MODULE_SCAFFOLDER_ACTIONS, *PREPUBLISH_ACTIONS],
    "prepublish_actions": list(PREPUBLISH_ACTIONS),
    "denied_packages": [],
    "allowed_builders": [],
    "lifecycles": ["experimental", "production", "deprecated"],
    "oncall_types": list(ONCALL_TYPES),
}

DEFAULT_MAX_WAIVER_DAYS = 90
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class GateConfig:
    """A validated configuration. `source` is the file it came from, or None for built-in defaults."""

    source: Path | None
    environment: str
    environments: dict[str, dict[str, str]]
    require: tuple[str, ...]
    engine: str
    policies: tuple[Path, ...]
    checks: dict[str, Any]
    data: dict[str, Any]
    trust_root: str
    identities: tuple[Identity, ...]
    waivers: Path | None
    max_waiver_days: int
    max_file_bytes: int
    audit: dict[str, Any] = field(default_factory=dict)
    eval_timeout_seconds: float = DEFAULT_EVAL_TIMEOUT_SECONDS
    eval_memory_mb: int = DEFAULT_EVAL_MEMORY_MB
    # Public keys (PEM files) that key-signed bundles and DSSE envelopes are verified with.
    keys: tuple[Path, ...] = ()
    # `sha256:<hex>` of the file's bytes as read, or "" for the built-in defaults.
    digest: str = ""
    # A check that finds no input is decided as any other, even where the environment blocks.
    allow_empty: bool = False
    # Gitignore-style patterns a folder walk leaves out (relative to each walked folder).
    exclude: tuple[str, ...] = ()

    def blocks(self, environment: str) -> bool:
        """Whether any finding can block in the environment (its tiers or a per-check override)."""
        if "block" in self.environments.get(environment, {"": "block"}).values():
            return True
        for override in self.checks.values():
            action = override.get(environment) if isinstance(override, dict) else override
            if action == "block":
                return True
        return False

    def policy_data(self) -> dict[str, Any]:
        """The document the policies read under `data.gate.config`, with `denied_licenses` and
        `denied_packages` normalised as the collectors normalise components (SPDX list, purl spec)."""
        from gate.collect.licenses import denied_licenses
        from gate.collect.purls import denied_packages

        out = dict(self.data)
        out["denied_licenses"] = denied_licenses(out.get("denied_licenses") or [])
        out["denied_packages"] = denied_packages(out.get("denied_packages") or [])
        out["environments"] = self.environments
        out["checks"] = self.checks
        out["identities"] = [{"issuer": i.issuer, "san_regex": i.san_regex} for i in self.identities]
        out["keys"] = [str(k) for k in self.keys]
        return out

    def collect_settings(self, artifacts: tuple[Path, ...] = ()) -> CollectSettings:
        """Settings for the collectors."""
        base = self.source.parent if self.source else Path.cwd()
        return CollectSettings(
            trust_root=self.trust_root,
            identities=self.identities,
            keys=self.keys,
            artifacts=artifacts,
            max_bytes=self.max_file_bytes,
            base_dir=base,
        )


def _schema_check(raw: Any, where: str) -> None:
    from gate import schemas

    error = schemas.shipped("config.schema.json").first_error(raw)
    if error is not None:
        raise ConfigError(
            f"invalid config at {error.where}: {error.problem}",
            "see docs/configuration.md for the accepted keys",
            path=where,
        )


def load_config(path: Path | None, *, explicit: bool) -> GateConfig:
    """Load `path` (or built-in defaults when it is None), validating every key.

    `explicit` is true when the user named the file; then a missing file is an error.
    """
    if path is None or (not explicit and not path.exists()):
        return from_mapping({}, None)
    if not path.is_file():
        raise ConfigError(
            "config file not found", "check --config, or remove it to use defaults", path=str(path)
        )
    import hashlib

    import yaml

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", "check --config", path=str(path)) from None
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config is not valid YAML: {exc}".splitlines()[0], "fix the syntax", path=str(path)
        ) from None
    except RecursionError:
        raise ConfigError("config is nested too deeply", "fix the config", path=str(path)) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ConfigError(
            f"config holds a value that cannot be read: {exc}", "fix it", path=str(path)
        ) from None
    if raw is None:
        raw = {}
    config = from_mapping(raw, path)
    return replace(config, digest="sha256:" + hashlib.sha256(data).hexdigest())


def from_mapping(raw: Any, source: Path | None) -> GateConfig:
    """Build a GateConfig from a parsed YAML mapping, applying defaults."""
    where = str(source) if source else "built-in config"
    if isinstance(raw, dict) and isinstance(raw.get("checks"), dict):
        # Unquoted `off` is a YAML 1.1 boolean; read it as the action it was meant to be.
        raw = dict(raw)
        raw["checks"] = {
            k: (
                "off"
                if v is False
                else {e: ("off" if a is False else a) for e, a in v.items()}
                if isinstance(v, dict)
                else v
            )
            for k, v in raw["checks"].items()
        }
    _schema_check(raw, where)
    base = source.parent if source else Path.cwd()
    environments = {k: dict(v) for k, v in DEFAULT_TIERS.items()}
    for env, tiers in (raw.get("environments") or {}).items():
        merged = dict(environments.get(env, DEFAULT_TIERS["prod"]))
        merged.update(tiers or {})
        environments[env] = merged
    environment = str(raw.get("environment", "dev"))
    data = dict(DEFAULT_DATA)
    data.update(raw.get("data") or {})
    sig = raw.get("signatures") or {}
    identities = tuple(Identity(i["issuer"], i["san_regex"]) for i in sig.get("identities") or [])
    for ident in identities:
        _check_regex(ident.san_regex, where)
    trust_root = str(sig.get("trust_root", "production"))
    if trust_root not in TRUST_ROOTS:
        trust_root = str((base / trust_root).resolve())
    keys = tuple((base / k).resolve() for k in sig.get("keys") or [])
    waivers = raw.get("waivers")
    limits = raw.get("limits") or {}
    _check_levels((raw.get("audit") or {}).get("verified_levels") or {}, environments, where)
    return GateConfig(
        source=source,
        environment=environment,
        environments=environments,
        require=tuple(raw.get("require") or ()),
        engine=str(raw.get("engine", "embedded")),
        policies=tuple((base / p) for p in raw.get("policies") or ()),
        checks=dict(raw.get("checks") or {}),
        data=data,
        trust_root=trust_root,
        identities=identities,
        waivers=(base / waivers) if waivers else None,
        max_waiver_days=int(limits.get("max_waiver_days", DEFAULT_MAX_WAIVER_DAYS)),
        max_file_bytes=int(limits.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES)),
        audit=_audit_paths(dict(raw.get("audit") or {}), base),
        eval_timeout_seconds=float(limits.get("eval_timeout_seconds", DEFAULT_EVAL_TIMEOUT_SECONDS)),
        eval_memory_mb=int(limits.get("eval_memory_mb", DEFAULT_EVAL_MEMORY_MB)),
        keys=keys,
        allow_empty=bool(raw.get("allow_empty", False)),
        exclude=tuple(raw.get("exclude") or ()),
    )


def _audit_paths(audit: dict[str, Any], base: Path) -> dict[str, Any]:
    """The audit section with its paths relative to the config file's folder."""
    for key in ("log", "key", "log_key", "log_pub"):
        value = audit.get(key)
        if isinstance(value, str) and not (key == "log" and value.startswith(("https://", "http://"))):
            audit[key] = base / value
    return audit


def _check_levels(levels: dict[str, Any], environments: dict[str, Any], where: str) -> None:
    """Refuse `audit.verified_levels` for an environment the config does not know (a typo would
    leave that environment's records asserting the default levels)."""
    for env in levels:
        if env not in environments:
            raise ConfigError(
                f"audit.verified_levels names the environment {env!r}, which is not configured",
                f"use one of {', '.join(sorted(environments))}, or add it under `environments`",
                path=where,
            )


def _check_regex(pattern: str, where: str) -> None:
    import re

    if "(?i)" in pattern:
        raise ConfigError(
            f"identity regex {pattern!r} uses (?i), which the embedded engine does not support",
            "spell out both cases, e.g. [Aa]cme",
            path=where,
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"identity regex {pattern!r} is invalid: {exc}", "fix the pattern", path=where
        ) from None


def resolve_environment(cli_env: str | None, env_var: str | None, config: GateConfig) -> str:
    """Pick the environment: --env, then GATE_ENV, then the config, then dev; refuse unknown names."""
    env = cli_env or env_var or config.environment or "dev"
    if env not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise ConfigError(
            f"unknown environment {env!r}",
            f"use one of: {known} (or add it under `environments:` in gate.yaml)",
        )
    return env
