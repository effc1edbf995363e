"""audit.record.canonical gives RFC 8785 bytes, whichever writer it picks."""

from __future__ import annotations

import random
from typing import Any

import pytest
import rfc8785

from audit.errors import AuditError
from audit.record import canonical

CHARS = (
    [chr(c) for c in range(0x20)]
    + list('"\\/aZ09 ~\x7f')
    + ["é", "\u2028", "\ufb01", "\uffff", "😀", "\U0010ffff"]
)
NUMBERS = [0, -1, 1, 2**53 - 1, -(2**53 - 1), 10**15, True, False, None, 0.5, 1e-7, 1e21, -0.0, 100.0]


def text(rng: random.Random) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 6)))


def doc(rng: random.Random, level: int = 0, floats: bool = True) -> Any:
    roll = rng.random()
    if level > 4 or roll < 0.4:
        pool = NUMBERS if floats else [n for n in NUMBERS if not isinstance(n, float)]
        return rng.choice(pool) if rng.random() < 0.5 else text(rng)
    if roll < 0.7:
        return [doc(rng, level + 1, floats) for _ in range(rng.randint(0, 4))]
    return {text(rng): doc(rng, level + 1, floats) for _ in range(rng.randint(0, 4))}


@pytest.mark.parametrize("floats", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_same_bytes_as_rfc8785(seed: int, floats: bool) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        value = doc(rng, floats=floats)
        assert canonical(value) == rfc8785.dumps(value), value


def test_keys_beyond_the_bmp_sort_by_utf16() -> None:
    value: Any = {"😀": 1, "\ufb01": 2, "a": {"\U0010ffff": 0, "\uffff": 1}}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("😀".encode()) < canonical(value).index("ﬁ".encode())  # D83D < FB01


@pytest.mark.parametrize("bad", [2**53, -(2**53), float("nan"), "\ud800", {1: "x"}, b"x"])
def test_what_jcs_refuses_is_an_audit_error(bad: Any) -> None:
    with pytest.raises(AuditError, match="cannot be canonicalised"):
        canonical({"k": [bad]})
