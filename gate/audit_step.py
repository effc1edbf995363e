"""The audit step of `gate check`: a signed record for every decision, through the audit package.

Fail closed: where the environment blocks, a record that cannot be written turns the decision into
an error (exit 3); elsewhere the decision stands and a warning says the record is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate import __version__
from gate.config import SIGNERS, GateConfig
from gate.decision import Decision, Outcome
from gate.errors import ConfigError

if TYPE_CHECKING:
    from audit import AuditSettings


def is_log_url(value: str) -> bool:
    """Whether a log location names a central log (`gate audit serve`) rather than a folder."""
    return value.startswith(("https://", "http://"))


@dataclass(frozen=True)
class AuditOptions:
    """The audit options of `gate check` (None: from the environment variables or the config);
    the log is a folder, or the URL (a str) of a central log."""

    log: Path | str | None = None
    disabled: bool = False
    signer: str | None = None
    signing_key: Path | None = None


@dataclass(frozen=True)
class AuditResult:
    """The decision with its `audit` field, and notices for the user."""

    decision: Decision
    notices: tuple[str, ...] = ()


def check_disable(opts: AuditOptions, config: GateConfig, environment: str) -> None:
    """Refuse --no-audit where the environment blocks, unless the config allows it."""
    if opts.disabled and config.blocks(environment) and not config.audit.get("allow_no_audit"):
        raise ConfigError(
            f"--no-audit is refused in {environment!r}, an environment that blocks",
            "drop --no-audit, or set `audit: {allow_no_audit: true}` in gate.yaml",
        )


def check_keys(
    opts: AuditOptions, config: GateConfig, env: Mapping[str, str], untrusted: Sequence[Path]
) -> None:
    """Refuse a private key (the record signer's or the log's) that lies in `untrusted`, the
    checked paths and their checkout (gate.trust.untrusted_roots): the change under review could
    have swapped it for one it holds, and records signed with it would prove nothing. Keys the
    gate made in `.gate/keys` of the working directory are named, with where they go now."""
    if opts.disabled:
        return
    from audit import LEGACY_KEY_DIR, key_files
    from gate.trust import lies_in

    settings = settings_for(opts, config, env)
    for what, path in key_files(settings, env):
        if lies_in(path, untrusted):
            where = (
                "point XDG_DATA_HOME (or HOME) outside the checkout"
                if path.parent == settings.key_dir
                else f"keep the key files outside it (the default folder is {settings.key_dir})"
            )
            raise ConfigError(
                f"the {what} lies inside the checked paths, where the change under review could swap it",
                f"give the keys as GATE_SIGNING_KEY and GATE_LOG_KEY (CI secrets), or {where}",
                path=str(path),
            )
        legacy = LEGACY_KEY_DIR / path.name
        made_here = settings.key_dir is not None and path.parent == settings.key_dir
        if made_here and not path.exists() and legacy.is_file():
            raise ConfigError(
                f"the {what} lies in the working tree, where the gate no longer reads keys",
                f"move the keys out, to keep signing the log they made: mkdir -p {path.parent}"
                f" && mv {LEGACY_KEY_DIR}/* {path.parent}/",
                path=str(legacy),
            )


def settings_for(opts: AuditOptions, config: GateConfig, env: Mapping[str, str]) -> AuditSettings:
    """The audit package's settings from options, environment variables and the config."""
    from audit import DEFAULT_LOG, AuditSettings, default_key_dir

    conf = config.audit
    signer = opts.signer or env.get("GATE_SIGNER") or conf.get("signer") or "local"
    if signer not in SIGNERS:
        raise ConfigError(f"unknown signer {signer!r}", f"use one of {', '.join(SIGNERS)}")
    where = opts.log or env.get("GATE_AUDIT_LOG") or conf.get("log") or DEFAULT_LOG
    url = str(where) if isinstance(where, str) and is_log_url(where) else None
    log_pub = env.get("GATE_AUDIT_LOG_PUB") or (str(conf["log_pub"]) if conf.get("log_pub") else None)
    return AuditSettings(
        log=Path(where) if url is None else DEFAULT_LOG,
        log_url=url,
        log_token=env.get("GATE_AUDIT_TOKEN") or None,
        log_pub=log_pub,
        signer=signer,
        key_file=opts.signing_key or conf.get("key"),
        key_pem=None if opts.signing_key else env.get("GATE_SIGNING_KEY") or None,
        log_key_file=conf.get("log_key"),
        log_key_text=env.get("GATE_LOG_KEY") or None,
        key_dir=default_key_dir(env),
    )


# The section of a refusal's document that names the file the gate refused (see refused_file).
REFUSED = "refused"


def checkout_root(cwd: Path | None = None) -> Path:
    """The folder subjects are named relative to: the git working tree holding the working
    directory, else the working directory itself (resolved)."""
    here = (cwd or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / ".git").exists()), here)


def subject_name(path: str, root: Path, cwd: Path) -> str:
    """The name a record gives an input file: its path relative to `root` (the checkout), POSIX
    style, so the same file has the same name on every runner and from every folder the gate
    runs in; never a runner's absolute path. A file outside the checkout (an SBOM made in the
    job's temporary folder) is named by its file name alone. Names that are not paths of this
    machine (`stdin`) stay as they are."""
    if os.sep not in path and "/" not in path and not (cwd / path).exists():
        return path
    full = Path(os.path.normpath(cwd / path))
    for candidate in (full, _resolved(full)):
        if candidate is not None and candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix()
    return full.name


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop: not in the checkout as far as names go
        return None


def subjects_of(
    document: dict[str, Any] | None, root: Path | None = None, cwd: Path | None = None
) -> tuple[tuple[str, str], ...]:
    """(name, sha256) of every input file the document holds, once each, sorted; names relative
    to the checkout (subject_name, `root` from checkout_root by default)."""
    here = (cwd or Path.cwd()).resolve()
    top = root or checkout_root(here)
    found: dict[str, str] = {}
    for section in (document or {}).values():
        if not isinstance(section, list):
            continue
        for item in section:
            if (
                isinstance(item, dict)
                and isinstance(item.get("path"), str)
                and isinstance(item.get("sha256"), str)
            ):
                found.setdefault(item["path"], item["sha256"])
    named: dict[str, str] = {}
    for path, sha in found.items():
        named.setdefault(subject_name(path, top, here), sha)
    return tuple(sorted(named.items()))


def refused_file(decision: Decision, path: str | None, max_bytes: int) -> Decision:
    """A refusal's decision with the file the gate refused (`path`, as its message names it) in
    its document, read again as inputs are (bounded, never blocking), so that the refusal's
    record has the file's real sha256 as its subject. A path that names no readable regular file
    (nothing to check, a missing file, standard input) adds nothing."""
    from gate.collect.base import CollectError
    from gate.collect.read import read_bytes

    if not path:
        return decision
    try:
        data = read_bytes(Path(path), max_bytes, path)
    except CollectError:
        return decision
    item = {"path": path, "sha256": hashlib.sha256(data).hexdigest()}
    return dataclasses.replace(decision, document={**(decision.document or {}), REFUSED: [item]})


def resource_uri(document: dict[str, Any] | None, environment: str) -> str | None:
    """The record's resourceUri (audit.record.service_uri): the service is the context's
    (`--service`, GATE_SERVICE), else the name of the one Backstage Component the inputs hold;
    None (the record names the repository, or the input digest) when neither names one."""
    from audit import service_uri

    doc = document or {}
    context = doc.get("context")
    service = context.get("service") if isinstance(context, dict) else None
    if not isinstance(service, str) or not service:
        names = {
            str(entity["metadata"]["name"])
            for item in doc.get("catalog") or []
            if isinstance(item, dict)
            and isinstance(entity := item.get("entity"), dict)
            and entity.get("kind") == "Component"
            and isinstance(entity.get("metadata"), dict)
            and isinstance(entity["metadata"].get("name"), str)
        }
        service = names.pop() if len(names) == 1 else None
    return service_uri(service, environment) if service else None


def stored_form(document: dict[str, Any], text: bytes) -> bytes:
    """The form the input document is stored in beside its record (audit.stored_input_bytes:
    secrets masked). Made by `gate check` while the engine evaluates (gate.pipeline.decide's
    `beside`), with what writing a record imports (the audit writer, its signing and log
    modules, cryptography: about 0.07 s), rather than after the evaluation."""
    from audit import stored_input_bytes

    return stored_input_bytes(document, text)


def record(
    decision: Decision,
    opts: AuditOptions,
    config: GateConfig,
    env: Mapping[str, str],
    store_input: bool = True,
) -> AuditResult:
    """Write the decision's record; on failure fail closed where the environment blocks.

    The input document is stored beside the record (for replays) unless store_input is false.
    """
    if opts.disabled:
        return AuditResult(decision, ("audit record not written (--no-audit)",))
    from audit import AuditError, DecisionFacts, write_record

    notices: list[str] = []
    document = decision.document
    context = dict((document or {}).get("context") or {})
    stamp = context.get("time_ns")
    time_ns = stamp if isinstance(stamp, int) else time.time_ns()
    facts = DecisionFacts(
        decision=decision.to_json(),
        context=context,
        subjects=subjects_of(document),
        time_ns=time_ns,
        gate_version=__version__,
        resource_uri=resource_uri(document, decision.environment),
        verified_levels=tuple(config.audit.get("verified_levels", {}).get(decision.environment, ())),
    )
    try:
        settings = settings_for(opts, config, env)
        field = write_record(
            settings,
            facts,
            document if store_input else None,
            env,
            notices,
            document_json=decision.document_json if store_input else None,
            stored_input=decision.stored_json if store_input else None,
        )
    except AuditError as exc:
        message = f"audit record not written: {exc}" + (f". {exc.remediation}" if exc.remediation else "")
        if config.blocks(decision.environment):
            failed = dataclasses.replace(decision, outcome=Outcome.ERROR, error=message)
            return AuditResult(failed, tuple(notices))
        return AuditResult(decision, (*notices, f"warning: {message}"))
    return AuditResult(dataclasses.replace(decision, audit=field), tuple(notices))
