"""Builtins a compiled policy asks its host for, with OPA's semantics.

OPA compiles most builtins into the Wasm module; the rest (its "SDK-dependent" builtins) are
imported, and the module names the ones it uses. These are the ones the shipped library needs.
A module that needs any other is not run on the Wasm host (see gate.engine.opa_wasm).
"""

from __future__ import annotations

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


HOST_BUILTINS: dict[str, Callable[..., Any]] = {
    "hex.encode": hex_encode,
}
