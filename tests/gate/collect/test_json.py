"""The nesting depth of JSON texts, computed from the text, equals the depth of the parsed value."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from gate.collect.base import CollectError
from gate.collect.json import json_text_depth
from gate.collect.parse import parse_bytes
from gate.collect.read import MAX_DEPTH

TRICKY_STRINGS = ["", "a", "[", "]", "{", "}", '"', "\\", '\\"', "\\\\", "[\\", '"[', "é[", "\u2028", "\x00"]


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def random_value(rng: random.Random, level: int) -> Any:
    roll = rng.random()
    if level > 7 or roll < 0.3:
        return rng.choice([*TRICKY_STRINGS, 1, 2.5, None, True])
    if roll < 0.65:
        return [random_value(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(TRICKY_STRINGS): random_value(rng, level + 1) for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("seed", range(4))
def test_depth_from_text_equals_depth_of_value(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        value = random_value(rng, 0)
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=2)):
            assert json_text_depth(text) == depth(value), text


def deep_value(rng: random.Random, levels: int) -> Any:
    """Chains of containers `levels` deep with random siblings on the way."""
    if levels == 0:
        return rng.choice(TRICKY_STRINGS)
    inner = [deep_value(rng, levels - 1)] + [random_value(rng, 6) for _ in range(rng.randint(0, 2))]
    rng.shuffle(inner)
    return inner if rng.random() < 0.5 else {str(i): v for i, v in enumerate(inner)}


@pytest.mark.parametrize("levels", [15, 16, 17, 18, 40, 300])
def test_deep_texts_past_the_leaf_passes(levels: int) -> None:
    rng = random.Random(levels)
    for _ in range(20):
        value = [deep_value(rng, levels), deep_value(rng, rng.randint(0, levels))]
        assert json_text_depth(json.dumps(value)) == depth(value)


def test_brackets_inside_strings_do_not_count() -> None:
    assert json_text_depth('["[[[[", "]]]]", {"{": "}"}]') == 2
    assert json_text_depth('"[[[["') == 0
    assert json_text_depth('[["a\\\\"], "\\"[["]') == 2


def test_too_deep_json_is_refused_with_one_line() -> None:
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(CollectError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_bytes(text.encode(), "deep.json")
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_bytes(ok.encode(), "ok.json").documents


def test_what_orjson_refuses_gets_the_json_module_verdict() -> None:
    for n in (123456789012345678901234567890, 18446744073709551616, -9223372036854775809):
        (value,) = parse_bytes(b'{"n": %d}' % n, "big.json").documents
        assert value == {"n": n} and isinstance(value["n"], int)
    assert parse_bytes(b'{"s": "\\ud800"}', "surrogate.json").documents == ({"s": "\ud800"},)
    with pytest.raises(CollectError, match="malformed JSON at line 1 column"):
        parse_bytes(b'{"a": }', "bad.json")


@pytest.mark.parametrize("seed", range(2))
def test_texts_that_are_not_json_get_the_parsers_verdict(seed: int) -> None:
    """The depth is taken before the parse (so its copies of the text are gone before the tree
    exists): on a text that is not JSON it must neither raise nor hide the parser's message."""
    rng = random.Random(seed)
    for _ in range(300):
        text = json.dumps(random_value(rng, 0))
        cut = rng.randrange(len(text) + 1)
        broken = (text[:cut] + rng.choice(['"', "[", "}", "x", "\\"]) + text[cut:]).encode()
        assert isinstance(json_text_depth(broken), int)
        try:
            expected: Any = json.loads(broken)
        except ValueError:
            with pytest.raises(CollectError, match=r"malformed JSON|not valid UTF-8|nested"):
                parse_bytes(b'{"a": ' + broken + b"}", "broken.json")
        else:
            assert parse_bytes(b'{"a": ' + broken + b"}", "ok.json").documents == ({"a": expected},)


def test_a_stray_quote_is_malformed_json_not_a_crash() -> None:
    with pytest.raises(CollectError, match=r"malformed JSON at line 1"):
        parse_bytes(b'{"a": "b}', "quote.json")
