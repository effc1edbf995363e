"""Compact JSON bytes: sorted keys, no whitespace, UTF-8; the encoding inputs are digested and stored in.

One writer, orjson, spells every value, so a value has one spelling whatever else the document
holds: numbers in their shortest round-trip form (`1e-7`, `1e+16`, `100.0`), strings escaped as
RFC 8785 escapes them, keys sorted by code point. What orjson cannot take as it is is rewritten
for it, not written by another encoder: integers beyond 64 bits become their exact decimal digits
(the input document's context holds nanosecond times beyond I-JSON's range, and a file may hold
larger integers still), and keys that are not strings the strings json.dumps makes of them.

NaN and infinities have no JSON spelling and are refused (orjson would write them as `null`).
Finding them costs a walk of the document; it is only made where orjson wrote a `null` (the one
thing a NaN can turn into), and only over the part that holds it: containers of a few members are
written member by member, so a `null` in the small top of a document (the input document's
context) does not cost a walk of its large lists. A caller whose values cannot hold them (the
input document: the gate's parsers refuse NaN and infinities, or spell YAML's as strings) says
so with `finite=True`, and no walk is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS
# orjson's messages for what _for_orjson rewrites.
_REWRITTEN = ("Integer exceeds 64-bit range", "Dict key must be str")
# Containers with at most this many members are written member by member.
_SPLIT = 32


class NotJSONError(ValueError):
    """A value has no JSON spelling (NaN, an infinity, two keys that spell alike)."""


def compact_json(value: Any, *, finite: bool = False) -> bytes:
    """The compact encoding of a JSON value: sorted keys (by code point), no whitespace, UTF-8.

    Raises NotJSONError (a ValueError) for NaN and infinities, and TypeError for what is not a
    JSON value (bytes, a lone surrogate in a string, an unknown type). With `finite`, the caller
    vouches that `value` holds no NaN or infinity and it is not searched for them: the bytes are
    the same for every value that holds none (a NaN it does hold would be written as `null`).
    """
    if finite:
        return _dumps(value)
    pieces: list[bytes] = []
    _write(value, pieces)
    return b"".join(pieces)


def _write(value: Any, pieces: list[bytes]) -> None:
    kind = type(value)
    if kind is dict and len(value) <= _SPLIT:
        if not all(type(key) is str for key in value):
            value = _for_orjson(value)
        pieces.append(b"{")
        for i, key in enumerate(sorted(value)):
            pieces.append(b',"' if i else b'"')
            pieces.append(orjson.dumps(key)[1:])
            pieces.append(b":")
            _write(value[key], pieces)
        pieces.append(b"}")
    elif kind is list and len(value) <= _SPLIT:
        pieces.append(b"[")
        for i, item in enumerate(value):
            if i:
                pieces.append(b",")
            _write(item, pieces)
        pieces.append(b"]")
    elif isinstance(value, float):
        _check_float(value)
        pieces.append(orjson.dumps(value))
    else:
        text = _dumps(value)
        if isinstance(value, _CONTAINERS) and b"null" in text:
            _refuse_non_finite(value)
        pieces.append(text)


def _dumps(value: Any) -> bytes:
    """orjson's bytes for `value`, rewritten for it (_for_orjson) where it cannot take it as it is."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if str(exc) not in _REWRITTEN:
            raise
        return orjson.dumps(_for_orjson(value), option=_OPTIONS)


_CONTAINERS = (dict, list, tuple)  # what orjson writes as objects and arrays, subclasses included


def _refuse_non_finite(value: Any) -> None:
    """NotJSONError if the container holds NaN or an infinity anywhere."""
    stack: list[Iterable[Any]] = [(value,)]
    pop, push = stack.pop, stack.append
    while stack:
        for item in pop():
            kind = type(item)
            # The exact types first (the most of a document), then subclasses and tuples.
            if kind is str:
                continue
            if kind is dict:
                push(item.values())
            elif kind is list:
                push(item)
            elif kind is float:
                _check_float(item)
            elif kind is int or kind is bool or item is None:
                continue
            elif isinstance(item, dict):
                push(item.values())
            elif isinstance(item, (list, tuple)):
                push(item)
            elif isinstance(item, float):
                _check_float(item)


def _check_float(value: float) -> None:
    if not math.isfinite(value):
        raise NotJSONError(f"{value} is not a JSON number (NaN and infinities have no JSON spelling)")


def _for_orjson(value: Any) -> Any:
    """A copy of the value orjson can write: integers beyond 64 bits as fragments of their
    decimal digits, keys that are not strings as the strings json.dumps makes of them."""
    kind = type(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _key(key)
            if name in out:
                raise NotJSONError(f"two keys spell {name!r}")
            out[name] = _for_orjson(item)
        return out
    if kind is list:
        return [_for_orjson(item) for item in value]
    if kind is int and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value).encode("ascii"))
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if key is None or type(key) is bool:
        return "null" if key is None else "true" if key else "false"
    if type(key) is int:
        return str(key)
    if type(key) is float:
        _check_float(key)
        return orjson.dumps(key).decode("ascii")
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
