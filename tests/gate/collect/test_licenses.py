"""License strings normalised with the SPDX license list (gate.collect.licenses), through the real
collectors: CycloneDX JSON and XML, SPDX 2.3 JSON, from fixtures built here.

Each way of writing a denied license that could slip past a plain string match of
`denied_licenses: [GPL-3.0-only]` must name GPL-3.0-only (or GPL-3.0-or-later) in `license_ids`, and a string
that is not valid SPDX must be listed in `invalid_licenses`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from gate.collect import cyclonedx, licenses, spdx
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from gate.schemas import compile_schema
from tests.helpers import ROOT, cyclonedx_bom, spdx_document

SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/sbom"})

NBH = "\u2011"  # NON-BREAKING HYPHEN
ZWSP = "\u200b"  # ZERO WIDTH SPACE

# (how the license is given, the value, the GPL id it must name, whether it is invalid SPDX)
BYPASSES: list[tuple[str, str, str, bool]] = [
    ("expression", "GPL-3.0", "GPL-3.0-only", False),
    ("expression", "GPL-3.0+", "GPL-3.0-or-later", False),
    ("expression", "AGPL-3.0", "AGPL-3.0-only", False),
    ("expression", "GPL-3.0-with-GCC-exception", "GPL-3.0-only", False),
    ("expression", "gpl-3.0-only", "GPL-3.0-only", False),
    ("expression", "LicenseRef-GPL-3.0-only", "GPL-3.0-only", False),
    ("expression", "LicenseRef-scancode-gpl-3.0", "GPL-3.0-only", False),
    ("expression", "MIT/GPL-3.0-only", "GPL-3.0-only", True),
    ("expression", "MIT with GPL-3.0-only", "GPL-3.0-only", True),
    ("expression", f"GPL{NBH}3.0{NBH}only", "GPL-3.0-only", False),
    ("expression", f"GPL-3.0-only{ZWSP}", "GPL-3.0-only", False),
    ("expression", "MIT OR (GPL-3.0-only", "GPL-3.0-only", True),
    ("id", "GPL-3.0", "GPL-3.0-only", False),
    ("id", "AGPL-3.0", "AGPL-3.0-only", False),
    ("name", "GPL-3.0-only", "GPL-3.0-only", False),
    ("name", "GNU General Public License v3.0 only", "GPL-3.0-only", False),
    ("name", "gnu general public license v3.0  ONLY", "GPL-3.0-only", False),
    ("name", "GNU General Public License v3.0 w/GCC Runtime Library exception", "GPL-3.0-only", False),
    ("name", "MIT/GPL-3.0-only", "GPL-3.0-only", False),
]


def _cdx_license(kind: str, value: str) -> dict[str, Any]:
    if kind == "expression":
        return {"expression": value}
    return {"license": {kind: value}}


def _collect_cdx(tmp_path: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    comp = {"type": "library", "name": "x", "version": "1", "purl": "pkg:npm/x@1", "licenses": entries}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(cyclonedx_bom([comp])), encoding="utf-8")
    item = cyclonedx.collect(parse_file(path, shown="bom.json"), CollectSettings())["sboms"][0]
    assert not ITEM.errors(item)
    component: dict[str, Any] = item["components"][0]
    return component


def _collect_cdx_xml(tmp_path: Path, kind: str, value: str) -> dict[str, Any]:
    if kind == "expression":
        inner = f"<expression>{escape(value)}</expression>"
    else:
        inner = f"<license><{kind}>{escape(value)}</{kind}></license>"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
        '<component type="library"><name>x</name><version>1</version>'
        f"<licenses>{inner}</licenses><purl>pkg:npm/x@1</purl></component>"
        "</components></bom>"
    )
    path = tmp_path / "bom.xml"
    path.write_text(xml, encoding="utf-8")
    item = cyclonedx.collect(parse_file(path, shown="bom.xml"), CollectSettings())["sboms"][0]
    assert not ITEM.errors(item)
    component: dict[str, Any] = item["components"][0]
    return component


def _collect_spdx(tmp_path: Path, **fields: str) -> dict[str, Any]:
    package = {
        "SPDXID": "SPDXRef-x",
        "name": "x",
        "versionInfo": "1",
        "downloadLocation": "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        **fields,
    }
    doc = spdx_document(package)
    path = tmp_path / "sbom.spdx.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    item = spdx.collect(parse_file(path, shown="sbom.spdx.json"), CollectSettings())["sboms"][0]
    assert not ITEM.errors(item)
    component: dict[str, Any] = item["components"][0]
    return component


def _check(component: dict[str, Any], value: str, license_id: str, invalid: bool) -> None:
    assert license_id in component["license_ids"], component
    entries = component.get("invalid_licenses", [])
    if invalid:
        assert [e["value"] for e in entries] == [value.strip()] and entries[0]["reason"]
    else:
        assert entries == []


@pytest.mark.parametrize(("kind", "value", "license_id", "invalid"), BYPASSES)
def test_cyclonedx_json_names_the_license(
    tmp_path: Path, kind: str, value: str, license_id: str, invalid: bool
) -> None:
    component = _collect_cdx(tmp_path, [_cdx_license(kind, value)])
    assert component["licenses"] == [{"kind": kind, "value": value.strip()}]  # shown as written
    _check(component, value, license_id, invalid)


@pytest.mark.parametrize(("kind", "value", "license_id", "invalid"), BYPASSES)
def test_cyclonedx_xml_names_the_license(
    tmp_path: Path, kind: str, value: str, license_id: str, invalid: bool
) -> None:
    _check(_collect_cdx_xml(tmp_path, kind, value), value, license_id, invalid)


@pytest.mark.parametrize(
    ("value", "license_id", "invalid"),
    [(v, i, bad) for kind, v, i, bad in BYPASSES if kind == "expression"],
)
@pytest.mark.parametrize("field", ["licenseConcluded", "licenseDeclared"])
def test_spdx_fields_name_the_license(
    tmp_path: Path, field: str, value: str, license_id: str, invalid: bool
) -> None:
    _check(_collect_spdx(tmp_path, **{field: value}), value, license_id, invalid)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("MIT/GPL-3.0-only", "Invalid license key"),
        ("MIT with GPL-3.0-only", "'GPL-3.0-only' after WITH is not a license exception"),
        ("Apache 2.0", "unknown license id 'Apache 2.0'"),
        ("Classpath-exception-2.0", "is a license exception"),
        ("MIT OR", "OR requires two or more licenses"),
        ("\u0410GPL-3.0-only", "contains U+0410 (CYRILLIC CAPITAL LETTER A)"),
        ("MIT\x07", "contains U+0007"),
        ("MIT AND " * 2000 + "MIT", "longer than 10,000 characters"),
    ],
)
def test_invalid_expressions_say_why(value: str, reason: str) -> None:
    parsed = licenses.expression(value)
    assert parsed.error is not None and reason in parsed.error


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("MIT", ("MIT",)),
        ("mit or apache-2.0", ("MIT", "Apache-2.0")),
        (
            "(MIT AND BSD-3-Clause) OR (GPL-3.0-or-later WITH GCC-exception-3.1)",
            ("MIT", "BSD-3-Clause", "GPL-3.0-or-later"),
        ),
        ("GPL-2.0+", ("GPL-2.0-or-later",)),
        ("GPL-2.0-with-classpath-exception", ("GPL-2.0-only",)),
        (
            "LicenseRef-Proprietary AND DocumentRef-ext:LicenseRef-X",
            ("LicenseRef-Proprietary", "DocumentRef-ext:LicenseRef-X"),
        ),
        ("MIT AND MIT", ("MIT",)),
        ("((Apache-2.0))", ("Apache-2.0",)),
        ("MIT OR NOASSERTION", ("MIT",)),
        ("NOASSERTION", ()),
        ("\uff2d\uff29\uff34", ("MIT",)),  # full-width letters: NFKC
        ("MIT\u00a0OR\tApache-2.0", ("MIT", "Apache-2.0")),
    ],
)
def test_valid_expressions_give_current_ids(value: str, ids: tuple[str, ...]) -> None:
    assert licenses.expression(value).ids == ids and licenses.expression(value).error is None


def test_a_free_text_name_is_never_invalid() -> None:
    assert licenses.name_ids("Custom Corp License") == ()
    assert licenses.name_ids("MIT License") == ("MIT",)
    assert licenses.name_ids("Apache License 2.0") == ("Apache-2.0",)


def test_fold_maps_look_alikes_and_reports_the_rest() -> None:
    assert licenses.fold(f"GPL{NBH}3.0\u2013only{ZWSP}\ufeff") == ("GPL-3.0-only", None)
    assert licenses.fold("plain") == ("plain", None)
    assert licenses.fold("\u0410")[1] == "U+0410 (CYRILLIC CAPITAL LETTER A)"


def test_denied_list_is_normalised_and_only_denies_or_later_too() -> None:
    assert licenses.denied_licenses(["GPL-3.0"]) == ["GPL-3.0-only", "GPL-3.0-or-later"]
    assert licenses.denied_licenses(["gpl-3.0-only", "GPL-3.0-or-later"]) == [
        "GPL-3.0-only",
        "GPL-3.0-or-later",
    ]
    # -or-later alone does not deny -only
    assert licenses.denied_licenses(["GPL-3.0+"]) == ["GPL-3.0-or-later"]
    assert licenses.denied_licenses(["AGPL-3.0", "SSPL-1.0"]) == [
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "SSPL-1.0",
    ]
    # custom names and references are kept as written; non-strings dropped
    assert licenses.denied_licenses(["Commercial", "LicenseRef-acme", 3]) == ["Commercial", "LicenseRef-acme"]


def test_a_shared_license_array_is_normalised_once_per_bom(tmp_path: Path) -> None:
    """10,000 components sharing a handful of license strings: each distinct string is parsed once
    (the cache), and components with equal arrays hold equal lists."""
    licenses.expression.cache_clear()
    comps = [
        {
            "type": "library",
            "name": f"p{i}",
            "version": "1",
            "purl": f"pkg:npm/p{i}@1",
            "licenses": [{"expression": ["MIT", "GPL-3.0", "MIT/Apache-2.0"][i % 3]}],
        }
        for i in range(10_000)
    ]
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(cyclonedx_bom(comps)), encoding="utf-8")
    item = cyclonedx.collect(parse_file(path, shown="bom.json"), CollectSettings())["sboms"][0]
    assert licenses.expression.cache_info().misses == 3
    first, second = item["components"][1], item["components"][4]
    assert first["license_ids"] == second["license_ids"] == ["GPL-3.0-only"]
    assert item["components"][2]["invalid_licenses"][0]["value"] == "MIT/Apache-2.0"


def test_long_strings_are_not_remembered() -> None:
    """`gate serve` lives long: only short strings are kept in the cache."""
    licenses.expression.cache_clear()
    long = "MIT OR " * 100 + "Apache-2.0"
    assert len(long) > licenses.CACHED_CHARS
    assert licenses.expression(long).ids == ("MIT", "Apache-2.0")
    assert licenses.expression.cache_info().currsize == 0
    licenses.expression("MIT")
    assert licenses.expression.cache_info().currsize == 1
