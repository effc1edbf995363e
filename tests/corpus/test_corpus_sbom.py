"""The SBOM collectors against every `cyclonedx/` and `spdx/` file of the shared corpus and its LABELS.json.

CycloneDX labels were produced with cyclonedx-python-lib 11.12.0 (its JSON schema validation with
every format check, its XSD validation, and `Bom.from_json`/`from_xml`); SPDX labels with
spdx-tools 0.8.5. For each labelled file:

- CycloneDX `format: unparseable`: parsing plus collecting raises CollectError naming the file;
- otherwise the file is recognised and collected; `schema_valid` equals our `valid`; the spec
  version is the label's; where the library could deserialise the file, our component count is
  the label's `components_all` minus the metadata component (see `expected_components`);
- SPDX 3 JSON-LD (`spdx3_jsonld: true`): CollectError saying SPDX 3 is not supported;
- SPDX that spdx-tools parses (`spdx_tools_parse: ok`): collected, valid, with the label's
  spec version and package count;
- SPDX that spdx-tools refuses: collected all the same (it is well-formed JSON), with the
  verdict of the SPDX JSON schema recorded in SPDX_TOOLS_REFUSED and explained there.

Where govgate knowingly differs from a label the file is in EXPECTED_DISAGREEMENTS with the reason,
and the test checks that the difference is still exactly that one (so fixing it makes the test fail
until the entry is removed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.collect import cyclonedx, spdx
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import parse_file
from gate.schemas import Schema, compile_schema

pytestmark = pytest.mark.corpus

ROOT = Path(__file__).resolve().parents[2]
LABELS_FILE = ROOT.parent / "shared" / "corpus" / "LABELS.json"

# Corpus path -> (field, our value, label's value, why). Remove an entry once the difference is gone.
EXPECTED_DISAGREEMENTS: dict[str, tuple[str, Any, Any, str]] = {
    "cyclonedx/CycloneDX__specification/tools/src/test/resources/1.4/invalid-component-ref-1.4.json": (
        "components",
        2,
        1,
        "the BOM lists the same component twice (both bom-ref '123'); cyclonedx-python-lib's object "
        "model keeps components in a set and collapses them, we report what the document says "
        "(and the duplicate makes it schema-invalid, which both sides agree on)",
    ),
}

# SPDX files spdx-tools refuses to parse -> (our `valid`, why). govgate validates against the SPDX
# JSON schema (which constrains structure, not the text of dates or versions) and still collects
# the packages, so policies can judge the SBOM; SBOM-VALID reports the schema errors.
SPDX_TOOLS_REFUSED: dict[str, tuple[bool, str]] = {
    "spdx/anchore__syft/syft/format/spdxjson/testdata/snapshot/TestSPDXJSONImageEncoder.golden": (
        True,
        "spdx-tools rejects created/versionInfo 'redacted' with its own date and version parsers; "
        "the SPDX 2.3 JSON schema types both as plain strings",
    ),
    "spdx/anchore__syft/syft/format/spdxjson/testdata/spdx/alpine-3.10.syft.spdx.json": (
        False,
        "spdx-tools trips over fractional seconds in `created`; the 2.2 schema is failed anyway: "
        "packages lack copyrightText, required in SPDX 2.2",
    ),
    "spdx/anchore__syft/syft/format/spdxjson/testdata/spdx/bad/example7-bin.spdx.json": (
        False,
        "creators are objects and filesAnalyzed is the string 'false': schema errors for us too",
    ),
    "spdx/aquasecurity__trivy/integration/testdata/fixtures/sbom/centos-7-spdx.json": (
        False,
        "spdx-tools trips over fractional seconds; packages lack fields SPDX 2.2 requires",
    ),
}


def _labels(prefix: str) -> list[tuple[str, dict[str, Any]]]:
    if not LABELS_FILE.is_file():
        return [(f"{prefix}(corpus not present)", {})]
    labels: dict[str, dict[str, Any]] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return sorted((k, v) for k, v in labels.items() if k.startswith(prefix))


CYCLONEDX = _labels("cyclonedx/")
SPDX = _labels("spdx/")


@pytest.fixture(scope="module")
def item_validator() -> Schema:
    schema = json.loads((ROOT / "schemas" / "input.schema.json").read_text(encoding="utf-8"))
    return compile_schema({"$defs": schema["$defs"], "$ref": "#/$defs/sbom"})


def _collect(module: Any, corpus_dir: Path, rel: str) -> dict[str, Any]:
    parsed = parse_file(corpus_dir / rel, shown=rel)
    assert module.recognise(parsed), f"{rel} not recognised"
    items: list[dict[str, Any]] = module.collect(parsed, CollectSettings())["sboms"]
    assert len(items) == 1
    return items[0]


def expected_components(label: dict[str, Any], item: dict[str, Any]) -> int | None:
    """How many components the label implies we list, or None when the label has no count.

    `components_all` counts what cyclonedx-python-lib's deserialised Bom holds: every component,
    nested ones included, *plus* `metadata.component` (e.g. cern-lhc-vdm-editor: 43 top-level
    components, components_all 44, and the BOM has a metadata component). We list components and
    their nested components but not `metadata.component`, which describes the BOM's subject, so
    we expect one fewer when the BOM names its subject. Files the library could not deserialise
    have no count.
    """
    total = label.get("components_all")
    if total is None:
        return None
    return int(total) - (1 if item["has_component"] else 0)


def test_every_sbom_file_is_labelled(corpus_dir: Path) -> None:
    on_disk = {
        p.relative_to(corpus_dir).as_posix()
        for folder in ("cyclonedx", "spdx")
        for p in (corpus_dir / folder).rglob("*")
        if p.is_file()
    }
    assert on_disk == {key for key, _ in CYCLONEDX + SPDX}


def test_disagreement_lists_name_labelled_files() -> None:
    names = {key for key, _ in CYCLONEDX + SPDX}
    assert set(EXPECTED_DISAGREEMENTS) <= names
    assert set(SPDX_TOOLS_REFUSED) <= names


@pytest.mark.parametrize(("rel", "label"), CYCLONEDX, ids=[key for key, _ in CYCLONEDX])
def test_cyclonedx_file_matches_its_label(
    corpus_dir: Path, rel: str, label: dict[str, Any], item_validator: Schema
) -> None:
    if label.get("format") == "unparseable":
        with pytest.raises(CollectError) as info:
            parsed = parse_file(corpus_dir / rel, shown=rel)
            cyclonedx.collect(parsed, CollectSettings())
        assert info.value.path == rel and info.value.remediation
        return
    item = _collect(cyclonedx, corpus_dir, rel)
    item_validator.validate(item)
    assert item["encoding"] == label["format"]
    assert item["spec_version"] == label["specVersion"]
    observed: dict[str, Any] = {"valid": item["valid"], "components": len(item["components"])}
    expected: dict[str, Any] = {
        "valid": label["schema_valid"],
        "components": expected_components(label, item),
    }
    if expected["components"] is None:
        del observed["components"], expected["components"]
    disagreement = EXPECTED_DISAGREEMENTS.get(rel)
    if disagreement is not None:
        field, ours, theirs, _why = disagreement
        assert (observed[field], expected[field]) == (ours, theirs), "the known difference changed"
        observed.pop(field), expected.pop(field)
    assert observed == expected, item["errors"]
    assert item["valid"] == (item["errors"] == [])
    if label.get("vulnerabilities") is not None:
        assert len(item["vulnerabilities"]) == label["vulnerabilities"]


@pytest.mark.parametrize(("rel", "label"), SPDX, ids=[key for key, _ in SPDX])
def test_spdx_file_matches_its_label(
    corpus_dir: Path, rel: str, label: dict[str, Any], item_validator: Schema
) -> None:
    if label.get("spdx3_jsonld"):
        with pytest.raises(CollectError) as info:
            _collect(spdx, corpus_dir, rel)
        assert "SPDX 3" in info.value.message and "SPDX 2.3" in info.value.remediation
        assert info.value.path == rel
        return
    item = _collect(spdx, corpus_dir, rel)
    item_validator.validate(item)
    assert item["spec_version"] == label["spdxVersion"].removeprefix("SPDX-")
    if label["spdx_tools_parse"] == "ok":
        assert item["valid"] is True, item["errors"]
        assert len(item["components"]) == label["packages"]
    else:
        valid, _why = SPDX_TOOLS_REFUSED[rel]
        assert item["valid"] is valid, item["errors"]
        assert item["components"], "packages are still collected"


@pytest.mark.parametrize(
    "rel",
    [
        "cyclonedx/CycloneDX__bom-examples/SBOM/keycloak-10.0.2/bom.json",
        "cyclonedx/CycloneDX__bom-examples/SBOM/juice-shop/via_npm/flat/bom.1.4.json",
    ],
)
def test_largest_boms_validate(corpus_dir: Path, rel: str) -> None:
    parsed = parse_file(corpus_dir / rel, shown=rel)
    item = cyclonedx.collect(parsed, CollectSettings())["sboms"][0]
    assert item["valid"] is True
    assert len(item["components"]) > 900
