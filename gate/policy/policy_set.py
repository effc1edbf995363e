"""The policy set: the shipped Rego library, user policy folders, conftest adapters and data."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from gate.errors import ConfigError
from gate.resources import shipped

PACKAGE_RE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
CONFTEST_RULE_RE = re.compile(r"^(deny|warn|violation)\b", re.MULTILINE)
CONFTEST_SEVERITY = {"deny": "high", "violation": "high", "warn": "low"}


@dataclass(frozen=True)
class PolicySet:
    """Rego modules by name (path-like, stable across machines) and the data document they read."""

    modules: dict[str, str]
    data: dict[str, Any]
    tests: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """`sha256:<hex>` over every module's name and source and the data document."""
        h = _modules_hash(self.modules)
        h.update(json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode())
        return "sha256:" + h.hexdigest()


def _modules_hash(modules: Mapping[str, str]) -> hashlib._Hash:
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + hashlib.sha256(modules[name].encode()).digest())
    return h


def modules_digest(modules: Mapping[str, str]) -> str:
    """`sha256:<hex>` over the modules' names and sources (not the data)."""
    return "sha256:" + _modules_hash(modules).hexdigest()


def _walk_traversable(root: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in root.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            out.extend(_walk_traversable(child, name + "/"))
        elif child.name.endswith(".rego"):
            out.append((name, child))
    return out


def shipped_modules() -> tuple[dict[str, str], dict[str, str]]:
    """The shipped library's modules and its Rego unit tests, by name `gate/<relative path>`."""
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for name, item in _walk_traversable(shipped("policies"), "lib/"):
        (tests if name.endswith("_test.rego") else modules)[name] = item.read_text(encoding="utf-8")
    return modules, tests


def require_policy_folder(directory: Path) -> None:
    """Refuse (ConfigError) a user policy folder (or .rego file) that does not exist."""
    if not directory.exists():
        raise ConfigError(
            "policy folder not found", "check --policy or `policies:` in gate.yaml", path=str(directory)
        )


def user_modules(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Modules and tests from a user policy folder (or single .rego file)."""
    require_policy_folder(directory)
    files = policy_files(directory)
    if not files:
        raise ConfigError(
            "policy folder holds no .rego files",
            "point --policy at a folder of Rego modules",
            path=str(directory),
        )
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read policy: {exc}", "save Rego files as UTF-8", path=str(f)) from None
        (tests if f.name.endswith("_test.rego") else modules)[user_module_name(f)] = text
    return modules, tests


def policy_files(directory: Path) -> list[Path]:
    """The .rego files of a user policy folder (or the file itself), in a stable order."""
    return [directory] if directory.is_file() else sorted(directory.rglob("*.rego"))


def user_module_name(path: Path) -> str:
    """The module name of a user policy file: `user/<the path as given, without a leading />`."""
    return f"user/{path.as_posix().lstrip('/')}"


def conftest_adapter(namespace: str, rules: list[str]) -> str:
    """A generated module exposing conftest-style deny/warn/violation rules as gate checks."""
    ident = re.sub(r"[^a-z0-9]+", "_", namespace.lower()).strip("_") or "main"
    check = "CONFTEST-" + re.sub(r"[^A-Z0-9]+", "-", namespace.upper()).strip("-")
    lines = [
        f"package gate.checks.conftest.{ident}",
        "",
        f"import data.{namespace} as src",
        "",
        f'meta := {{"id": "{check}", "title": "conftest rules in package {namespace}", "severity": "high",',
        f'         "remediation": "see the rule in package {namespace} that produced this message"}}',
        "",
        "_msg(m) := m if {",
        "\tis_string(m)",
        '} else := object.get(m, "msg", sprintf("%v", [m])) if {',
        "\tis_object(m)",
        '} else := sprintf("%v", [m])',
        "",
    ]
    for rule in rules:
        sev = CONFTEST_SEVERITY[rule]
        lines += [
            "violation contains v if {",
            f"\tsome m in src.{rule}",
            f'\tv := {{"msg": _msg(m), "severity": "{sev}", "check": "{check}-{rule.upper()}",',
            f'\t\t"subject": {{"kind": "input", "path": null, "ref": "{namespace}", "line": null}}}}',
            "}",
            "",
        ]
    return "\n".join(lines)


def _adapters(modules: dict[str, str]) -> dict[str, str]:
    by_namespace: dict[str, set[str]] = {}
    for source in modules.values():
        m = PACKAGE_RE.search(source)
        if m is None or m.group(1).startswith("gate."):
            continue
        rules = set(CONFTEST_RULE_RE.findall(source))
        if rules:
            by_namespace.setdefault(m.group(1), set()).update(rules)
    return {
        f"generated/conftest/{ns}.rego": conftest_adapter(ns, sorted(rules))
        for ns, rules in sorted(by_namespace.items())
    }


def load_data_file(path: Path) -> dict[str, Any]:
    """A `--data` file (JSON or YAML mapping), merged into the data document."""
    import yaml

    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("data file not found", "check --data", path=str(path)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"data file is not valid JSON/YAML: {str(exc).splitlines()[0]}", "fix the syntax", path=str(path)
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert; nesting too deep
        raise ConfigError(f"data file cannot be read: {exc}", "fix the file", path=str(path)) from None
    if not isinstance(value, dict):
        raise ConfigError(
            "data file must hold a mapping at the top", "wrap the values in an object", path=str(path)
        )
    return value


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def build_policy_set(
    policy_dirs: list[Path],
    config_data: dict[str, Any],
    waivers: list[dict[str, Any]],
    data_files: tuple[Path, ...] = (),
) -> PolicySet:
    """Everything the engine loads: shipped + user modules, generated adapters, and `data`."""
    modules, tests = shipped_modules()
    for d in policy_dirs:
        mods, tst = user_modules(d)
        modules.update(mods)
        tests.update(tst)
    modules.update(_adapters(modules))
    data: dict[str, Any] = {}
    for f in data_files:
        _merge(data, load_data_file(f))
    _merge(data, {"gate": {"config": config_data, "waivers": waivers}})
    return PolicySet(modules=modules, data=data, tests=tests)
