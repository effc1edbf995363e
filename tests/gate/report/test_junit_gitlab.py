"""The junit and gitlab formats: the structure CI test views and the merge request widget read."""

from __future__ import annotations

import json

from lxml import etree

from gate.decision import Action, Outcome, Subject
from gate.report.gitlab import GitlabReporter
from gate.report.junit import JunitReporter
from tests.gate.report.support import (
    HOSTILE,
    REPO,
    decision,
    error_decision,
    finding,
    pass_decision,
    sample_decision,
)


def _xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"))


def test_junit_suite_per_area_and_a_case_per_finding() -> None:
    root = _xml(JunitReporter(REPO).render(sample_decision(), color=False))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["CATALOG", "CONFTEST", "SBOM", "SIG", "TEMPLATE"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "3", "0")
    sbom = suites["SBOM"]
    assert (sbom.get("tests"), sbom.get("failures"), sbom.get("skipped")) == ("2", "1", "0")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    blocked = cases["TEMPLATE-ACTIONS-ALLOWED templates/service/template.yaml:50 (vault)"]
    failure = blocked.find("failure")
    assert failure is not None and failure.get("type") == "TEMPLATE-ACTIONS-ALLOWED"
    assert "fix: Use an allowed action instead." in (failure.text or "")
    warned = cases["SBOM-VULN-CRITICAL /tmp/build/bom.json (CVE-2026-0001)"]
    assert warned.find("failure") is None and warned.find("skipped") is None
    assert (warned.findtext("system-out") or "").startswith("WARNING: SBOM-VULN-CRITICAL (critical, warn)")
    waived = cases["CATALOG-OWNER-GROUP catalog-info.yaml:15 (component:default/payments)"]
    skipped = waived.find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("waived by W-7 (owner team-payments")
    props = {p.get("name"): p.get("value") for p in suites["SIG"].iter("property")}
    assert props["outcome"] == "block" and props["audit.record"] == "sha256:" + "c" * 64


def test_junit_escapes_what_xml_cannot_hold() -> None:
    f = finding(
        "CONFTEST-MAIN-DENY", Action.BLOCK, "high", HOSTILE + "\x00\x07", Subject("input", None, "<&>", None)
    )
    root = _xml(JunitReporter(REPO).render(decision([f]), color=False))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    expected = HOSTILE.replace("\x1b", "\\x1b") + "\\x00\\x07 [<&>]"
    assert failure.get("message") == expected  # newlines and quotes survive in the attribute
    assert root.find("testsuite/testcase").get("name") == "CONFTEST-MAIN-DENY (input) (<&>)"  # type: ignore[union-attr]


def test_junit_error_and_empty_decisions_are_one_case() -> None:
    err = _xml(JunitReporter(REPO).render(error_decision(), color=False))
    assert (err.get("tests"), err.get("errors")) == ("1", "1")
    error = err.find("testsuite/testcase/error")
    assert error is not None and "evaluation failed" in error.get("message", "")
    clean = _xml(JunitReporter(REPO).render(pass_decision(), color=False))
    assert (clean.get("tests"), clean.get("failures"), clean.get("errors")) == ("1", "0", "0")
    case = clean.find("testsuite/testcase")
    assert (
        case is not None
        and len(case.findall("*")) == 1
        and case.findtext("system-out") == "outcome pass: no findings\n"
    )


def test_gitlab_severity_location_and_fingerprints() -> None:
    issues = json.loads(GitlabReporter(REPO).render(sample_decision(), color=False))
    by = {(i["check_name"], i["location"]["lines"]["begin"]): i for i in issues}
    assert by[("TEMPLATE-ACTIONS-ALLOWED", 50)]["severity"] == "blocker"
    assert by[("TEMPLATE-ACTIONS-ALLOWED", 50)]["location"]["path"] == "templates/service/template.yaml"
    assert by[("SBOM-VULN-CRITICAL", 1)]["severity"] == "critical"  # a warning keeps its weight
    assert by[("CATALOG-DESCRIPTION", 4)]["severity"] == "minor"
    assert by[("CATALOG-OWNER-GROUP", 15)]["severity"] == "info"
    assert by[("SBOM-LICENSE-DENIED", 1)]["location"]["path"] == "sbom.cdx.json"  # no line: 1
    assert by[("SIG-PRESENT", 1)]["location"]["path"] == "."  # no file
    assert "Fix: Use an allowed action instead." in by[("TEMPLATE-ACTIONS-ALLOWED", 50)]["description"]
    prints = [i["fingerprint"] for i in issues]
    assert len(prints) == len(set(prints)) == len(issues)


def test_gitlab_error_outcome_is_a_blocker() -> None:
    [issue] = json.loads(GitlabReporter(REPO).render(error_decision(), color=False))
    assert issue["check_name"] == "GATE-ERROR" and issue["severity"] == "blocker"
    assert json.loads(GitlabReporter(REPO).render(decision([], Outcome.PASS), color=False)) == []
