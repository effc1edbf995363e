"""The Backstage collector against every `backstage/` file of the shared corpus and its LABELS.json verdicts.

Labels were produced upstream of govgate (PyYAML parsing plus a jsonschema check of Backstage's own
schemas and name/tag rules). For each labelled file:

- `yaml_parse: error: <PyYAML error>`: `parse_file` raises CollectError naming the file, with a
  message of the same family (ScannerError/ParserError: malformed YAML; ConstructorError: custom tag)
  and, for skeletons and custom-tag files, a remediation that says so;
- `documents`: the same number of documents; each Backstage one is collected with the same apiVersion,
  kind, name, `valid` and number of errors; each `backstage: false` one is not recognised.

Where govgate deliberately or knowingly differs from a label, the file is listed in
EXPECTED_DISAGREEMENTS with the reason, and the test checks that the difference is still exactly
that one (so fixing it makes the test fail until the entry is removed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.collect import backstage
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import parse_file
from gate.schemas import Schema, compile_schema

pytestmark = pytest.mark.corpus

ROOT = Path(__file__).resolve().parents[2]
LABELS_FILE = ROOT.parent / "shared" / "corpus" / "LABELS.json"

# PyYAML error class in a label -> words govgate's parse error must use for the same failure.
PARSE_ERROR_WORDS = {
    "ScannerError": "malformed YAML",
    "ParserError": "malformed YAML",
    "ConstructorError": "custom tag",
}
# Label note -> words one of which the remediation must use, so the verdict names the cause.
NOTE_REMEDIATION_WORDS = {
    "Nunjucks-templated skeleton or custom YAML tags": ("skeleton", "CloudFormation"),
}

# Corpus path -> (what differs, why). Keep each reason specific; remove the entry once resolved.
# The labels judge files as written; Backstage does not.
EXPECTED_DISAGREEMENTS: dict[str, tuple[str, str]] = {
    "backstage/backstage__backstage/packages/catalog-model/examples/apis/spotify-api.yaml": (
        "placeholder-unchecked",
        "spec.definition is a $text placeholder of a URL: Backstage's catalog substitutes it before it "
        "validates, the gate fetches nothing, so it leaves that field unchecked and says so "
        "(CATALOG-PLACEHOLDER-UNCHECKED) instead of calling the entity invalid",
    ),
    "backstage/redhat-developer__red-hat-developer-hub-software-templates/templates/github/"
    "backstage-system/skeleton/all.yaml": (
        "skeleton-refused",
        "a scaffolder skeleton whose ${{ }} expressions happen to be valid YAML: not a catalog file, "
        "refused as unrendered when named (and left out of walks)",
    ),
}


def _labels() -> list[tuple[str, dict[str, Any]]]:
    if not LABELS_FILE.is_file():
        return [("backstage/(corpus not present)", {})]
    labels: dict[str, dict[str, Any]] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return sorted((k, v) for k, v in labels.items() if k.startswith("backstage/"))


LABELS = _labels()


@pytest.fixture(scope="module")
def item_validators() -> dict[str, Schema]:
    schema = json.loads((ROOT / "schemas" / "input.schema.json").read_text(encoding="utf-8"))
    return {
        section: compile_schema({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})
        for section, definition in (("templates", "template"), ("catalog", "catalog"))
    }


def test_every_backstage_file_is_labelled(corpus_dir: Path) -> None:
    on_disk = {
        p.relative_to(corpus_dir).as_posix() for p in (corpus_dir / "backstage").rglob("*") if p.is_file()
    }
    assert on_disk == {key for key, _ in LABELS}


def test_disagreements_name_labelled_files(corpus_dir: Path) -> None:
    assert set(EXPECTED_DISAGREEMENTS) <= {key for key, _ in LABELS}


@pytest.mark.parametrize(("key", "label"), LABELS, ids=[key for key, _ in LABELS])
def test_corpus_file_matches_label(
    corpus_dir: Path, key: str, label: dict[str, Any], item_validators: dict[str, Schema]
) -> None:
    path = corpus_dir / key
    verdict = str(label["yaml_parse"])
    if verdict.startswith("error"):
        _check_parse_error(path, key, verdict, str(label.get("note", "")))
        return
    assert verdict == "ok", verdict
    parsed = parse_file(path)
    docs: list[dict[str, Any]] = label["documents"]
    assert len(parsed.documents) == len(docs)

    expected_backstage = [(n, d) for n, d in enumerate(docs) if d.get("backstage", True) is not False]
    for n, doc in enumerate(docs):
        assert backstage.is_backstage_document(parsed.documents[n]) is (
            doc.get("backstage", True) is not False
        )
    assert backstage.recognise(parsed) is bool(expected_backstage)
    if not expected_backstage:
        return

    disagreement = EXPECTED_DISAGREEMENTS.get(key, ("", ""))[0]
    if disagreement == "skeleton-refused":
        with pytest.raises(backstage.Unrendered):
            backstage.collect(parsed, CollectSettings())
        return
    out = backstage.collect(parsed, CollectSettings())
    for section, items in out.items():
        for item in items:
            assert [str(e) for e in item_validators[section].errors(item)] == []
    items = sorted([*out["templates"], *out["catalog"]], key=lambda item: int(item["document"]))
    got = [
        (
            item["document"],
            item["entity"]["apiVersion"],
            item["entity"]["kind"],
            item["entity"]["metadata"]["name"],
            item["valid"],
            len(item["errors"]),
        )
        for item in items
    ]
    want = [
        (n, d["apiVersion"], d["kind"], d["name"], d["valid"], len(d["errors"]))
        for n, d in expected_backstage
    ]
    if disagreement == "placeholder-unchecked":
        assert got != want, f"{key} now agrees with its label; remove it from EXPECTED_DISAGREEMENTS"
        assert all(item["valid"] for item in items)
        assert any(not p["resolved"] for item in items for p in item["placeholders"])
        return
    assert key not in EXPECTED_DISAGREEMENTS, f"no disagreement is expected for a collected file: {key}"
    assert got == want
    assert all(item["entity"]["kind"] == "Template" for item in out["templates"])
    assert all(item["entity"]["kind"] != "Template" for item in out["catalog"])


def _check_parse_error(path: Path, key: str, verdict: str, note: str) -> None:
    with pytest.raises(CollectError) as caught:
        parse_file(path)
    error = caught.value
    assert str(path) in error.one_line()
    yaml_class = verdict.split(":", 1)[1].strip() if ":" in verdict else ""
    words = PARSE_ERROR_WORDS.get(yaml_class)
    remedies = NOTE_REMEDIATION_WORDS.get(note)
    agrees = (words is None or words in error.message) and (
        remedies is None or any(r in error.remediation for r in remedies)
    )
    if key in EXPECTED_DISAGREEMENTS:
        what, why = EXPECTED_DISAGREEMENTS[key]
        assert what == "parse-message"
        assert not agrees, f"{key} now agrees with its label; remove it from EXPECTED_DISAGREEMENTS ({why})"
    else:
        assert agrees, (error.message, error.remediation)
