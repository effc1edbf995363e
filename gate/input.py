"""The input document (`gate.input/v1`): assembled from the collectors, validated, digested."""

from __future__ import annotations

import hashlib
from typing import Any

from audit import compact_json
from gate import schemas
from gate.errors import InputError

API_VERSION = "gate.input/v1"


def assemble(
    context: dict[str, Any], require: tuple[str, ...], sections: dict[str, list[Any]]
) -> dict[str, Any]:
    """Build the input document from the context, the requirements and the collected sections."""
    document = {
        "apiVersion": API_VERSION,
        "context": context,
        "require": sorted(set(require)),
        "templates": sections.get("templates", []),
        "catalog": sections.get("catalog", []),
        "sboms": sections.get("sboms", []),
        "signatures": sections.get("signatures", []),
        "attestations": sections.get("attestations", []),
    }
    if "files" in sections:  # collected only for conftest-style policies (gate.collect.files)
        document["files"] = sections["files"]
    return document


def validate(document: dict[str, Any]) -> None:
    """Validate against schemas/input.schema.json; a failure is a collector bug, reported as exit 3."""
    from gate.errors import EngineError

    schema = schemas.shipped("input.schema.json")
    if schema.is_valid(document):
        return
    error = schema.first_error(document)
    raise EngineError(
        f"input document fails its schema: {error}",
        "this is a bug in a collector; please report it with the input file",
    )


def canonical_bytes(document: Any) -> bytes:
    """Deterministic JSON bytes (audit.compact_json): sorted keys, no whitespace, UTF-8.

    Not RFC 8785: the context carries nanosecond integers beyond the I-JSON range, which this
    encoding keeps exact. The document is not searched for NaN and infinities: what it holds was
    parsed by gate.collect, whose JSON parsing refuses them and whose YAML parsing spells them as
    strings, or made by the gate itself, which makes no float.
    """
    try:
        return compact_json(document, finite=True)
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (a lone surrogate) is a ValueError
        raise InputError(
            f"input cannot be encoded as JSON: {exc}", "inputs must hold JSON-safe values"
        ) from None


def digest_of(text: bytes) -> str:
    """`sha256:<hex>` of canonical bytes."""
    return "sha256:" + hashlib.sha256(text).hexdigest()


def digest(document: Any) -> str:
    """`sha256:<hex>` of the canonical bytes."""
    return digest_of(canonical_bytes(document))
