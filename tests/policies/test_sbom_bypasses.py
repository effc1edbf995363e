"""End to end through a real `gate check` in prod: the license and package-URL spellings that could
pass a plain match of `denied_licenses: [GPL-3.0-only]` and
`denied_packages: ["pkg:npm/event-stream@*"]` block, with the finding that says why.

The config is named explicitly and lives outside the checked folder and the working directory,
as a trusted setup has it. Fixtures are written by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cyclonedx_bom, run_gate, spdx_document, write_json, write_yaml

CONFIG = {
    "data": {
        "denied_licenses": ["GPL-3.0-only"],
        "denied_packages": ["pkg:npm/event-stream@*"],
    }
}
NBH = "\u2011"
ZWSP = "\u200b"


def _component(purl: str | None = "pkg:npm/x@1.0.0", **extra: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"type": "library", "name": "x", "version": "1.0.0", **extra}
    if purl is not None:
        comp["purl"] = purl
    return comp


def _spdx_doc(**fields: Any) -> dict[str, Any]:
    package = {
        "SPDXID": "SPDXRef-x",
        "name": "x",
        "versionInfo": "1.0.0",
        "downloadLocation": "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": "pkg:npm/x@1.0.0",
            }
        ],
        **fields,
    }
    return spdx_document(package)


def _check(
    tmp_path: Path, name: str, doc: dict[str, Any], config: dict[str, Any] = CONFIG
) -> tuple[int, dict[str, Any], str]:
    trusted = write_yaml(tmp_path / "trusted" / "gate.yaml", config)
    repo = tmp_path / "repo"
    write_json(repo / name, doc)
    run = run_gate("check", name, "--config", trusted, "--env", "prod", "--format", "json", cwd=repo)
    assert "Traceback" not in run.stderr, run.stderr
    return run.code, run.json(), run.stderr


def _checks(decision: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in decision["findings"]:
        if finding["action"] == "block":
            out.setdefault(finding["check"], []).append(finding["message"])
    return out


# (CycloneDX licenses entry, whether SBOM-LICENSE-INVALID fires too)
LICENSE_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"expression": "GPL-3.0"}, False),
    ({"expression": "GPL-3.0+"}, False),  # GPL-3.0-or-later: denying -only denies it
    ({"expression": "GPL-3.0-with-GCC-exception"}, False),
    ({"expression": "GPL-3.0-only WITH GCC-exception-3.1"}, False),
    ({"expression": "MIT OR GPL-3.0-ONLY"}, False),
    ({"expression": "LicenseRef-GPL-3.0-only"}, False),
    ({"expression": "MIT/GPL-3.0-only"}, True),
    ({"expression": "MIT with GPL-3.0-only"}, True),
    ({"expression": f"GPL{NBH}3.0{NBH}only"}, False),
    ({"expression": f"GPL-3.0-only{ZWSP}"}, False),
    ({"license": {"id": "GPL-3.0"}}, False),
    ({"license": {"name": "GPL-3.0-only"}}, False),
    ({"license": {"name": "GNU General Public License v3.0 only"}}, False),
]


@pytest.mark.parametrize(
    ("entry", "invalid"), LICENSE_CASES, ids=[json.dumps(e, ensure_ascii=True) for e, _ in LICENSE_CASES]
)
def test_denied_license_spellings_block_in_prod(tmp_path: Path, entry: dict[str, Any], invalid: bool) -> None:
    code, decision, _ = _check(tmp_path, "sbom.cdx.json", cyclonedx_bom([_component(licenses=[entry])]))
    assert code == 1 and decision["outcome"] == "block"
    checks = _checks(decision)
    assert len(checks["SBOM-LICENSE-DENIED"]) == 1
    assert "is licensed GPL-3.0-o" in checks["SBOM-LICENSE-DENIED"][0]
    assert ("SBOM-LICENSE-INVALID" in checks) is invalid


def test_agpl_deprecated_id_blocks_under_the_default_list(tmp_path: Path) -> None:
    code, decision, _ = _check(
        tmp_path, "sbom.cdx.json", cyclonedx_bom([_component(licenses=[{"expression": "AGPL-3.0"}])]), {}
    )
    assert code == 1
    assert _checks(decision)["SBOM-LICENSE-DENIED"] == [
        'component pkg:npm/x@1.0.0 is licensed AGPL-3.0-only, which is denied (written "AGPL-3.0")'
    ]


@pytest.mark.parametrize("field", ["licenseConcluded", "licenseDeclared"])
def test_spdx_deprecated_id_blocks_in_prod(tmp_path: Path, field: str) -> None:
    code, decision, _ = _check(tmp_path, "sbom.spdx.json", _spdx_doc(**{field: "GPL-3.0"}))
    assert code == 1
    assert _checks(decision)["SBOM-LICENSE-DENIED"] == [
        'component pkg:npm/x@1.0.0 is licensed GPL-3.0-only, which is denied (written "GPL-3.0")'
    ]


def test_an_invalid_expression_alone_blocks_in_prod(tmp_path: Path) -> None:
    """No denied id to be found in it: the invalid expression is the finding, never a pass."""
    code, decision, _ = _check(
        tmp_path,
        "sbom.cdx.json",
        cyclonedx_bom([_component(licenses=[{"expression": "Apache 2.0 or whatever"}])]),
    )
    assert code == 1
    assert list(_checks(decision)) == ["SBOM-LICENSE-INVALID"]
    [message] = _checks(decision)["SBOM-LICENSE-INVALID"]
    assert message.startswith(
        'component pkg:npm/x@1.0.0 has the license "Apache 2.0 or whatever", which is not a valid SPDX expression ('
    )


def test_a_denied_list_with_a_deprecated_id_still_denies(tmp_path: Path) -> None:
    config = {"data": {"denied_licenses": ["GPL-3.0"]}}
    doc = cyclonedx_bom([_component(licenses=[{"license": {"id": "GPL-3.0-only"}}])])
    code, decision, _ = _check(tmp_path, "sbom.cdx.json", doc, config)
    assert code == 1 and "SBOM-LICENSE-DENIED" in _checks(decision)


PURL_CASES = [
    "pkg:npm/event-stream",
    "pkg:npm/event-stream@3.3.6",
    "pkg:NPM/event-stream@3.3.6",
    "pkg:npm/%65vent-stream@1",
    "pkg:npm/Event-Stream@3.3.6",
    "pkg:npm/event-stream@3.3.6?foo=bar",
    f"pkg:npm/event{NBH}stream@3.3.6",
]


@pytest.mark.parametrize("purl", PURL_CASES)
def test_denied_package_spellings_block_in_prod(tmp_path: Path, purl: str) -> None:
    doc = cyclonedx_bom([_component(purl, licenses=[{"license": {"id": "MIT"}}])])
    code, decision, _ = _check(tmp_path, "sbom.cdx.json", doc)
    assert code == 1
    [message] = _checks(decision)["SBOM-PACKAGE-DENIED"]
    assert message.startswith(f"component {purl} is a denied package (matches pkg:npm/event-stream")


def test_an_unparseable_purl_blocks_in_prod(tmp_path: Path) -> None:
    doc = cyclonedx_bom([_component("npm/event-stream@3.3.6", licenses=[{"license": {"id": "MIT"}}])])
    code, decision, _ = _check(tmp_path, "sbom.cdx.json", doc)
    assert code == 1
    assert _checks(decision) == {
        "SBOM-PURL-INVALID": [
            'component x@1.0.0 has the purl "npm/event-stream@3.3.6", which is not a valid package URL '
            '(purl is missing the required "pkg" scheme component)'
        ]
    }


def test_allowed_components_still_pass(tmp_path: Path) -> None:
    doc = cyclonedx_bom(
        [
            _component("pkg:npm/event-streamer@1.0.0", licenses=[{"expression": "mit OR Apache-2.0"}]),
            _component(
                "pkg:pypi/Requests_OAuthlib@1", licenses=[{"license": {"name": "Custom Corp License"}}]
            ),
            _component("pkg:npm/y@1", licenses=[{"expression": "LicenseRef-acme-proprietary"}]),
        ]
    )
    code, decision, _ = _check(tmp_path, "sbom.cdx.json", doc)
    assert code == 0 and decision["outcome"] == "pass", decision["findings"]
