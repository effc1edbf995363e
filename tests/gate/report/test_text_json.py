"""Text and JSON reports rendered from a decision built in the test."""

from __future__ import annotations

import json

from gate.decision import Action, Decision, Finding, Outcome, Subject
from gate.report.json import JsonReporter
from gate.report.text import TextReporter


def _finding(check: str, action: Action, severity: str = "high", **kw: object) -> Finding:
    base: dict[str, object] = {
        "check": check,
        "title": check.title(),
        "severity": severity,
        "action": action,
        "message": f"{check} happened",
        "subject": Subject("sbom", "sbom.cdx.json", "pkg:npm/x@1", 12),
        "remediation": "do the fix",
        "waiver": None,
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def _decision() -> Decision:
    findings = (
        _finding("SBOM-VULN-HIGH", Action.BLOCK),
        _finding("SBOM-PURL-MISSING", Action.WARN, "low"),
        _finding(
            "CATALOG-OWNER-GROUP",
            Action.WAIVED,
            "medium",
            waiver={"id": "W-1", "owner": "team", "reason": "re-org", "expires": "2027-01-31"},
        ),
    )
    return Decision(
        Outcome.BLOCK,
        "prod",
        tuple(sorted(findings, key=Finding.sort_key)),
        {"name": "embedded", "version": "regopy 1.5.2"},
        "sha256:" + "a" * 64,
        "sha256:" + "b" * 64,
        inputs={"sboms": 1, "catalog": 0},
    )


def test_text_groups_by_action_with_location_and_fix() -> None:
    text = TextReporter().render(_decision(), color=False)
    blocking = text.index("BLOCKING (1)")
    warnings = text.index("WARNINGS (1)")
    waived = text.index("WAIVED (1)")
    assert blocking < warnings < waived
    assert "SBOM-VULN-HIGH (high)  sbom.cdx.json:12  [pkg:npm/x@1]" in text
    assert "fix: do the fix" in text
    assert "waived by W-1 (owner team, expires 2027-01-31): re-org" in text
    last = [ln for ln in text.splitlines() if ln.startswith("govgate:")]
    assert last == [
        "govgate: BLOCK in prod — 1 blocking, 1 warnings, 1 waived · inputs: 1 sboms · policy sha256:aaaaaaaaaaaa…"
    ]
    assert "\x1b[" not in text


def test_text_colour_only_when_asked() -> None:
    assert "\x1b[" in TextReporter().render(_decision(), color=True)


def test_json_carries_the_decision_contract() -> None:
    doc = json.loads(JsonReporter().render(_decision(), color=True))
    assert doc["outcome"] == "block" and doc["environment"] == "prod"
    assert doc["summary"] == {"block": 1, "warn": 1, "waived": 1}
    first = doc["findings"][0]
    assert first["check"] == "SBOM-VULN-HIGH" and first["action"] == "block"
    assert first["subject"] == {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/x@1", "line": 12}
    assert doc["policy"]["digest"].startswith("sha256:") and doc["input"]["digest"].startswith("sha256:")
    assert doc["engine"]["name"] == "embedded"
    assert doc["audit"] is None


def test_exit_codes() -> None:
    d = _decision()
    assert d.exit_code() == 1
    warn = Decision(Outcome.WARN, "dev", (), {}, "", "")
    assert warn.exit_code() == 0
    assert Decision(Outcome.ERROR, "dev", (), {}, "", "").exit_code() == 3
