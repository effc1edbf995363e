"""Builtins a compiled policy asks its host for, with OPA's semantics.

OPA compiles most builtins into the Wasm module; the rest (its "SDK-dependent" builtins) are
imported, and the module names the ones it uses. These are the ones the shipped library needs.
A module that needs any other is not run on the Wasm host (see gate.engine.opa_wasm).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class BuiltinFailure(Exception):
    """A builtin's arguments are outside what it accepts: the evaluation fails (strict errors)."""


def hex_encode(value: Any) -> str:
    """`hex.encode(x)`: the UTF-8 bytes of x as lower-case hexadecimal."""
    if not isinstance(value, str):
        raise BuiltinFailure(f"operand 1 must be string but got {_type_name(value)}")
    return value.encode("utf-8").hex()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class RegoSet(list[Any]):
    """A set argument, as a list of its items in no particular order (JSON has no sets)."""


# Builtins that treat a set differently from an array: the host is told which an argument is.
SET_ARGUMENTS = frozenset({"json.marshal_with_options"})

# Go's encoding/json, which OPA marshals with, escapes these for HTML.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def marshal_with_options(value: Any, options: Any) -> str:
    """`json.marshal_with_options(x, {})`: x as compact JSON, as OPA prints it.

    Object keys in byte order and a set's items in OPA's order (that is why the shipped library
    calls it: OPA's Wasm runtime sorts by insertion, O(n²), while this is O(n log n)). Only
    `{}` or `{"pretty": false}` as options, and no numbers but integers: anything else is
    refused rather than printed differently from OPA.
    """
    if (
        not isinstance(options, dict)
        or set(options) - {"pretty"}
        or options.get("pretty", False) is not False
    ):
        raise BuiltinFailure('the host marshals only with options {} or {"pretty": false}')
    text = json.dumps(_marshalled(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.translate(_GO_ESCAPES)


def _marshalled(value: Any) -> Any:
    if isinstance(value, float):
        raise BuiltinFailure("the host does not marshal numbers other than integers")
    if isinstance(value, RegoSet):
        if _strings_or_string_lists(value):  # Python orders these as OPA does: no key needed
            return sorted(value)
        return sorted((_marshalled(v) for v in value), key=opa_order)
    if isinstance(value, list):
        return [_marshalled(v) for v in value]
    if isinstance(value, dict):
        return {k: _marshalled(v) for k, v in value.items()}
    return value


def _strings_or_string_lists(items: list[Any]) -> bool:
    if all(type(v) is str for v in items):
        return True
    return all(type(v) is list and all(type(x) is str for x in v) for v in items)


def opa_order(value: Any) -> Any:
    """A sort key ordering JSON values as OPA does: null, booleans, numbers, strings, arrays,
    objects; strings by their UTF-8 bytes (code point order), arrays item by item, then by
    length; objects by their sorted keys and values, then by size."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, list):
        return (4, [opa_order(v) for v in value])
    return (5, [(k, opa_order(value[k])) for k in sorted(value)])


HOST_BUILTINS: dict[str, Callable[..., Any]] = {
    "hex.encode": hex_encode,
    "json.marshal_with_options": marshal_with_options,
}
