"""The decision: findings with their actions, the outcome, and what it was computed from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gate.errors import EngineError, ExitCode


class Outcome(StrEnum):
    """The overall result of a check."""

    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"
    ERROR = "error"


class Action(StrEnum):
    """What a finding does in the chosen environment."""

    BLOCK = "block"
    WARN = "warn"
    WAIVED = "waived"


ACTION_ORDER = {Action.BLOCK: 0, Action.WARN: 1, Action.WAIVED: 2}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Subject:
    """What a finding is about: input kind, file path, a specific ref inside it, and a line."""

    kind: str
    path: str | None
    ref: str | None
    line: int | None

    def location(self) -> str:
        """`path:line`, or whatever of it is known."""
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or "(input)"


@dataclass(frozen=True)
class Finding:
    """One violation of one check, with the action the environment gives it."""

    check: str
    title: str
    severity: str
    action: Action
    message: str
    subject: Subject
    remediation: str
    waiver: dict[str, Any] | None

    def sort_key(self) -> tuple[Any, ...]:
        """Most severe first, then by check, place and message; then by every other field, so
        that two findings with equal keys are equal (the order never depends on an engine's)."""
        return (
            ACTION_ORDER[self.action],
            SEVERITY_ORDER.get(self.severity, 9),
            self.check,
            self.subject.path or "",
            self.subject.line or 0,
            self.subject.ref or "",
            self.message,
            self.severity,
            self.subject.kind,
            self.subject.path is None,
            self.subject.ref is None,
            self.title,
            self.remediation,
            "" if self.waiver is None else json.dumps(self.waiver, sort_keys=True, ensure_ascii=False),
        )

    def to_json(self) -> dict[str, Any]:
        """The finding as in the decision JSON."""
        return {
            "check": self.check,
            "title": self.title,
            "severity": self.severity,
            "action": self.action.value,
            "message": self.message,
            "subject": {
                "kind": self.subject.kind,
                "path": self.subject.path,
                "ref": self.subject.ref,
                "line": self.subject.line,
            },
            "remediation": self.remediation,
            "waiver": self.waiver,
        }


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one change in one environment."""

    outcome: Outcome
    environment: str
    findings: tuple[Finding, ...]
    engine: dict[str, Any]
    policy_digest: str
    input_digest: str
    audit: dict[str, Any] | None = None
    error: str | None = None
    inputs: dict[str, int] = field(default_factory=dict)
    # Where the config, policies and waivers came from (gate.trust.Source.to_json).
    sources: tuple[dict[str, Any], ...] = ()
    document: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # The document's canonical bytes (gate.input.canonical_bytes), when they were made.
    document_json: bytes | None = field(default=None, compare=False, repr=False)
    # The form the document is stored in beside the record (audit.stored_input_bytes), when it
    # was made while the engine evaluated.
    stored_json: bytes | None = field(default=None, compare=False, repr=False)

    def summary(self) -> dict[str, int]:
        """Counts of findings by action."""
        counts = {a.value: 0 for a in Action}
        for f in self.findings:
            counts[f.action.value] += 1
        return counts

    def exit_code(self, warn_exit_code: int = 0) -> int:
        """0 pass or warn (or `warn_exit_code` for warn), 1 block, 3 error."""
        if self.outcome is Outcome.BLOCK:
            return ExitCode.BLOCKED
        if self.outcome is Outcome.ERROR:
            return ExitCode.ENGINE
        if self.outcome is Outcome.WARN:
            return warn_exit_code
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """The decision JSON (`--format json`)."""
        out: dict[str, Any] = {
            "outcome": self.outcome.value,
            "environment": self.environment,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary(),
            "inputs": self.inputs,
            "engine": self.engine,
            "policy": {"digest": self.policy_digest},
            "input": {"digest": self.input_digest},
            "audit": self.audit,
        }
        if self.sources:
            out["sources"] = list(self.sources)
        if self.error is not None:
            out["error"] = self.error
        return out


def _subject(raw: Any) -> Subject:
    if not isinstance(raw, dict):
        return Subject("input", None, None, None)
    line = raw.get("line")
    return Subject(
        kind=str(raw.get("kind") or "input"),
        path=raw.get("path") if isinstance(raw.get("path"), str) else None,
        ref=str(raw["ref"]) if raw.get("ref") is not None else None,
        line=line if isinstance(line, int) and line > 0 else None,
    )


def outcome_of(findings: tuple[Finding, ...]) -> Outcome:
    """The outcome the findings' actions make: block if any blocks, else warn if any warns, else pass."""
    actions = {f.action for f in findings}
    if Action.BLOCK in actions:
        return Outcome.BLOCK
    if Action.WARN in actions:
        return Outcome.WARN
    return Outcome.PASS


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The findings in the decision's order (Finding.sort_key), each once.

    The one place findings are ordered: the policies hand them over as a set (OPA, its Wasm build
    and regopy each iterate sets in an order of their own), and an engine may give one finding
    twice (regopy's adapter gathers lists, gate.engine.regopy_adapter). Exact duplicates are
    dropped; equal keys mean equal findings.
    """
    out: list[Finding] = []
    last: tuple[Any, ...] | None = None
    for finding, key in sorted(((f, f.sort_key()) for f in findings), key=lambda pair: pair[1]):
        if key != last:
            out.append(finding)
            last = key
    return tuple(out)


def from_policy_result(
    raw: dict[str, Any],
    *,
    environment: str,
    engine: dict[str, Any],
    policy_digest: str,
    input_digest: str,
    inputs: dict[str, int],
) -> Decision:
    """Check and type the object `data.gate.main.decision` returned; a malformed one is an EngineError."""
    try:
        findings = ordered(
            Finding(
                check=str(f["check"]),
                title=str(f.get("title") or f["check"]),
                severity=str(f["severity"]),
                action=Action(f["action"]),
                message=str(f["message"]),
                subject=_subject(f.get("subject")),
                remediation=str(f.get("remediation") or ""),
                waiver=f.get("waiver"),
            )
            for f in raw.get("findings", [])
        )
        outcome = Outcome(raw["outcome"])
    except (KeyError, ValueError, TypeError) as exc:
        raise EngineError(f"the policy decision is malformed ({exc})", "check package gate.main") from None
    expected = outcome_of(findings)
    if outcome is not expected:
        # The outcome is the findings' to decide, whatever an engine (or a server) answered.
        raise EngineError(
            f"the policy decision says {outcome.value} but its findings' actions make it {expected.value}",
            "check package gate.main, or the OPA server's policies",
        )
    return Decision(outcome, environment, findings, engine, policy_digest, input_digest, inputs=inputs)


def error_decision(
    environment: str, message: str, engine: dict[str, Any], policy_digest: str, input_digest: str
) -> Decision:
    """The decision recorded when the gate could not decide: outcome error (exit 3)."""
    return Decision(Outcome.ERROR, environment, (), engine, policy_digest, input_digest, error=message)
