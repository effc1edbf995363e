"""jsonschema-rs's first verdict agrees with the Python validators whose messages the gate shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.collect import backstage, cyclonedx
from gate.collect.base import CollectError
from gate.collect.files import parse_file
from gate.schema_check import is_valid, quick_validator
from tests.conftest import CORPUS

CORPUS_JSON = sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else []


def test_quick_verdicts() -> None:
    check = quick_validator({"type": "object", "required": ["a"]}, draft="2020-12")
    assert check is not None
    assert check({"a": 1}) and not check({}) and not check([])
    formats = quick_validator({"type": "string", "format": "date-time"}, draft="7")
    assert formats is not None and not formats("yesterday") and formats("2026-01-01T00:00:00Z")
    lax = quick_validator({"type": "string", "format": "date-time"}, draft="7", formats=False)
    assert lax is not None and lax("yesterday")
    skip = quick_validator({"type": "string", "format": "iri"}, draft="7", skip_formats=("iri",))
    assert skip is not None and skip("not an iri at all \\")


def test_references_resolve_only_to_given_resources() -> None:
    schema = {"$ref": "https://example.invalid/other.json"}
    assert quick_validator(schema, draft="7") is None  # nothing is fetched: no validator at all
    given = {"https://example.invalid/other.json": {"type": "integer"}}
    check = quick_validator(schema, draft="7", resources=given)
    assert check is not None and check(3) and not check("3")


@pytest.mark.corpus
def test_cyclonedx_quick_verdict_agrees_with_jsonschema_on_the_corpus(corpus_dir: Path) -> None:
    compared = 0
    for path in CORPUS_JSON:
        try:
            parsed = parse_file(path)
        except CollectError:
            continue
        doc = parsed.documents[0] if parsed.documents else None
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            continue
        version = doc.get("specVersion")
        if version not in cyclonedx.JSON_VERSIONS:
            continue
        quick = cyclonedx._quick_validator(version)
        assert quick is not None
        python_valid = not cyclonedx.schema_errors(cyclonedx._cyclonedx_validator(version), doc)
        assert quick(doc) == python_valid, f"{path.relative_to(corpus_dir)}: jsonschema says {python_valid}"
        compared += 1
    assert compared > 40


@pytest.mark.corpus
def test_backstage_quick_verdict_agrees_with_jsonschema_on_the_corpus(corpus_dir: Path) -> None:
    compared = 0
    quick = backstage._quick_validators()
    full = backstage._validators()
    assert set(quick) == set(full)
    for path in sorted(corpus_dir.rglob("*.y*ml")):
        try:
            parsed = parse_file(path)
        except CollectError:
            continue
        for doc in parsed.documents:
            if not isinstance(doc, dict):
                continue
            safe = json.loads(json.dumps(doc, default=str))
            for name in full:
                python_valid = not list(full[name].iter_errors(safe))
                assert is_valid(quick[name], safe) == python_valid, (
                    f"{path.relative_to(corpus_dir)} against {name}"
                )
                compared += 1
    assert compared > 100
