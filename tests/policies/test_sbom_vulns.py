"""End to end through a real `gate check` in prod: a vulnerability the SBOM or its VEX leaves without
a severity is judged, never passed. Its severity comes from a CVSS score or vector where the
ratings give one (SBOM-VULN-CRITICAL / SBOM-VULN-HIGH), otherwise it is SBOM-VULN-UNRATED; CycloneDX
JSON and XML alike, and SPDX security advisory references, JSON and tag-value. VEX closes any of them.

The config lives outside the checked folder; fixtures are written by the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cyclonedx_bom, npm_component, run_gate, spdx_document, write_json, write_yaml

LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
LOG4SHELL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"


def _log4j() -> dict[str, Any]:
    return {
        "type": "library",
        "bom-ref": LOG4J,
        "name": "log4j-core",
        "version": "2.14.1",
        "purl": LOG4J,
        "licenses": [{"license": {"id": "Apache-2.0"}}],
    }


def _vex(ratings: list[dict[str, Any]] | None, state: str = "exploitable") -> dict[str, Any]:
    vuln: dict[str, Any] = {"id": "CVE-2021-44228", "analysis": {"state": state}, "affects": [{"ref": LOG4J}]}
    if ratings is not None:
        vuln["ratings"] = ratings
    return cyclonedx_bom([_log4j(), npm_component("left-pad", "1.3.0")], vulnerabilities=[vuln])


def _run(tmp_path: Path, name: str, content: dict[str, Any] | str) -> tuple[int, dict[str, Any], str]:
    trusted = write_yaml(tmp_path / "trusted" / "gate.yaml", {})
    repo = tmp_path / "repo"
    if isinstance(content, str):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content, encoding="utf-8")
    else:
        write_json(repo / name, content)
    run = run_gate("check", name, "--config", trusted, "--env", "prod", "--format", "json", cwd=repo)
    assert "Traceback" not in run.stderr, run.stderr
    return run.code, (run.json() if run.code in (0, 1) else {}), run.stderr


def _vuln_findings(decision: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f["check"], f["action"], f["subject"]["ref"])
        for f in decision["findings"]
        if f["check"].startswith("SBOM-VULN-")
    ]


def test_exploitable_log4shell_without_ratings_blocks_in_prod(tmp_path: Path) -> None:
    code, decision, _ = _run(tmp_path, "vex.cdx.json", _vex(None))
    assert code == 1 and decision["outcome"] == "block"
    assert _vuln_findings(decision) == [("SBOM-VULN-UNRATED", "block", "CVE-2021-44228")]
    [finding] = [f for f in decision["findings"] if f["check"] == "SBOM-VULN-UNRATED"]
    assert finding["severity"] == "high"
    assert finding["message"] == (
        f"vulnerability CVE-2021-44228 affects {LOG4J}, has no severity rating (no severity, CVSS score"
        " or CVSS vector) and is not marked not_affected, false_positive or resolved by VEX"
    )


@pytest.mark.parametrize(
    ("ratings", "check"),
    [
        ([{"severity": "unknown"}], "SBOM-VULN-UNRATED"),
        ([{"score": 10.0, "method": "CVSSv31"}], "SBOM-VULN-CRITICAL"),
        ([{"method": "CVSSv31", "vector": LOG4SHELL_VECTOR}], "SBOM-VULN-CRITICAL"),
        ([{"severity": "unknown", "score": 7.5, "method": "CVSSv31"}], "SBOM-VULN-HIGH"),
    ],
    ids=["unknown", "score-only", "vector-only", "unknown-with-score"],
)
def test_unrated_or_score_only_vulnerabilities_block_in_prod(
    tmp_path: Path, ratings: list[dict[str, Any]], check: str
) -> None:
    code, decision, _ = _run(tmp_path, "vex.cdx.json", _vex(ratings))
    assert code == 1
    assert _vuln_findings(decision) == [(check, "block", "CVE-2021-44228")]


@pytest.mark.parametrize("state", ["not_affected", "false_positive", "resolved"])
def test_vex_closes_an_unrated_vulnerability(tmp_path: Path, state: str) -> None:
    code, decision, _ = _run(tmp_path, "vex.cdx.json", _vex(None, state))
    assert _vuln_findings(decision) == []
    assert code == 0, decision["findings"]


def test_cyclonedx_xml_vex_without_ratings_blocks_in_prod(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
        "<metadata><timestamp>2026-01-01T00:00:00Z</timestamp>"
        '<component type="application"><name>payments</name><version>1.0.0</version></component></metadata>'
        f'<components><component type="library" bom-ref="{LOG4J}"><name>log4j-core</name>'
        "<version>2.14.1</version><licenses><license><id>Apache-2.0</id></license></licenses>"
        f"<purl>{LOG4J}</purl></component></components>"
        "<vulnerabilities><vulnerability><id>CVE-2021-44228</id>"
        "<analysis><state>exploitable</state></analysis>"
        f"<affects><target><ref>{LOG4J}</ref></target></affects></vulnerability>"
        "<vulnerability><id>CVE-2021-45046</id><ratings><rating><score>9.0</score><method>CVSSv31</method>"
        f"</rating></ratings><affects><target><ref>{LOG4J}</ref></target></affects></vulnerability>"
        "</vulnerabilities></bom>"
    )
    code, decision, _ = _run(tmp_path, "vex.cdx.xml", text)
    assert code == 1
    assert sorted(_vuln_findings(decision)) == [
        ("SBOM-VULN-CRITICAL", "block", "CVE-2021-45046"),
        ("SBOM-VULN-UNRATED", "block", "CVE-2021-44228"),
    ]


def _spdx_with_advisory() -> dict[str, Any]:
    return spdx_document(
        {
            "SPDXID": "SPDXRef-log4j",
            "name": "log4j-core",
            "versionInfo": "2.14.1",
            "downloadLocation": "NOASSERTION",
            "licenseConcluded": "Apache-2.0",
            "licenseDeclared": "Apache-2.0",
            "copyrightText": "NOASSERTION",
            "filesAnalyzed": False,
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": LOG4J},
                {
                    "referenceCategory": "SECURITY",
                    "referenceType": "advisory",
                    "referenceLocator": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
                },
            ],
        }
    )


def test_spdx_security_advisory_blocks_as_unrated_in_prod(tmp_path: Path) -> None:
    code, decision, _ = _run(tmp_path, "sbom.spdx.json", _spdx_with_advisory())
    assert code == 1
    assert _vuln_findings(decision) == [("SBOM-VULN-UNRATED", "block", "CVE-2021-44228")]


SPDX_TAG_VALUE = f"""\
SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: payments
DocumentNamespace: https://example.com/spdx/payments-1
Creator: Tool: test
Created: 2026-01-01T00:00:00Z

##### Package: log4j-core

PackageName: log4j-core
SPDXID: SPDXRef-log4j
PackageVersion: 2.14.1
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageLicenseConcluded: Apache-2.0
PackageLicenseDeclared: Apache-2.0
PackageCopyrightText: NOASSERTION
ExternalRef: PACKAGE-MANAGER purl {LOG4J}
ExternalRef: SECURITY advisory https://nvd.nist.gov/vuln/detail/CVE-2021-44228

##### Package: left-pad

PackageName: left-pad
SPDXID: SPDXRef-left-pad
PackageVersion: 1.3.0
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageLicenseConcluded: GPL-3.0
PackageLicenseDeclared: NOASSERTION
PackageCopyrightText: <text>Copyright (c) left-pad authors
all rights reserved</text>
ExternalRef: PACKAGE-MANAGER purl pkg:npm/left-pad@1.3.0

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-log4j
Relationship: SPDXRef-log4j DEPENDS_ON SPDXRef-left-pad
"""


def test_spdx_tag_value_is_read_and_judged(tmp_path: Path) -> None:
    """Named on the command line, as syft and the SPDX examples write it: read, not refused as YAML."""
    code, decision, stderr = _run(tmp_path, "sbom.spdx", SPDX_TAG_VALUE)
    assert code == 1, stderr
    found = {(f["check"], f["subject"]["ref"]) for f in decision["findings"] if f["action"] == "block"}
    assert ("SBOM-VULN-UNRATED", "CVE-2021-44228") in found
    assert ("SBOM-LICENSE-DENIED", "pkg:npm/left-pad@1.3.0") in found  # GPL-3.0 is GPL-3.0-only
    assert not any(f["check"] == "SBOM-VALID" for f in decision["findings"])


def test_a_broken_spdx_tag_value_file_is_refused_in_one_line(tmp_path: Path) -> None:
    broken = SPDX_TAG_VALUE.replace("Created: 2026-01-01T00:00:00Z", "Created: 1 January 2026")
    code, _, stderr = _run(tmp_path, "sbom.spdx", broken)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gate: sbom.spdx: not readable as SPDX tag-value: ")
    assert "malformed YAML" not in lines[0]
