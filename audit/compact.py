"""Compact JSON bytes: sorted keys, no whitespace, UTF-8; the encoding inputs are digested and stored in."""

from __future__ import annotations

import json
from typing import Any


def compact_json(value: Any, *, allow_nan: bool = True) -> bytes:
    """Sorted keys (by code point), no whitespace, UTF-8, strings escaped as the json module
    escapes them with ensure_ascii off, numbers in their shortest round-trip form.

    orjson writes it; what orjson refuses (integers beyond 64 bits, NaN) goes through the json
    module, which writes the same bytes for everything else. Raises TypeError or ValueError (a lone
    surrogate, NaN unless `allow_nan`) as the json module does.
    """
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        pass
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan
    ).encode("utf-8")
