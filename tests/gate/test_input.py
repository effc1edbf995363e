"""The input document: schema validation and deterministic bytes."""

from __future__ import annotations

import pytest

from gate import input as input_doc
from gate.context import build_context
from gate.errors import EngineError


def _doc() -> dict[str, object]:
    return input_doc.assemble(build_context("prod", {}, now_ns=1_700_000_000_000_000_000), ("sbom",), {})


def test_assembled_document_validates() -> None:
    doc = _doc()
    input_doc.validate(doc)
    assert doc["apiVersion"] == "gate.input/v1" and doc["require"] == ["sbom"]


def test_schema_violation_is_an_engine_error() -> None:
    doc = _doc()
    doc["sboms"] = [{"path": "x"}]
    with pytest.raises(EngineError, match="fails its schema"):
        input_doc.validate(doc)


def test_canonical_bytes_are_key_order_independent_and_keep_big_integers() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": 1_700_000_000_123_456_789}}
    b = {"a": {"x": 1_700_000_000_123_456_789, "y": [1, 2]}, "b": 1}
    assert input_doc.canonical_bytes(a) == input_doc.canonical_bytes(b)
    assert b"1700000000123456789" in input_doc.canonical_bytes(a)
    assert input_doc.digest(a) == input_doc.digest(b)
    assert input_doc.digest(a) != input_doc.digest({**a, "b": 2})
