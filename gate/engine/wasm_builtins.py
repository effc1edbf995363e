"""Builtins a compiled policy asks its host for, with OPA's semantics.

OPA compiles most builtins into the Wasm module; the rest (its "SDK-dependent" builtins) are
imported, and the module names the ones it uses. These are the ones the shipped library needs.
A module that needs any other is not run on the Wasm host (see gate.engine.opa_wasm).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any


class BuiltinFailure(Exception):
    """A builtin's arguments are outside what it accepts: the evaluation fails (strict errors)."""


def hex_encode(value: Any) -> str:
    """`hex.encode(x)`: the UTF-8 bytes of x as lower-case hexadecimal."""
    if not isinstance(value, str):
        raise BuiltinFailure(f"operand 1 must be string but got {_type_name(value)}")
    return value.encode("utf-8").hex()


# Go fmt verbs with their flags, width and precision: %[flags][width][.precision]verb.
_VERB_RE = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")


_END = object()


def sprintf(fmt: Any, args: Any) -> str:
    """`sprintf(format, values)` for the verbs %d, %s and %v of integers and strings, and %%.

    Anything else (floats, %x, %q, composite values, a verb without a value) is refused rather
    than printed differently from OPA.
    """
    if not isinstance(fmt, str):
        raise BuiltinFailure(f"operand 1 must be string but got {_type_name(fmt)}")
    if not isinstance(args, list):
        raise BuiltinFailure(f"operand 2 must be array but got {_type_name(args)}")
    values = iter(args)
    out: list[str] = []
    pos = 0
    for m in _VERB_RE.finditer(fmt):
        if "%" in fmt[pos : m.start()]:
            raise BuiltinFailure("a % without a verb")
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, precision, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        try:
            value = next(values)
        except StopIteration:
            raise BuiltinFailure(f"format {m.group(0)} has no value") from None
        out.append(_format(value, flags, width, precision, verb))
    if "%" in fmt[pos:]:
        raise BuiltinFailure("the format ends in a % without a verb")
    if next(values, _END) is not _END:
        raise BuiltinFailure("more values than verbs")
    out.append(fmt[pos:])
    return "".join(out)


def _format(value: Any, flags: str, width: str, precision: str | None, verb: str) -> str:
    if precision is not None or "#" in flags or " " in flags:
        raise BuiltinFailure(f"the host does not print %{flags}{width}.{precision}{verb}")
    if isinstance(value, bool) or value is None:
        raise BuiltinFailure(f"the host does not print {_type_name(value)} values")
    if verb == "d" and isinstance(value, int):
        text = f"{value:+d}" if "+" in flags else str(value)
    elif verb in ("s", "v") and isinstance(value, str):
        text = value
    elif verb == "v" and isinstance(value, int):
        text = str(value)
    else:
        raise BuiltinFailure(f"the host does not print %{verb} of {_type_name(value)}")
    if not width or len(text) >= int(width):
        return text
    pad = int(width) - len(text)
    if "-" in flags:
        return text + " " * pad
    if "0" in flags and verb in ("d", "v") and isinstance(value, int):
        sign = text[0] if text[0] in "+-" else ""
        return sign + "0" * pad + text[len(sign) :]
    return " " * pad + text


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
    "sprintf": sprintf,
}
