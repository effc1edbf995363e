"""Vulnerabilities the corpus's real SBOMs state: SPDX security advisory references are read as
unrated vulnerabilities of their packages; CycloneDX VEX ratings keep the severity they write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gate.collect import cyclonedx, spdx
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file

pytestmark = pytest.mark.corpus


def _item(module: Any, corpus_dir: Path, rel: str) -> dict[str, Any]:
    parsed = parse_file(corpus_dir / rel, shown=rel)
    assert module.recognise(parsed)
    items: list[dict[str, Any]] = module.collect(parsed, CollectSettings())["sboms"]
    return items[0]


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (
            "spdx/spdx__spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/04-SBOMwSecurity.json",
            [("CVE-2021-32012", ["pkg:maven/org.webjars.npm/xlsx@0.16.6"])],
        ),
        (
            "spdx/spdx__spdx-examples/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json",
            [
                ("CVE-2020-28498", ["pkg:npm/elliptic@6.5.2"]),
                ("CVE-2022-2274", ["pkg:alpine/openssl@3.0.4"]),
            ],
        ),
    ],
)
def test_spdx_advisory_references_are_unrated_vulnerabilities(
    corpus_dir: Path, rel: str, expected: list[tuple[str, list[str]]]
) -> None:
    item = _item(spdx, corpus_dir, rel)
    assert [(v["id"], v["affects"]) for v in item["vulnerabilities"]] == expected
    assert {(v["severity"], v["state"]) for v in item["vulnerabilities"]} == {("unknown", None)}


@pytest.mark.parametrize(
    ("rel", "severity", "state"),
    [
        ("cyclonedx/CycloneDX__bom-examples/VEX/vex.json", "high", "not_affected"),
        (
            "cyclonedx/CycloneDX__specification/tools/src/test/resources/1.6/valid-vulnerability-1.6.json",
            "critical",
            "not_affected",
        ),
    ],
)
def test_cyclonedx_vex_ratings_keep_their_severity(
    corpus_dir: Path, rel: str, severity: str, state: str
) -> None:
    [vuln] = _item(cyclonedx, corpus_dir, rel)["vulnerabilities"]
    assert (vuln["severity"], vuln["state"]) == (severity, state)
