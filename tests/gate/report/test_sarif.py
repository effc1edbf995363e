"""The sarif format: what code scanning users rely on — levels, suppressions, locations and
fingerprints that name the same finding across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.decision import Action, Decision, Outcome, Subject
from gate.report.sarif import FINGERPRINT_KEY, SarifReporter
from tests.gate.report.support import REPO, decision, error_decision, finding, sample_decision


def _run(d: Decision, root: Path = REPO) -> dict[str, Any]:
    run: dict[str, Any] = SarifReporter(root).log(d)["runs"][0]
    return run


def _by_check(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ruleId"]: r for r in run["results"]}


def test_levels_follow_the_action_and_waivers_are_external_suppressions() -> None:
    results = _by_check(_run(sample_decision()))
    assert results["SBOM-LICENSE-DENIED"]["level"] == "error"
    assert results["SBOM-VULN-CRITICAL"]["level"] == "warning"
    waived = results["CATALOG-OWNER-GROUP"]
    assert waived["level"] == "note"
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "waived by W-7 (owner team-payments, expires 2027-01-31): re-org in Q1, PLAT-311",
            "properties": {
                "id": "W-7",
                "owner": "team-payments",
                "reason": "re-org in Q1, PLAT-311",
                "expires": "2027-01-31",
            },
        }
    ]
    assert all("suppressions" not in r for c, r in results.items() if c != "CATALOG-OWNER-GROUP")


def test_one_rule_per_check_with_help_and_severity() -> None:
    run = _run(sample_decision())
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == len({r["ruleId"] for r in run["results"]})
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    rule = rules[ids.index("TEMPLATE-ACTIONS-ALLOWED")]
    assert rule["shortDescription"]["text"] == "Template uses only allowed scaffolder actions."
    assert "Use an allowed action instead." in rule["help"]["text"]
    assert "**How to fix:** Use an allowed action instead." in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["severity"] == "high" and rule["properties"]["security-severity"] == "8.0"


def test_locations_are_relative_to_the_source_root() -> None:
    results = _by_check(_run(sample_decision()))

    def artifact(check: str) -> tuple[str, str, int]:
        loc = results[check]["locations"][0]["physicalLocation"]
        return (
            loc["artifactLocation"]["uri"],
            loc["artifactLocation"]["uriBaseId"],
            loc["region"]["startLine"],
        )

    assert artifact("TEMPLATE-ACTIONS-ALLOWED") == ("templates/service/template.yaml", "%SRCROOT%", 50)
    assert artifact("CONFTEST-MAIN-DENY") == ("dir%20with%20space/catalog-info.yaml", "%SRCROOT%", 3)
    assert artifact("SBOM-LICENSE-DENIED") == ("sbom.cdx.json", "%SRCROOT%", 1)  # no line: the file's first
    # Code scanning refuses absolute URIs: a file outside the root is named in the message instead.
    assert artifact("SBOM-VULN-CRITICAL") == (".", "%SRCROOT%", 1)
    assert results["SBOM-VULN-CRITICAL"]["properties"]["path"] == "/tmp/build/bom.json"
    assert "(file /tmp/build/bom.json)" in results["SBOM-VULN-CRITICAL"]["message"]["text"]
    assert results["SBOM-LICENSE-DENIED"]["properties"]["ref"] == "pkg:npm/left-pad@1.3.0"


def _fp(d: Decision, root: Path = REPO) -> list[str]:
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in _run(d, root)["results"]]


def test_fingerprints_survive_moved_lines_reworded_messages_and_checkout_folders() -> None:
    subject = Subject("template", "/work/repo/template.yaml", "vault", 50)
    before = finding("TEMPLATE-ACTIONS-ALLOWED", Action.BLOCK, "high", "step vault uses x", subject)
    moved = finding(
        "TEMPLATE-ACTIONS-ALLOWED",
        Action.WARN,
        "high",
        "the step vault uses the action x",
        Subject("template", "/home/runner/work/repo/template.yaml", "vault", 61),
    )
    assert _fp(decision([before])) == _fp(decision([moved], Outcome.WARN), Path("/home/runner/work/repo"))
    other_ref = finding(
        "TEMPLATE-ACTIONS-ALLOWED",
        Action.BLOCK,
        "high",
        "m",
        Subject("template", "/work/repo/template.yaml", "db", 50),
    )
    other_file = finding(
        "TEMPLATE-ACTIONS-ALLOWED",
        Action.BLOCK,
        "high",
        "m",
        Subject("template", "/work/repo/t2.yaml", "vault", 50),
    )
    prints = set(_fp(decision([before])) + _fp(decision([other_ref])) + _fp(decision([other_file])))
    assert len(prints) == 3


def test_fingerprints_are_unique_within_a_log() -> None:
    prints = _fp(sample_decision())
    assert len(prints) == len(set(prints))  # the two CATALOG-DESCRIPTION findings share check, file and ref


def test_execution_fails_only_on_an_error_outcome() -> None:
    failed = _run(error_decision())["invocations"][0]
    assert failed["executionSuccessful"] is False
    assert failed["toolExecutionNotifications"][0]["level"] == "error"
    assert "evaluation failed" in failed["toolExecutionNotifications"][0]["message"]["text"]
    assert _run(sample_decision())["invocations"][0]["executionSuccessful"] is True


def test_run_carries_the_decision_and_the_audit_record() -> None:
    run = _run(sample_decision())
    props = run["properties"]
    assert props["outcome"] == "block" and props["environment"] == "prod"
    assert props["audit"] == {"record": "sha256:" + "c" * 64, "index": 41, "signer": "local"}
    assert run["automationDetails"]["id"] == "govgate/prod/"
    assert run["versionControlProvenance"][0]["revisionId"] == "0123456789abcdef0123456789abcdef01234567"
    driver = run["tool"]["driver"]
    assert (
        driver["name"] == "govgate" and driver["version"] and driver["informationUri"].startswith("https://")
    )
