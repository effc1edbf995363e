"""audit.compact_json: one spelling per value, checked against orjson's plain path and rfc8785."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.compact import NotJSONError, compact_json
from gate import input as input_doc

I_JSON = 2**53 - 1
FINITE = st.floats(allow_nan=False, allow_infinity=False)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, float("1e400"), -float("1e400")])
# Keys within the BMP: rfc8785 orders keys by UTF-16 code units, compact_json by code point, and
# the two agree there.
BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF, codec="utf-8"), max_size=6)
TEXT = st.text(st.characters(codec="utf-8"), max_size=6)


def documents(scalars: st.SearchStrategy[Any], keys: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[Any]:
    """JSON values over the given scalars; lists and objects both below and above the size up to
    which compact_json writes a container member by member."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=40) | st.dictionaries(keys, inner, max_size=40),
        max_leaves=60,
    )


PLAIN = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | FINITE | TEXT
I_JSON_SCALARS = st.none() | st.booleans() | st.integers(-I_JSON, I_JSON) | TEXT


@settings(max_examples=300, deadline=None)
@given(documents(PLAIN))
def test_same_bytes_as_orjson_writing_the_whole_value(value: Any) -> None:
    """Writing small containers member by member changes nothing: the bytes are orjson's."""
    assert compact_json(value) == orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=300, deadline=None)
@given(documents(I_JSON_SCALARS, BMP_TEXT))
def test_same_bytes_as_rfc8785_without_floats(value: Any) -> None:
    assert compact_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(documents(I_JSON_SCALARS | FINITE, BMP_TEXT))
def test_same_numbers_as_rfc8785_with_floats(value: Any) -> None:
    """Floats are spelled as orjson spells them (`100.0`, where RFC 8785 writes `100`), but they
    read back as the same numbers, exactly."""
    # Read back as floats: rfc8785 writes 6.306233508041401e16 as the integer 63062335080414010.
    assert json.loads(compact_json(value), parse_int=float) == json.loads(
        rfc8785.dumps(value), parse_int=float
    )


@settings(max_examples=200, deadline=None)
@given(documents(PLAIN), FINITE, st.integers(2**64, 2**200) | st.integers(-(2**200), -(2**63) - 1))
def test_a_float_has_one_spelling_whatever_else_the_document_holds(
    value: Any, number: float, big: int
) -> None:
    """Before, a document with an integer beyond 64 bits went to the json module, which spells
    1e-07 where orjson spells 1e-7: one float, two digests."""
    alone = compact_json(number)
    assert compact_json([number, value]) == b"[" + alone + b"," + compact_json(value) + b"]"
    assert compact_json([number, big]) == b"[" + alone + b"," + str(big).encode() + b"]"


def test_small_floats_beside_a_big_integer() -> None:
    assert compact_json([1e-07, 2**70]) == b"[1e-7,1180591620717411303424]"
    assert (
        compact_json({"a": 1e-07, "b": [2**70] * 40})
        == b'{"a":1e-7,"b":[' + b",".join([b"1180591620717411303424"] * 40) + b"]}"
    )


@settings(max_examples=300, deadline=None)
@given(documents(I_JSON_SCALARS | FINITE), NON_FINITE, st.randoms(use_true_random=False))
def test_nan_and_infinities_are_refused_wherever_they_are(value: Any, bad: float, rng: Any) -> None:
    """Before, orjson wrote NaN and infinities as null: a changed input, digested as if it were
    the file's. rfc8785 refuses them too."""
    spliced = _splice(value, bad, rng)
    with pytest.raises(NotJSONError, match="not a JSON number"):
        compact_json(spliced)
    with pytest.raises(rfc8785.FloatDomainError):
        rfc8785.dumps(spliced)


def _splice(value: Any, bad: float, rng: Any) -> Any:
    """The value with `bad` put at a random place in it."""
    if isinstance(value, list) and value and rng.random() < 0.7:
        at = rng.randrange(len(value))
        return [*value[:at], _splice(value[at], bad, rng), *value[at + 1 :]]
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        return {**value, key: _splice(value[key], bad, rng)}
    return [value, bad] if rng.random() < 0.5 else {"k": bad, "v": value}


@settings(max_examples=300, deadline=None)
@given(documents(st.none() | st.booleans() | st.integers() | FINITE | TEXT))
def test_integers_of_any_size_are_written_exactly(value: Any) -> None:
    """rfc8785 refuses integers beyond I-JSON's range; compact_json keeps them, digit for digit."""
    assert json.loads(compact_json(value)) == value


@pytest.mark.parametrize("stamp", [1796083200000000000, 2**63 + 5, 2**64 + 5, -(2**63) - 1, 10**40])
def test_the_context_keeps_nanosecond_times_exact(stamp: int) -> None:
    document = {"context": {"time_ns": stamp, "repository": None}, "sboms": [{"n": i} for i in range(50)]}
    assert str(stamp).encode() in input_doc.canonical_bytes(document)
    assert json.loads(input_doc.canonical_bytes(document)) == document


@settings(max_examples=300, deadline=None)
@given(documents(PLAIN | st.integers(2**64, 2**90)))
def test_finite_writes_the_same_bytes_without_the_search(value: Any) -> None:
    """`finite=True` (the input document's encoding) leaves out the search for NaN only."""
    assert compact_json(value, finite=True) == compact_json(value)


def test_the_input_document_is_not_searched_for_nan() -> None:
    """The gate's parsers keep NaN out of it (tests/gate/collect/test_parse.py); a caller who
    vouches wrongly gets orjson's null, never a second spelling of a number."""
    document = {"context": {"repository": None}, "sboms": [{"score": math.nan, "n": 1e-07}]}
    assert (
        input_doc.canonical_bytes(document)
        == b'{"context":{"repository":null},"sboms":[{"n":1e-7,"score":null}]}'
    )
    with pytest.raises(NotJSONError):
        compact_json(document)


class _Float(float):
    pass


class _Dict(dict[str, Any]):
    pass


@pytest.mark.parametrize(
    "value",
    [
        (1, math.nan),
        _Float("nan"),
        [(math.inf,)] * 40,
        _Dict(a=math.nan),
        [{"k": (None, math.inf)}] * 40,
        [_Dict(a=[math.nan])] * 40,
    ],
)
def test_nan_is_refused_in_tuples_and_subclasses(value: Any) -> None:
    """orjson writes tuples and subclasses of dict and float too: they are checked alike."""
    with pytest.raises(NotJSONError):
        compact_json({"v": value})


def test_keys_that_are_not_strings_are_written_as_json_dumps_writes_them() -> None:
    assert compact_json({1: "a", "b": {None: 1, True: 2}, "c": [2**70]}) == (
        b'{"1":"a","b":{"null":1,"true":2},"c":[1180591620717411303424]}'
    )
    with pytest.raises(NotJSONError, match="two keys"):
        compact_json({1: "a", "1": "b"})


@pytest.mark.parametrize("bad", [b"x", "\ud800", {"k": {1, 2}}, {(1, 2): "x"}])
def test_what_is_not_json_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError):
        compact_json({"k": [bad]})
