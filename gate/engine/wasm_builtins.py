"""Builtins a compiled policy asks its host for, with OPA's semantics.

OPA compiles most builtins into the Wasm module; the rest (its "SDK-dependent" builtins) are
imported, and the module names the ones it uses. These are the ones the shipped library needs.
A module that needs any other is not run on the Wasm host (see gate.engine.opa_wasm).
"""

from __future__ import annotations

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


HOST_BUILTINS: dict[str, Callable[..., Any]] = {"hex.encode": hex_encode, "sprintf": sprintf}
