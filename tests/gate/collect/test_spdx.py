"""SPDX 2.2 / 2.3 JSON collector: normalisation, schema validation, SPDX 3 refusal."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gate import schemas
from gate.collect import cyclonedx, spdx
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import ParsedFile, parse_file

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = schemas.compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/sbom"})
SHA256 = "c" * 64


def package(spdx_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "SPDXID": spdx_id,
        "name": name,
        "versionInfo": "1.2.3",
        "downloadLocation": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        **extra,
    }


def document(version: str = "SPDX-2.3", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "spdxVersion": version,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "shop",
        "documentNamespace": "https://example.com/spdx/shop-1",
        "creationInfo": {"created": "2024-05-01T10:00:00Z", "creators": ["Tool: test"]},
        "documentDescribes": ["SPDXRef-shop"],
        "packages": [
            package("SPDXRef-shop", "shop", licenseDeclared="Apache-2.0"),
            package(
                "SPDXRef-left-pad",
                "left-pad",
                licenseConcluded="(MIT OR GPL-2.0-only WITH Classpath-exception-2.0)",
                licenseDeclared="MIT",
                checksums=[
                    {"algorithm": "SHA256", "checksumValue": SHA256},
                    {"algorithm": "MD5", "checksumValue": "d" * 32},
                ],
                externalRefs=[
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe23Type",
                        "referenceLocator": "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*",
                    },
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:npm/left-pad@1.2.3",
                    },
                ],
            ),
        ],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-shop",
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": "SPDXRef-left-pad",
            }
        ],
    }
    doc.update(extra)
    return doc


def write(tmp_path: Path, doc: Any, name: str = "sbom.spdx.json") -> ParsedFile:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return parse_file(path, shown=name)


def collect(tmp_path: Path, doc: Any) -> dict[str, Any]:
    parsed = write(tmp_path, doc)
    assert spdx.recognise(parsed)
    items = spdx.collect(parsed, CollectSettings())["sboms"]
    assert len(items) == 1
    ITEM.validate(items[0])
    return items[0]


def test_spdx_2_3_is_normalised(tmp_path: Path) -> None:
    item = collect(tmp_path, document())
    assert item["format"] == "spdx" and item["encoding"] == "json" and item["spec_version"] == "2.3"
    assert item["valid"] is True, item["errors"]
    assert item["has_timestamp"] is True and item["has_component"] is True
    assert item["vulnerabilities"] == []
    shop, left_pad = item["components"]
    assert shop == {
        "name": "shop",
        "version": "1.2.3",
        "purl": None,
        "licenses": [{"kind": "id", "value": "Apache-2.0"}],
        "license_ids": ["Apache-2.0"],
        "hashes": {},
        "type": None,
        "purl_normalised": None,
    }
    assert left_pad["purl"] == left_pad["purl_normalised"] == "pkg:npm/left-pad@1.2.3"
    assert left_pad["hashes"] == {"SHA-256": SHA256, "MD5": "d" * 32}
    assert left_pad["licenses"] == [
        {"kind": "expression", "value": "(MIT OR GPL-2.0-only WITH Classpath-exception-2.0)"},
        {"kind": "id", "value": "MIT"},
    ]
    assert left_pad["license_ids"] == ["MIT", "GPL-2.0-only"]


def test_package_purpose_becomes_the_type(tmp_path: Path) -> None:
    doc = document()
    doc["packages"][0]["primaryPackagePurpose"] = "OPERATING_SYSTEM"
    doc["packages"][1]["primaryPackagePurpose"] = "SOURCE"
    item = collect(tmp_path, doc)
    assert [c["type"] for c in item["components"]] == ["operating-system", "source"]


def test_a_describes_relationship_names_the_subject(tmp_path: Path) -> None:
    doc = document()
    del doc["documentDescribes"]
    assert collect(tmp_path, doc)["has_component"] is False
    doc["relationships"].append(
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-shop",
        }
    )
    assert collect(tmp_path, doc)["has_component"] is True


def test_missing_creation_time_is_reported_and_invalid(tmp_path: Path) -> None:
    doc = document()
    del doc["creationInfo"]["created"]
    item = collect(tmp_path, doc)
    assert item["has_timestamp"] is False
    assert item["valid"] is False
    assert item["errors"] == ["creationInfo.created: is required"]


def test_schema_errors_name_the_path(tmp_path: Path) -> None:
    doc = document()
    doc["packages"][1]["checksums"][0]["algorithm"] = "SHA999"
    doc["packages"][0]["filesAnalyzed"] = "false"
    doc["surprise"] = True
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert "packages[0].filesAnalyzed: expected a boolean, found a string" in item["errors"]
    assert any(
        e.startswith('packages[1].checksums[0].algorithm: "SHA999" is not one of') for e in item["errors"]
    )
    assert "surprise: unexpected field" in item["errors"]
    assert len(item["components"]) == 2


def test_2_2_requires_what_2_3_made_optional(tmp_path: Path) -> None:
    doc = document("SPDX-2.2")
    assert collect(tmp_path, doc)["valid"] is True
    for pkg in doc["packages"]:
        del pkg["copyrightText"], pkg["licenseConcluded"]
    item = collect(tmp_path, doc)
    assert item["spec_version"] == "2.2" and item["valid"] is False
    assert "packages[0].copyrightText: is required" in item["errors"]
    doc["spdxVersion"] = "SPDX-2.3"
    assert collect(tmp_path, doc)["valid"] is True


def test_fields_new_in_2_3_are_refused_in_2_2(tmp_path: Path) -> None:
    doc = document("SPDX-2.2")
    doc["packages"][0]["primaryPackagePurpose"] = "APPLICATION"
    doc["packages"][1]["checksums"].append({"algorithm": "BLAKE3", "checksumValue": "e" * 64})
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert any("primaryPackagePurpose" in e for e in item["errors"])
    assert any(e.startswith("packages[1].checksums[2].algorithm: ") for e in item["errors"])
    doc["spdxVersion"] = "SPDX-2.3"
    assert collect(tmp_path, doc)["valid"] is True


def test_unsupported_2_x_version_is_collected_as_invalid(tmp_path: Path) -> None:
    item = collect(tmp_path, document("SPDX-2.1"))
    assert item["spec_version"] == "2.1" and item["valid"] is False
    assert "not supported" in item["errors"][0] and "SPDX 2.3" in item["errors"][0]
    assert len(item["components"]) == 2


@pytest.mark.parametrize(
    "doc",
    [
        {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []},
        {"@context": ["https://spdx.org/rdf/3.0.0/spdx-context.jsonld"], "@graph": []},
        {"spdxVersion": "SPDX-3.0", "name": "x"},
    ],
)
def test_spdx_3_is_refused_with_a_way_forward(tmp_path: Path, doc: dict[str, Any]) -> None:
    parsed = write(tmp_path, doc)
    assert spdx.recognise(parsed)
    with pytest.raises(CollectError) as info:
        spdx.collect(parsed, CollectSettings())
    assert "SPDX 3" in info.value.message and "not supported" in info.value.message
    assert "SPDX 2.3 JSON" in info.value.remediation and "CycloneDX" in info.value.remediation
    assert info.value.path == "sbom.spdx.json"


def test_non_spdx_content_is_refused(tmp_path: Path) -> None:
    parsed = write(tmp_path, {"bomFormat": "CycloneDX", "specVersion": "1.6"})
    assert not spdx.recognise(parsed) and cyclonedx.recognise(parsed)
    with pytest.raises(CollectError):
        spdx.collect(parsed, CollectSettings())


def test_odd_package_values_do_not_crash(tmp_path: Path) -> None:
    doc = document()
    doc["packages"] = [
        {
            "SPDXID": "SPDXRef-a",
            "name": 5,
            "checksums": "x",
            "externalRefs": [None, {"referenceType": "purl"}],
        },
        "junk",
    ]
    doc["creationInfo"] = "today"
    item = collect(tmp_path, doc)
    assert item["valid"] is False and item["has_timestamp"] is False
    assert item["components"] == [
        {
            "name": "",
            "version": None,
            "purl": None,
            "licenses": [],
            "license_ids": [],
            "hashes": {},
            "type": None,
            "purl_normalised": None,
        }
    ]


def _advisory(locator: str, category: str = "SECURITY", kind: str = "advisory") -> dict[str, str]:
    return {"referenceCategory": category, "referenceType": kind, "referenceLocator": locator}


def test_security_advisory_references_are_unrated_open_vulnerabilities(tmp_path: Path) -> None:
    doc = document()
    left_pad, shop = doc["packages"][1], doc["packages"][0]
    left_pad["externalRefs"] += [
        _advisory("https://nvd.nist.gov/vuln/detail/cve-2021-44228"),
        _advisory("https://github.com/advisories/GHSA-JFH8-C2JP-5V3Q"),
        _advisory("https://example.com/fix/1", kind="fix"),  # a fix, not a vulnerability
        _advisory("https://example.com/write-up", kind="url"),
    ]
    shop["externalRefs"] = [
        _advisory("https://nvd.nist.gov/vuln/detail/CVE-2021-44228"),
        _advisory("https://vendor.example/advisories/VA-7"),
        _advisory("CVE-2020-1", category="OTHER"),  # not a security reference
    ]
    item = collect(tmp_path, doc)
    assert item["valid"] is True, item["errors"]
    assert item["vulnerabilities"] == [
        {
            "id": "CVE-2021-44228",
            "severity": "unknown",
            "state": None,
            "affects": ["shop@1.2.3", "pkg:npm/left-pad@1.2.3"],
        },
        {
            "id": "https://vendor.example/advisories/VA-7",
            "severity": "unknown",
            "state": None,
            "affects": ["shop@1.2.3"],
        },
        {
            "id": "GHSA-jfh8-c2jp-5v3q",
            "severity": "unknown",
            "state": None,
            "affects": ["pkg:npm/left-pad@1.2.3"],
        },
    ]


# --------------------------------------------------------------------------- tag-value


def tag_value(doc: dict[str, Any]) -> str:
    """The SPDX tag-value rendering of a JSON document built by `document()` (the fields it uses)."""
    lines = [
        f"SPDXVersion: {doc['spdxVersion']}",
        f"DataLicense: {doc['dataLicense']}",
        f"SPDXID: {doc['SPDXID']}",
        f"DocumentName: {doc['name']}",
        f"DocumentNamespace: {doc['documentNamespace']}",
        *(f"Creator: {c}" for c in doc["creationInfo"]["creators"]),
        f"Created: {doc['creationInfo']['created']}",
        "",
    ]
    for pkg in doc["packages"]:
        lines += [
            f"PackageName: {pkg['name']}",
            f"SPDXID: {pkg['SPDXID']}",
            f"PackageVersion: {pkg['versionInfo']}",
            f"PackageDownloadLocation: {pkg['downloadLocation']}",
            "FilesAnalyzed: false",
            f"PackageLicenseConcluded: {pkg['licenseConcluded']}",
            f"PackageLicenseDeclared: {pkg['licenseDeclared']}",
            f"PackageCopyrightText: {pkg['copyrightText']}",
            *(f"PackageChecksum: {c['algorithm']}: {c['checksumValue']}" for c in pkg.get("checksums", [])),
            *(
                f"ExternalRef: {r['referenceCategory']} {r['referenceType']} {r['referenceLocator']}"
                for r in pkg.get("externalRefs", [])
            ),
            "",
        ]
    lines += [f"Relationship: {doc['SPDXID']} DESCRIBES {ref}" for ref in doc["documentDescribes"]]
    lines += [
        f"Relationship: {r['spdxElementId']} {r['relationshipType']} {r['relatedSpdxElement']}"
        for r in doc["relationships"]
    ]
    return "\n".join(lines) + "\n"


def write_text(tmp_path: Path, text: str, name: str = "sbom.spdx") -> ParsedFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return parse_file(path, shown=name)


def collect_tag_value(tmp_path: Path, text: str, name: str = "sbom.spdx") -> dict[str, Any]:
    parsed = write_text(tmp_path, text, name)
    assert parsed.syntax == "spdx-tag-value"
    assert spdx.recognise(parsed) and not cyclonedx.recognise(parsed)
    items = spdx.collect(parsed, CollectSettings())["sboms"]
    assert len(items) == 1
    ITEM.validate(items[0])
    return items[0]


@pytest.mark.parametrize("version", ["SPDX-2.2", "SPDX-2.3"])
def test_tag_value_normalises_as_its_json_does(tmp_path: Path, version: str) -> None:
    doc = document(version)
    doc["packages"][1]["externalRefs"].append(_advisory("https://nvd.nist.gov/vuln/detail/CVE-2021-44228"))
    # spdx-tools renders the expression it parsed: without the outer parentheses written here
    doc["packages"][1]["licenseConcluded"] = "MIT OR GPL-2.0-only WITH Classpath-exception-2.0"
    from_json = collect(tmp_path, doc)
    from_tv = collect_tag_value(tmp_path, "# written by hand\n\n" + tag_value(doc))
    assert from_tv["encoding"] == "tag-value" and from_json["encoding"] == "json"
    assert from_tv["valid"] is True, from_tv["errors"]
    for key in ("path", "sha256", "encoding"):
        del from_json[key], from_tv[key]
    assert from_tv == from_json
    assert [c["purl"] for c in from_tv["components"]] == [None, "pkg:npm/left-pad@1.2.3"]
    assert [v["id"] for v in from_tv["vulnerabilities"]] == ["CVE-2021-44228"]


def test_tag_value_with_a_yaml_look_is_not_read_as_yaml(tmp_path: Path) -> None:
    """Two packages repeat every tag: as YAML that is a duplicate key, refused as malformed."""
    doc = document()
    item = collect_tag_value(tmp_path, tag_value(doc))
    assert [c["name"] for c in item["components"]] == ["shop", "left-pad"]
    assert item["spec_version"] == "2.3" and item["has_timestamp"] is True and item["has_component"] is True


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t: t.replace("Created: 2024-05-01T10:00:00Z", "Created: yesterday"), "Created"),
        (lambda t: t.replace("PackageName: left-pad\n", ""), "Multiple values for PackageVersion"),
        (lambda t: t + "NoSuchTag: x\n", "Unknown tag"),
        (
            lambda t: t.replace("ExternalRef: PACKAGE-MANAGER purl", "ExternalRef: PACKAGE-MANAGER"),
            "ExternalRef",
        ),
        (lambda t: t.split("\n", 1)[0] + "\n", ""),
    ],
    ids=["bad-date", "no-package-start", "unknown-tag", "short-external-ref", "only-a-version"],
)
def test_broken_tag_value_is_refused_in_one_line(tmp_path: Path, change: Any, says: str) -> None:
    parsed = write_text(tmp_path, change(tag_value(document())))
    assert spdx.recognise(parsed)
    with pytest.raises(CollectError) as info:
        spdx.collect(parsed, CollectSettings())
    message = info.value.message
    assert message.startswith("not readable as SPDX tag-value: ") and says in message
    assert "\n" not in message and len(message) < 400
    assert info.value.path == "sbom.spdx" and "SPDX 2.3 JSON" in info.value.remediation


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_shipped_spdx_schemas_are_draft_7(version: str) -> None:
    schema = json.loads((ROOT / "schemas" / "spdx" / f"spdx-{version}.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    compiled = schemas.shipped(f"spdx/spdx-{version}.schema.json")  # valid against the draft 7 meta-schema
    compiled.validate(copy.deepcopy(document(f"SPDX-{version}")))
