"""CycloneDX collector: recognition, normalisation (JSON and XML alike), schema validation, speed."""

from __future__ import annotations

import copy
import json
import random
import socket
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from gate import schemas
from gate.collect import cyclonedx, cyclonedx_xml, spdx
from gate.collect.base import CollectError, CollectSettings
from gate.collect.licenses import cyclonedx_licenses, expression, spdx_licenses
from gate.collect.parse import ParsedFile, parse_file

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "input.schema.json").read_text())
ITEM = schemas.compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/sbom"})
SHA1 = "a" * 40
SHA256 = "b" * 64


# --------------------------------------------------------------------------- fixtures built by code


def component(name: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {"type": "library", "name": name, "version": version, "purl": f"pkg:npm/{name}@{version}", **extra}


def bom(spec: str = "1.6", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2024-05-01T10:00:00Z",
            "component": {"type": "application", "name": "shop", "version": "2.0.0"},
        },
        "components": [
            component(
                "left-pad",
                licenses=[{"license": {"id": "MIT"}}],
                hashes=[{"alg": "SHA-1", "content": SHA1}, {"alg": "SHA-256", "content": SHA256}],
            ),
            component(
                "frame",
                licenses=[
                    {"expression": "(GPL-2.0-only WITH Classpath-exception-2.0 OR MIT) AND Apache-2.0"}
                ],
                components=[
                    component("inner", licenses=[{"license": {"name": "Custom Corp License"}}]),
                ],
            ),
        ],
    }
    doc.update(extra)
    return doc


def write(tmp_path: Path, doc: Any, name: str = "bom.json") -> ParsedFile:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return parse_file(path, shown=name)


def collect(tmp_path: Path, doc: Any, name: str = "bom.json") -> dict[str, Any]:
    parsed = write(tmp_path, doc, name)
    assert cyclonedx.recognise(parsed)
    items = cyclonedx.collect(parsed, CollectSettings())["sboms"]
    assert len(items) == 1
    ITEM.validate(items[0])
    return items[0]


def xml_component(comp: dict[str, Any], ns_version: str) -> str:
    parts = [f'<component type="{comp["type"]}">', f"<name>{escape(comp['name'])}</name>"]
    parts.append(f"<version>{escape(comp['version'])}</version>")
    if comp.get("hashes"):
        parts.append("<hashes>")
        parts += [f'<hash alg="{h["alg"]}">{h["content"]}</hash>' for h in comp["hashes"]]
        parts.append("</hashes>")
    if comp.get("licenses"):
        parts.append("<licenses>")
        for lic in comp["licenses"]:
            if "expression" in lic:
                parts.append(f"<expression>{escape(lic['expression'])}</expression>")
            elif "id" in lic["license"]:
                parts.append(f"<license><id>{lic['license']['id']}</id></license>")
            else:
                parts.append(f"<license><name>{escape(lic['license']['name'])}</name></license>")
        parts.append("</licenses>")
    parts.append(f"<purl>{escape(comp['purl'])}</purl>")
    if comp.get("components"):
        parts.append("<components>")
        parts += [xml_component(c, ns_version) for c in comp["components"]]
        parts.append("</components>")
    parts.append("</component>")
    return "".join(parts)


def xml_bom(doc: dict[str, Any]) -> str:
    """The XML encoding of a JSON BOM built by `bom()` (the parts the collector reads)."""
    spec = doc["specVersion"]
    meta = doc["metadata"]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<bom xmlns="http://cyclonedx.org/schema/bom/{spec}" serialNumber="{doc["serialNumber"]}" version="1">',
        "<metadata>",
        f"<timestamp>{meta['timestamp']}</timestamp>",
        f'<component type="{meta["component"]["type"]}"><name>{meta["component"]["name"]}</name>'
        f"<version>{meta['component']['version']}</version></component>",
        "</metadata>",
        "<components>",
        *(xml_component(c, spec) for c in doc["components"]),
        "</components>",
    ]
    if doc.get("vulnerabilities"):
        out.append("<vulnerabilities>")
        for vuln in doc["vulnerabilities"]:
            out.append(f"<vulnerability><id>{vuln['id']}</id>")
            if vuln.get("ratings"):
                out.append("<ratings>")
                out += [f"<rating><severity>{r['severity']}</severity></rating>" for r in vuln["ratings"]]
                out.append("</ratings>")
            if vuln.get("analysis"):
                out.append(f"<analysis><state>{vuln['analysis']['state']}</state></analysis>")
            out.append("<affects>")
            out += [f"<target><ref>{escape(a['ref'])}</ref></target>" for a in vuln["affects"]]
            out.append("</affects></vulnerability>")
        out.append("</vulnerabilities>")
    out.append("</bom>")
    return "\n".join(out)


VULNERABILITIES = [
    {
        "id": "CVE-2024-0001",
        "ratings": [{"severity": "medium"}, {"severity": "critical"}, {"severity": "low"}],
        "analysis": {"state": "not_affected"},
        "affects": [{"ref": "pkg:npm/left-pad@1.0.0"}, {"ref": "pkg:npm/frame@1.0.0"}],
    },
    {"id": "CVE-2024-0002", "ratings": [{"severity": "high"}], "affects": [{"ref": "pkg:npm/inner@1.0.0"}]},
    {"id": "GHSA-xxxx-yyyy-zzzz", "affects": [{"ref": "pkg:npm/left-pad@1.0.0"}]},
]


# --------------------------------------------------------------------------- recognition


def test_recognises_cyclonedx_json_by_bom_format(tmp_path: Path) -> None:
    assert cyclonedx.recognise(write(tmp_path, bom()))


def test_recognises_json_with_cyclonedx_schema_and_components(tmp_path: Path) -> None:
    doc = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "specVersion": "1.6",
        "components": [],
    }
    assert cyclonedx.recognise(write(tmp_path, doc))


@pytest.mark.parametrize(
    "doc",
    [
        {"specVersion": "1.6", "components": []},  # no bomFormat, no CycloneDX $schema
        {"$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json", "specVersion": "1.6"},  # no components
        {"spdxVersion": "SPDX-2.3"},
        [{"bomFormat": "CycloneDX"}],
    ],
)
def test_does_not_recognise_other_json(tmp_path: Path, doc: Any) -> None:
    assert not cyclonedx.recognise(write(tmp_path, doc))


def test_recognises_xml_by_namespace_only(tmp_path: Path) -> None:
    assert cyclonedx.recognise(write(tmp_path, xml_bom(bom("1.4")), "bom.xml"))
    other = '<bom xmlns="http://example.com/bom/1.4"><components/></bom>'
    assert not cyclonedx.recognise(write(tmp_path, other, "other.xml"))


def test_collect_refuses_content_that_is_not_cyclonedx(tmp_path: Path) -> None:
    with pytest.raises(CollectError) as info:
        cyclonedx.collect(write(tmp_path, {"hello": "world"}), CollectSettings())
    assert info.value.path == "bom.json"
    assert "CycloneDX" in info.value.message and info.value.remediation


# --------------------------------------------------------------------------- normalisation


def test_components_are_normalised_including_nested_ones(tmp_path: Path) -> None:
    item = collect(tmp_path, bom())
    assert item["format"] == "cyclonedx" and item["encoding"] == "json" and item["spec_version"] == "1.6"
    assert item["valid"] is True and item["errors"] == []
    assert item["has_timestamp"] is True and item["has_component"] is True
    # metadata.component ("shop") describes the BOM's subject: not a component entry
    assert [c["name"] for c in item["components"]] == ["left-pad", "frame", "inner"]
    left_pad = item["components"][0]
    assert left_pad == {
        "name": "left-pad",
        "version": "1.0.0",
        "purl": "pkg:npm/left-pad@1.0.0",
        "licenses": [{"kind": "id", "value": "MIT"}],
        "license_ids": ["MIT"],
        "hashes": {"SHA-1": SHA1, "SHA-256": SHA256},
        "type": "library",
        "purl_normalised": "pkg:npm/left-pad@1.0.0",
    }


def test_license_ids_come_from_ids_and_inside_expressions_but_not_names(tmp_path: Path) -> None:
    item = collect(tmp_path, bom())
    frame, inner = item["components"][1], item["components"][2]
    assert frame["licenses"] == [
        {"kind": "expression", "value": "(GPL-2.0-only WITH Classpath-exception-2.0 OR MIT) AND Apache-2.0"}
    ]
    # the exception after WITH is not a license
    assert frame["license_ids"] == ["GPL-2.0-only", "MIT", "Apache-2.0"]
    assert inner["licenses"] == [{"kind": "name", "value": "Custom Corp License"}]
    assert inner["license_ids"] == []


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("MIT", ["MIT"]),
        ("MIT OR Apache-2.0", ["MIT", "Apache-2.0"]),
        (
            "(MIT AND BSD-3-Clause) OR (GPL-3.0-or-later WITH GCC-exception-3.1)",
            ["MIT", "BSD-3-Clause", "GPL-3.0-or-later"],
        ),
        ("GPL-2.0+", ["GPL-2.0-or-later"]),
        ("mit or apache-2.0", ["MIT", "Apache-2.0"]),
        (
            "LicenseRef-Proprietary AND DocumentRef-ext:LicenseRef-X",
            ["LicenseRef-Proprietary", "DocumentRef-ext:LicenseRef-X"],
        ),
        ("MIT AND MIT", ["MIT"]),
        ("NOASSERTION", []),
        ("((Apache-2.0))", ["Apache-2.0"]),
    ],
)
def test_expression_ids(value: str, ids: list[str]) -> None:
    assert list(expression(value).ids) == ids


def test_license_helpers_skip_malformed_entries() -> None:
    licenses, ids, invalid = cyclonedx_licenses(
        [None, "MIT", {"license": "MIT"}, {"license": {"id": 3}}, {"expression": " "}]
    )
    assert (licenses, ids, invalid) == ([], [], [])
    licenses, ids, invalid = spdx_licenses(["NOASSERTION", "NONE", None, "MIT", "MIT", "MIT OR Apache-2.0"])
    assert licenses == [{"kind": "id", "value": "MIT"}, {"kind": "expression", "value": "MIT OR Apache-2.0"}]
    assert ids == ["MIT", "Apache-2.0"] and invalid == []


def test_metadata_flags_follow_the_document(tmp_path: Path) -> None:
    doc = bom()
    del doc["metadata"]["timestamp"]
    del doc["metadata"]["component"]
    item = collect(tmp_path, doc)
    assert item["has_timestamp"] is False and item["has_component"] is False
    doc = bom()
    del doc["metadata"]
    item = collect(tmp_path, doc)
    assert item["has_timestamp"] is False and item["has_component"] is False and item["valid"] is True


def test_vulnerabilities_take_the_highest_rating_and_the_vex_state(tmp_path: Path) -> None:
    item = collect(tmp_path, bom("1.6", vulnerabilities=VULNERABILITIES))
    assert item["valid"] is True, item["errors"]
    assert item["vulnerabilities"] == [
        {
            "id": "CVE-2024-0001",
            "severity": "critical",
            "state": "not_affected",
            "affects": ["pkg:npm/left-pad@1.0.0", "pkg:npm/frame@1.0.0"],
        },
        {"id": "CVE-2024-0002", "severity": "high", "state": None, "affects": ["pkg:npm/inner@1.0.0"]},
        {
            "id": "GHSA-xxxx-yyyy-zzzz",
            "severity": "unknown",
            "state": None,
            "affects": ["pkg:npm/left-pad@1.0.0"],
        },
    ]


def test_severity_words_outside_the_spec_count_as_unknown(tmp_path: Path) -> None:
    vulns = [{"id": "X-1", "ratings": [{"severity": "Moderate"}, {"severity": "LOW"}], "affects": []}]
    item = collect(tmp_path, bom("1.6", vulnerabilities=vulns))
    assert item["vulnerabilities"][0]["severity"] == "low"
    assert item["valid"] is False  # the schema allows only the lowercase enum


LOG4SHELL_V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"  # 10.0
# (ratings, the severity they give): a rating's own severity first, else its CVSS score in the
# v3/v4 bands (v2: NVD's), else the base score computed from its vector; none of these: unknown
RATED: list[tuple[list[dict[str, Any]], str]] = [
    ([{"score": 9.8, "method": "CVSSv31"}], "critical"),
    ([{"score": 9.0, "method": "CVSSv3"}], "critical"),
    ([{"score": 8.9, "method": "CVSSv4"}], "high"),
    ([{"score": 7.0}], "high"),
    ([{"score": 6.9, "method": "CVSSv31"}], "medium"),
    ([{"score": 4.0, "method": "CVSSv31"}], "medium"),
    ([{"score": 3.9, "method": "CVSSv31"}], "low"),
    ([{"score": 0.1, "method": "CVSSv31"}], "low"),
    ([{"score": 0, "method": "CVSSv31"}], "none"),
    ([{"score": 10.0, "method": "CVSSv2"}], "high"),
    ([{"score": 3.9, "method": "CVSSv2"}], "low"),
    ([{"severity": "unknown", "score": 9.1, "method": "CVSSv31"}], "critical"),
    ([{"severity": "low"}, {"score": 9.1, "method": "CVSSv31"}], "critical"),
    ([{"severity": "medium", "score": 9.1, "method": "CVSSv31"}], "medium"),
    ([{"vector": LOG4SHELL_V31, "method": "CVSSv31"}], "critical"),
    ([{"vector": LOG4SHELL_V31}], "critical"),
    ([{"vector": "AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", "method": "CVSSv31"}], "high"),  # 7.5
    ([{"vector": "AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "method": "CVSSv3"}], "medium"),  # 5.3
    ([{"vector": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "method": "CVSSv2"}], "high"),  # 7.5
    ([{"vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}], "critical"),  # 9.3
    ([{"score": 11, "vector": LOG4SHELL_V31, "method": "CVSSv31"}], "critical"),
    ([], "unknown"),
    ([{"severity": "unknown"}], "unknown"),
    ([{"score": 11, "method": "CVSSv31"}], "unknown"),
    ([{"score": 8.0, "method": "OWASP"}], "unknown"),
    ([{"vector": "AV:N/AC:L/nonsense", "method": "CVSSv31"}], "unknown"),
    ([{"vector": LOG4SHELL_V31, "method": "SSVC"}], "unknown"),
]


@pytest.mark.parametrize(("ratings", "severity"), RATED, ids=[json.dumps(r) for r, _ in RATED])
def test_a_vulnerability_without_a_severity_is_rated_from_its_cvss(
    tmp_path: Path, ratings: list[dict[str, Any]], severity: str
) -> None:
    vulns = [{"id": "CVE-2021-44228", "ratings": ratings, "analysis": {"state": "exploitable"}}]
    item = collect(tmp_path, bom("1.6", vulnerabilities=vulns))
    assert item["vulnerabilities"] == [
        {"id": "CVE-2021-44228", "severity": severity, "state": "exploitable", "affects": []}
    ]


def test_xml_ratings_are_rated_from_their_score_and_vector(tmp_path: Path) -> None:
    ratings = [
        ("<rating><score>9.8</score><method>CVSSv31</method></rating>", "critical"),
        (f"<rating><method>CVSSv31</method><vector>{LOG4SHELL_V31}</vector></rating>", "critical"),
        ("<rating><score>5.0</score><severity>unknown</severity><method>CVSSv3</method></rating>", "medium"),
        ("<rating><severity>unknown</severity></rating>", "unknown"),
    ]
    vulns = "".join(
        f"<vulnerability><id>CVE-{i}</id><ratings>{rating}</ratings></vulnerability>"
        for i, (rating, _) in enumerate(ratings)
    )
    text = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components/>'
        f"<vulnerabilities>{vulns}</vulnerabilities></bom>"
    )
    item = collect(tmp_path, text, "vex.xml")
    assert item["valid"] is True, item["errors"]
    assert [v["severity"] for v in item["vulnerabilities"]] == [severity for _, severity in ratings]


def test_xml_and_json_of_the_same_bom_normalise_identically(tmp_path: Path) -> None:
    doc = bom("1.4", vulnerabilities=VULNERABILITIES)
    from_json = collect(tmp_path, doc, "bom.json")
    from_xml = collect(tmp_path, xml_bom(doc), "bom.xml")
    assert from_xml["encoding"] == "xml" and from_json["encoding"] == "json"
    assert from_xml["valid"] is True, from_xml["errors"]
    assert from_json["valid"] is True, from_json["errors"]
    for key in ("path", "sha256", "encoding"):
        del from_json[key], from_xml[key]
    assert from_xml == from_json
    assert len(from_xml["components"]) == 3 and len(from_xml["vulnerabilities"]) == 3


def test_xml_to_json_shape_keeps_nesting() -> None:
    import defusedxml.ElementTree as safe_et

    root = safe_et.fromstring(xml_bom(bom("1.5")).encode())
    shape = cyclonedx_xml.to_json_shape(root)
    assert shape["specVersion"] == "1.5"
    assert shape["metadata"]["component"]["name"] == "shop"
    assert shape["components"][1]["components"][0]["name"] == "inner"
    assert shape["components"][1]["licenses"] == bom("1.5")["components"][1]["licenses"]


def test_odd_but_parseable_values_do_not_crash_normalisation(tmp_path: Path) -> None:
    doc = bom()
    doc["components"] = [
        {"type": "library", "name": 7, "version": 2, "purl": None, "hashes": "x", "licenses": {"id": "MIT"}},
        "not a component",
        {"type": "library", "name": "n", "components": "nope"},
    ]
    doc["vulnerabilities"] = [{"ratings": "high", "analysis": [], "affects": [{"ref": 1}, {}]}, 5]
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert item["components"][0]["name"] == "" and item["components"][0]["version"] == "2"
    assert [c["name"] for c in item["components"]] == ["", "n"]
    assert item["vulnerabilities"] == [{"id": "", "severity": "unknown", "state": None, "affects": []}]


# --------------------------------------------------------------------------- schema validation


def test_schema_invalid_bom_is_collected_with_errors_naming_the_path(tmp_path: Path) -> None:
    doc = bom()
    del doc["components"][0]["name"]
    doc["components"][1]["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not-hex"}]
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert "components[0].name: is required" in item["errors"]
    assert any(
        e.startswith('components[1].components[0].hashes[0].content: "not-hex" ') for e in item["errors"]
    )
    assert len(item["components"]) == 3  # still normalised


def test_license_choice_error_names_the_offending_node(tmp_path: Path) -> None:
    doc = bom()
    doc["components"][0]["licenses"] = [{"license": {"id": "Apache-2"}}]
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert item["errors"][0].startswith("components[0].licenses[0]")


def test_errors_are_capped_and_short(tmp_path: Path) -> None:
    doc = bom()
    doc["components"] = [
        {"type": "nonsense", "name": "x" * 5000, "hashes": [{"alg": "MD5", "content": "z"}]}
    ] * 30
    doc["components"] = [dict(c, version=str(i)) for i, c in enumerate(doc["components"])]
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert len(item["errors"]) == 20
    assert item["errors"][-1].startswith("further schema errors not shown")
    assert all(len(e) < 400 for e in item["errors"])


def test_duplicate_components_fail_unique_items(tmp_path: Path) -> None:
    doc = bom()
    doc["components"].append(copy.deepcopy(doc["components"][0]))
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert "components: the 3 items are not unique" in item["errors"]


@pytest.mark.parametrize("spec", ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"])
def test_every_supported_json_version_validates(tmp_path: Path, spec: str) -> None:
    item = collect(tmp_path, bom(spec))
    assert item["valid"] is True, item["errors"]
    assert item["spec_version"] == spec


@pytest.mark.parametrize("spec", ["1.1", "2.0", None])
def test_unsupported_json_version_is_collected_as_invalid(tmp_path: Path, spec: str | None) -> None:
    doc = bom()
    if spec is None:
        del doc["specVersion"]
    else:
        doc["specVersion"] = spec
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert len(item["errors"]) == 1
    assert "not supported" in item["errors"][0] and "1.2 or newer" in item["errors"][0]
    assert item["spec_version"] == (spec or "")
    assert len(item["components"]) == 3


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6", "1.7"])
def test_every_format_is_checked(tmp_path: Path, spec: str) -> None:
    doc = bom(spec)
    doc["metadata"]["timestamp"] = "yesterday"
    doc["components"][0]["externalReferences"] = [{"type": "website", "url": "http://exa mple.com/ a b"}]
    item = collect(tmp_path, doc)
    assert item["errors"] == [
        'metadata.timestamp: "yesterday" is not a valid date-time',
        'components[0].externalReferences[0].url: "http://exa mple.com/ a b" is not a valid iri-reference',
    ]


def _formats_used(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("format"), str):
                found.add(item["format"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@pytest.mark.parametrize("spec", ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"])
def test_a_bad_value_of_each_format_the_schema_uses_is_an_error(tmp_path: Path, spec: str) -> None:
    """date-time, iri-reference, idn-email in every version (a pedigree commit has all three since
    1.2); uri (JSF signer algorithm) from 1.4."""
    folder = cyclonedx_xml.resource_dir()
    used = _formats_used(json.loads((folder / f"bom-{spec}.SNAPSHOT.schema.json").read_text("utf-8")))
    assert {"date-time", "iri-reference", "idn-email"} <= used
    doc = bom(spec)
    doc["metadata"]["timestamp"] = "2024-13-01T10:00:00Z"
    commit = {"uid": "1a2b", "url": "http://exa mple.com/", "author": {"email": "no-at-sign"}}
    doc["components"][0]["pedigree"] = {"commits": [commit]}
    expected = [
        'metadata.timestamp: "2024-13-01T10:00:00Z" is not a valid date-time',
        'components[0].pedigree.commits[0].author.email: "no-at-sign" is not a valid idn-email',
        'components[0].pedigree.commits[0].url: "http://exa mple.com/" is not a valid iri-reference',
    ]
    if spec >= "1.4":
        doc["signature"] = {"algorithm": "not a uri at all", "value": "AAAA"}
        expected.append('signature.algorithm: "not a uri at all" is not a valid uri')
    item = collect(tmp_path, doc)
    assert item["valid"] is False
    assert sorted(item["errors"]) == sorted(expected)
    good = bom(spec)
    commit = {"uid": "1a2b", "url": "../docs/ü?q=1#frag", "author": {"email": "jörg@bücher.example"}}
    good["components"][0]["pedigree"] = {"commits": [commit]}
    if spec >= "1.4":
        good["signature"] = {"algorithm": "https://example.com/alg#ES256", "value": "AAAA"}
    assert collect(tmp_path, good)["valid"] is True


def test_xml_schema_errors_name_the_element_and_line(tmp_path: Path) -> None:
    text = xml_bom(bom("1.6")).replace('<component type="library">', '<component type="gadget">', 1)
    item = collect(tmp_path, text, "bom.xml")
    assert item["valid"] is False
    assert item["errors"][0].startswith("/bom/components/component[1] (line ")
    assert "gadget" in item["errors"][0]
    assert len(item["components"]) == 3


def test_xml_1_1_is_validated_with_the_bundled_xsd(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.1" version="1"><components>'
        '<component type="library"><name>a</name><version>1</version>'
        "<licenses><license><id>MIT</id></license></licenses><purl>pkg:npm/a@1</purl></component>"
        "</components></bom>"
    )
    item = collect(tmp_path, text, "bom.xml")
    assert item["spec_version"] == "1.1" and item["valid"] is True, item["errors"]
    assert item["components"][0]["license_ids"] == ["MIT"]
    assert item["has_timestamp"] is False and item["has_component"] is False
    broken = text.replace("<version>1</version>", "")  # version is required in 1.1
    assert collect(tmp_path, broken, "broken.xml")["valid"] is False


def test_xml_version_without_a_schema_is_collected_as_unsupported(tmp_path: Path) -> None:
    text = '<bom xmlns="http://cyclonedx.org/schema/bom/1.9"><components/></bom>'
    item = collect(tmp_path, text, "bom.xml")
    assert item["valid"] is False and item["spec_version"] == "1.9"
    assert "not supported" in item["errors"][0] and "1.2 or newer" in item["errors"][0]


def test_xml_deeply_nested_components_are_walked_without_recursion(tmp_path: Path) -> None:
    depth = 120
    inner = ""
    for level in reversed(range(depth)):
        inner = (
            f'<component type="library"><name>c{level}</name><version>1</version>'
            + (f"<components>{inner}</components>" if inner else "")
            + "</component>"
        )
    text = f'<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>{inner}</components></bom>'
    item = collect(tmp_path, text, "deep.xml")
    assert [c["name"] for c in item["components"]] == [f"c{i}" for i in range(depth)]


def test_schemas_are_read_locally_never_fetched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    schemas.cyclonedx.cache_clear()
    cyclonedx_xml._xml_schema.cache_clear()
    for spec in cyclonedx.JSON_VERSIONS:
        assert cyclonedx.validate_json(bom(spec), spec) == []
    for spec in ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7"):
        assert cyclonedx_xml.validate(xml_bom(bom(spec)).encode(), spec) == []


# --------------------------------------------------------------------------- verdict and errors agree


def _mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    nodes: list[Any] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            nodes.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(nodes)
        if isinstance(node, dict) and node:
            key = rng.choice(sorted(node))
            choice = rng.random()
            if choice < 0.3:
                del node[key]
            elif choice < 0.6:
                node[key] = rng.choice([1, 1.5, True, None, "x", [], {}, "a b", -1])
            elif choice < 0.8:
                node["unexpected"] = 1
            elif isinstance(node[key], list):
                node[key] = node[key] + node[key][:1]
        elif isinstance(node, list) and node:
            if rng.random() < 0.5:
                node.append(copy.deepcopy(rng.choice(node)))
            else:
                node.insert(0, rng.choice([1, "s", None, {}, []]))
    return doc


@pytest.mark.parametrize("spec", ["1.2", "1.4", "1.6", "1.7"])
def test_errors_agree_with_the_verdict_and_name_a_place(spec: str) -> None:
    """The quick verdict (`is_valid`) and the listed errors agree on mutated BOMs, and every error is
    one line naming a place of the document (a missing field's place is its parent's)."""
    rng = random.Random(spec)
    schema = schemas.cyclonedx(spec)
    base = bom(spec, vulnerabilities=VULNERABILITIES) if spec >= "1.4" else bom(spec)
    base["components"][0]["externalReferences"] = [{"type": "website", "url": "https://example.com"}]
    base["dependencies"] = [{"ref": "left-pad", "dependsOn": ["frame"]}]
    invalid = 0
    for attempt in range(60):
        doc = base if attempt == 0 else _mutate(base, rng)
        ours = cyclonedx.validate_json(doc, spec)
        assert bool(ours) == (not schema.is_valid(doc)), (doc, ours)
        invalid += bool(ours)
        for error in schema.errors(doc):
            assert "\n" not in str(error)
            at: Any = doc
            for part in error.path[:-1]:
                at = at[part]
            assert isinstance(at, dict | list), error
            assert (
                error.path == ()
                or error.path[-1] in (at if isinstance(at, dict) else range(len(at)))
                or (error.problem in ("is required", "unexpected field"))
            ), error
    assert invalid > 40


# --------------------------------------------------------------------------- speed


def _big_bom(count: int) -> dict[str, Any]:
    comps = []
    for i in range(count):
        comps.append(
            component(
                f"p{i}",
                f"1.0.{i}",
                **{"bom-ref": f"ref-{i}"},
                hashes=[{"alg": "SHA-256", "content": SHA256}],
                licenses=[{"license": {"id": "MIT"}}] if i % 2 else [{"expression": "Apache-2.0 OR MIT"}],
                externalReferences=[{"type": "website", "url": f"https://example.com/p{i}"}],
            )
        )
    return bom(
        "1.6", components=comps, dependencies=[{"ref": f"ref-{i}", "dependsOn": []} for i in range(count)]
    )


def test_ten_thousand_components_collect(tmp_path: Path) -> None:
    parsed = write(tmp_path, _big_bom(10_000))
    item = cyclonedx.collect(parsed, CollectSettings())["sboms"][0]
    assert item["valid"] is True, item["errors"]
    assert len(item["components"]) == 10_000


def test_spdx_documents_are_not_cyclonedx(tmp_path: Path) -> None:
    parsed = write(tmp_path, {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"})
    assert spdx.recognise(parsed) and not cyclonedx.recognise(parsed)
