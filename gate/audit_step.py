"""The audit step of `gate check`: a signed record for every decision, through the audit package.

Fail closed: where the environment blocks, a record that cannot be written turns the decision into
an error (exit 3); elsewhere the decision stands and a warning says the record is missing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate import __version__
from gate.config import SIGNERS, GateConfig
from gate.decision import Decision, Outcome
from gate.errors import ConfigError

if TYPE_CHECKING:
    from audit import AuditSettings


@dataclass(frozen=True)
class AuditOptions:
    """The audit options of `gate check` (None: from the environment variables or the config)."""

    log: Path | None = None
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


def settings_for(opts: AuditOptions, config: GateConfig, env: Mapping[str, str]) -> AuditSettings:
    """The audit package's settings from options, environment variables and the config."""
    from audit import DEFAULT_LOG, AuditSettings

    conf = config.audit
    signer = opts.signer or env.get("GATE_SIGNER") or conf.get("signer") or "local"
    if signer not in SIGNERS:
        raise ConfigError(f"unknown signer {signer!r}", f"use one of {', '.join(SIGNERS)}")
    log = opts.log or (Path(env["GATE_AUDIT_LOG"]) if env.get("GATE_AUDIT_LOG") else None)
    return AuditSettings(
        log=log or conf.get("log") or DEFAULT_LOG,
        signer=signer,
        key_file=opts.signing_key or conf.get("key"),
        key_pem=None if opts.signing_key else env.get("GATE_SIGNING_KEY") or None,
        log_key_file=conf.get("log_key"),
        log_key_text=env.get("GATE_LOG_KEY") or None,
    )


def subjects_of(document: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """(path, sha256) of every input file the document holds, once each, sorted."""
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
    return tuple(sorted(found.items()))


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
