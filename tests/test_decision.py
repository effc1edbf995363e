"""gate.decision orders the policies' findings and drops exact duplicates, the same on every engine.

The policies hand the findings over as a set, so every order a user sees comes from here: blocks,
then warnings, then waived; by severity, check, file, line (as a number), ref and message (by
code point); then by the remaining fields.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gate.decision import from_policy_result, ordered
from gate.errors import EngineError


def raw_finding(
    check: str = "SBOM-LICENSE-MISSING",
    *,
    action: str = "warn",
    severity: str = "low",
    message: str = "m",
    path: str | None = "sbom.cdx.json",
    line: int | None = None,
    ref: str | None = None,
    kind: str = "sbom",
    title: str = "t",
    waiver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A finding as data.gate.main.decision gives it."""
    return {
        "check": check,
        "title": title,
        "severity": severity,
        "action": action,
        "message": message,
        "subject": {"kind": kind, "path": path, "ref": ref, "line": line},
        "remediation": "r",
        "waiver": waiver,
    }


def decide(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings of the decision the gate makes of a policy result holding `findings`."""
    actions = {f["action"] for f in findings}
    outcome = "block" if "block" in actions else "warn" if "warn" in actions else "pass"
    raw = {"outcome": outcome, "findings": findings}
    decision = from_policy_result(
        raw, environment="prod", engine={}, policy_digest="", input_digest="", inputs={}
    )
    return [f.to_json() for f in decision.findings]


def test_blocks_come_first_then_by_severity() -> None:
    given = [
        raw_finding("LOW", severity="low", action="warn"),
        raw_finding("MEDIUM", severity="medium", action="warn"),
        raw_finding("HIGH", severity="high", action="warn"),
        raw_finding("CRITICAL", severity="critical", action="block"),
        raw_finding("WAIVED", severity="critical", action="waived", waiver={"id": "W-1"}),
    ]
    assert [f["check"] for f in decide(given)] == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "WAIVED"]


def test_lines_are_ordered_as_numbers() -> None:
    given = [raw_finding(line=100), raw_finding(line=9), raw_finding(line=10), raw_finding(line=None)]
    assert [f["subject"]["line"] for f in decide(given)] == [None, 9, 10, 100]


def test_strings_are_ordered_by_code_point() -> None:
    """The order regopy would get wrong ("a b" before "a"): the gate's does not depend on it."""
    given = [raw_finding(message=m) for m in ("a b", "a", "a!", "B", "é")]
    assert [f["message"] for f in decide(given)] == ["B", "a", "a b", "a!", "é"]


def test_every_order_of_the_same_findings_gives_one_order() -> None:
    """Findings equal up to kind or title (ties of check, place and message) too."""
    given = [
        raw_finding(kind="sbom"),
        raw_finding(kind="input"),
        raw_finding(kind="input", title="other"),
        raw_finding(path=None, ref="x"),
        raw_finding(path=None, ref=None),
    ]
    orders = {repr(decide(list(p))) for p in itertools.permutations(given)}
    assert len(orders) == 1


def test_exact_duplicates_are_dropped() -> None:
    one = raw_finding("SBOM-LICENSE-DENIED", action="block", severity="critical", ref="pkg:npm/a@1")
    other = raw_finding("SBOM-VULN-HIGH", action="block", severity="high", ref="CVE-1")
    assert decide([one, other, dict(one)]) == decide([one, other])
    assert len(decide([one, other, dict(one)])) == 2


def test_findings_that_differ_in_any_field_are_kept() -> None:
    base = raw_finding()
    variants = [
        base,
        {**base, "remediation": "other"},
        {**base, "title": "other"},
        {**base, "waiver": {"id": "W-1"}, "action": "waived"},
    ]
    assert len(decide(variants)) == 4


def test_ordered_keeps_one_of_equal_findings() -> None:
    decision = from_policy_result(
        {"outcome": "warn", "findings": [raw_finding(), raw_finding()]},
        environment="prod",
        engine={},
        policy_digest="",
        input_digest="",
        inputs={},
    )
    assert ordered(decision.findings * 3) == decision.findings
    assert decision.summary() == {"block": 0, "warn": 1, "waived": 0}


def test_an_outcome_the_findings_do_not_make_is_refused() -> None:
    with pytest.raises(EngineError, match="says pass"):
        from_policy_result(
            {"outcome": "pass", "findings": [raw_finding(action="block")]},
            environment="prod",
            engine={},
            policy_digest="",
            input_digest="",
            inputs={},
        )
