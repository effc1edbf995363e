"""gate.schemas, the one JSON Schema façade: formats checked, one-line messages naming the place,
hostile documents answered in one line, compiled schemas cached, nothing fetched."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from gate import schemas
from gate.resources import shipped
from tests.helpers import run_gate

DRAFTS = {
    "7": "http://json-schema.org/draft-07/schema#",
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
}


def _field_schema(draft: str, fmt: str) -> dict[str, Any]:
    return {
        "$schema": DRAFTS[draft],
        "type": "object",
        "properties": {
            "link": {"type": "object", "properties": {"target": {"type": "string", "format": fmt}}}
        },
    }


@pytest.mark.parametrize("draft", sorted(DRAFTS))
@pytest.mark.parametrize(
    ("fmt", "bad", "good"),
    [
        ("iri-reference", "http://exa mple.com/a b", "../relative/ü"),
        ("date-time", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("uri", "no scheme here", "https://example.com/x"),
    ],
)
def test_formats_are_checked_and_the_field_named(draft: str, fmt: str, bad: str, good: str) -> None:
    schema = schemas.compile_schema(_field_schema(draft, fmt))
    assert schema.is_valid({"link": {"target": good}})
    assert not schema.is_valid({"link": {"target": bad}})
    (error,) = schema.errors({"link": {"target": bad}})
    assert str(error) == f"link.target: {json.dumps(bad, ensure_ascii=False)} is not a valid {fmt}"
    assert error.pointer == "/link/target"


def test_an_unknown_format_refuses_the_schema() -> None:
    with pytest.raises(schemas.SchemaFileError, match="does not compile"):
        schemas.compile_schema({"type": "string", "format": "no-such-format"})


def test_every_shipped_and_bundled_schema_compiles_with_every_format_known() -> None:
    root = shipped("schemas")
    names = [p.name for p in root.iterdir() if p.name.endswith(".json")]
    for folder in ("backstage", "spdx"):
        names += [f"{folder}/{p.name}" for p in root.joinpath(folder).iterdir() if p.name.endswith(".json")]
    assert len(names) >= 16
    for name in names:
        assert schemas.shipped(name) is schemas.shipped(name)  # compiled once, then cached
    for version in schemas.CYCLONEDX_VERSIONS:
        assert schemas.cyclonedx(version) is schemas.cyclonedx(version)


def test_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(schemas.SchemaFileError):
        schemas.compile_schema({"$ref": "https://example.com/elsewhere.json"})


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({}, "name: is required"),
        ({"name": 5}, "name: expected a string, found an integer"),
        ({"name": ""}, "name: must not be empty"),
        ({"name": "x", "tags": ["a", "a"]}, "tags: the 2 items are not unique"),
        ({"name": "x", "odd/key": 1}, "odd/key: unexpected field"),
        ({"name": "x", "kind": "gadget"}, 'kind: "gadget" is not one of "a", "b"'),
        ({"name": "x", "n": 11}, "n: 11 is greater than the maximum of 10"),
    ],
)
def test_messages_are_one_line_where_then_what(instance: dict[str, Any], expected: str) -> None:
    schema = schemas.compile_schema(
        {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "tags": {"type": "array", "uniqueItems": True},
                "kind": {"enum": ["a", "b"]},
                "n": {"type": "integer", "maximum": 10},
            },
        }
    )
    errors = [str(e) for e in schema.errors(instance)]
    assert errors == [expected.replace("odd/key", '["odd/key"]')]
    with pytest.raises(schemas.SchemaInvalid) as info:
        schema.validate(instance)
    assert str(info.value) == errors[0]


def test_a_deeply_nested_document_gets_one_line() -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    schema = schemas.cyclonedx("1.6")
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": deep}
    assert not schema.is_valid(doc)
    assert [str(e) for e in schema.errors(doc)] == ["(top level): is nested too deeply to be checked"]
    assert str(schema.first_error(doc)) == "(top level): is nested too deeply to be checked"


def test_a_huge_array_of_wrong_items_gets_its_first_error_only() -> None:
    schema = schemas.cyclonedx("1.6")
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": list(range(schemas.LISTED_VALUES))}
    (error,) = schema.errors(doc)
    assert error.path[0] == "components"
    assert "is not searched for more" in error.problem and "\n" not in str(error)


def test_a_value_json_has_no_type_for_is_named() -> None:
    import datetime as dt

    schema = schemas.compile_schema(
        {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    )
    (error,) = schema.errors({"a": {"when": dt.date(2026, 1, 1)}})
    assert str(error) == "a.when: is a date, which JSON has no type for"
    (error,) = schema.errors({"a": {1: "x"}})
    assert str(error) == "a: has a key that is not a string (an integer 1)"


def test_hostile_sbom_through_the_cli_is_one_line_per_error_never_a_traceback(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [1] * 600_000}
    (tmp_path / "bom.json").write_text(json.dumps(bom), encoding="utf-8")
    run = run_gate("check", tmp_path / "bom.json", "--env", "dev", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in run.stderr
    assert run.code in (0, 1), run.stderr
    [sbom_errors] = [f["message"] for f in run.json()["findings"] if f["check"] == "SBOM-VALID"]
    assert "components" in sbom_errors and "\n" not in sbom_errors


def test_config_with_a_key_json_cannot_carry_is_exit_2_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("checks:\n  1: warn\n", encoding="utf-8")
    (tmp_path / "catalog-info.yaml").write_text("kind: x\n", encoding="utf-8")
    run = run_gate("check", tmp_path / "catalog-info.yaml", "--config", tmp_path / "gate.yaml", cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert "gate.yaml" in line and "invalid config at checks: has a key that is not a string" in line
