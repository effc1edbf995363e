"""What parsing bounds besides size and depth: the text YAML aliases expand to, the nodes of all a
file's documents, and integers too long for Python to write (JSON and YAML alike)."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.collect import yaml as collect_yaml
from gate.collect.base import CollectError
from gate.collect.parse import parse_bytes
from gate.collect.read import MAX_INT_DIGITS


def text_bomb(string_bytes: int = 100_000, fan_out: int = 100, levels: int = 2) -> str:
    """A string anchored once and aliased `fan_out` times per level: a ~`string_bytes` file
    whose few nodes expand to string_bytes * fan_out**levels bytes of text."""
    lines = [f"s0: &s0 {'x' * string_bytes}"]
    for level in range(1, levels + 1):
        lines.append(f"s{level}: &s{level} [{', '.join([f'*s{level - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


def loaders() -> list[type]:
    python_loader, fast_loader = collect_yaml._loaders()
    return [python_loader] + ([fast_loader] if fast_loader is not None else [])


@pytest.mark.parametrize("loader", loaders(), ids=lambda c: c.__name__)
def test_aliases_expanding_to_a_gigabyte_of_text_are_refused(loader: type) -> None:
    text = text_bomb()  # 100 KB of text, ~10,000 nodes, 1 GB once expanded
    assert len(text) < 110_000
    with pytest.raises(CollectError, match=r"YAML aliases expand to more than 67108864 bytes") as caught:
        collect_yaml._parse_yaml_with(loader, text, "bomb.yaml")
    assert caught.value.path == "bomb.yaml" and "alias bomb" in caught.value.message


def test_the_text_bound_is_the_file_size_limit() -> None:
    text = text_bomb(string_bytes=1000, fan_out=30, levels=2)  # 900,000 bytes expanded
    data = text.encode()
    assert parse_bytes(data, "ok.yaml").documents[0]["s2"][0][0] == "x" * 1000
    with pytest.raises(CollectError, match="more than 800000 bytes"):
        parse_bytes(data, "bomb.yaml", max_bytes=800_000)


def test_multibyte_text_counts_in_utf8_bytes() -> None:
    text = "a: &a ééééé\nb: [*a, *a, *a, *a]\n"  # keys 2 bytes, values 5 x 10 bytes (25 characters)
    with pytest.raises(CollectError, match="more than 51 bytes"):
        parse_bytes(text.encode(), "u.yaml", max_bytes=51)
    assert parse_bytes(text.encode(), "u.yaml", max_bytes=52).documents == (
        {"a": "é" * 5, "b": ["é" * 5] * 4},
    )


def test_aliases_within_the_bounds_give_pyyamls_values() -> None:
    text = "base: &b {name: x, tags: [a, b]}\nitems: [*b, *b, {<<: *b, name: y}]\n"
    assert parse_bytes(text.encode(), "ok.yaml").documents == (yaml.safe_load(text),)


def test_the_bounds_hold_for_all_documents_of_a_file() -> None:
    """Each document expands to 10**5 nodes (under MAX_YAML_NODES); 30 of them, together, do not."""
    doc = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcd", "bcde", strict=True)
    )
    one = parse_bytes(doc.encode(), "one.yaml")
    assert len(one.documents) == 1
    with pytest.raises(CollectError, match="more than 2000000 nodes"):
        parse_bytes(("---\n" + doc).encode() * 30, "many.yaml")
    small = "---\nx: &s " + "y" * 1000 + "\nz: [*s, *s, *s, *s]\n"
    with pytest.raises(CollectError, match="more than 40000 bytes"):
        parse_bytes(small.encode() * 10, "many.yaml", max_bytes=40_000)


@pytest.mark.parametrize(
    "scalar",
    [
        "1" * (MAX_INT_DIGITS + 1),
        "-" + "9" * 5000,
        "0x" + "f" * 4000,  # 4,817 decimal digits, read without Python's limit
        "0b1" + "0" * 20_000,
        "1_" * 5000,  # 5000 digits
        "1" + ":10" * 5000,  # base 60
    ],
    ids=["4301 digits", "-5000 digits", "hex", "binary", "underscores", "sexagesimal"],
)
@pytest.mark.parametrize("loader", loaders(), ids=lambda c: c.__name__)
def test_a_yaml_integer_too_long_to_write_is_refused(loader: type, scalar: str) -> None:
    text = f"apiVersion: v1\nmetadata:\n  size: {scalar}\n"
    with pytest.raises(
        CollectError, match=f"YAML holds an integer of more than {MAX_INT_DIGITS} digits at line 3"
    ):
        collect_yaml._parse_yaml_with(loader, text, "big.yaml")


def test_long_yaml_integers_within_the_bound_are_kept() -> None:
    for scalar, value in (
        ("9" * MAX_INT_DIGITS, int("9" * MAX_INT_DIGITS)),
        ("0x" + "f" * 3500, 16**3500 - 1),
        ("-0b" + "1" * 5000, -(2**5000 - 1)),
        ("1_000", 1000),
        ("'" + "1" * 5000 + "'", "1" * 5000),
    ):
        assert parse_bytes(f"n: {scalar}\n".encode(), "n.yaml").documents == ({"n": value},)


@pytest.mark.parametrize(
    "text",
    [
        '{"version": ' + "1" * 5000 + "}",
        '{"a": [1, -' + "7" * (MAX_INT_DIGITS + 1) + "]}",
        '{"a": 1}\n{"b": ' + "2" * 5000 + "}\n",  # JSON Lines
    ],
    ids=["json", "json in a list", "jsonl"],
)
def test_a_json_integer_too_long_to_read_is_refused(text: str) -> None:
    with pytest.raises(
        CollectError, match=f"JSON holds an integer of more than {MAX_INT_DIGITS} digits"
    ) as caught:
        parse_bytes(text.encode(), "big.json")
    assert caught.value.path is not None and caught.value.path.startswith("big.json")


def test_long_json_integers_within_the_bound_are_kept() -> None:
    text = '{"n": ' + "8" * MAX_INT_DIGITS + "}"
    assert parse_bytes(text.encode(), "n.json").documents == ({"n": int("8" * MAX_INT_DIGITS)},)


# Every spelling of NaN and the infinities a JSON or YAML text can hold, and where it can stand.
NON_FINITE_JSON = ["NaN", "Infinity", "-Infinity", "1e999", "-1.5E+400"]
NON_FINITE_YAML = [".nan", ".NaN", ".inf", "-.Inf", "+.INF", "1.0e+999", "-2.5e+400"]


def _holds_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(k) or _holds_non_finite(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_non_finite(v) for v in value)
    return False


@pytest.mark.parametrize("token", NON_FINITE_JSON)
@pytest.mark.parametrize("long_number", [False, True], ids=["short", "with-a-20-digit-integer"])
def test_json_refuses_nan_and_infinities_naming_the_file(token: str, long_number: bool) -> None:
    """orjson refuses them and the json module, which reads them, now refuses them too: before,
    the input document held NaN and the refusal came later, without the file's name."""
    extra = ', "n": 12345678901234567890' if long_number else ""
    data = f'{{"bomFormat": "CycloneDX", "score": [1.5, {token}]{extra}}}'.encode()
    with pytest.raises(CollectError, match="not a JSON number") as caught:
        parse_bytes(data, "bom.json")
    assert caught.value.path == "bom.json" and "\n" not in caught.value.one_line()


@pytest.mark.parametrize("loader", loaders(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("token", NON_FINITE_YAML)
def test_yaml_spells_nan_and_infinities_as_strings(loader: type, token: str) -> None:
    """A YAML float JSON cannot hold is kept as its YAML spelling, a string, as a key and as a
    value, on both parsers (and the one without aliases)."""
    text = f"a: {token}\nb: [{token}, 1.5]\n{token}: key\nc: &x {{d: {token}}}\nd: *x\n"
    for body in (text, text.replace("&x ", "").replace("*x", "{}")):
        docs, _, _ = collect_yaml._parse_yaml_with(loader, body, "x.yaml")
        assert not _holds_non_finite(docs), docs
        assert docs[0]["a"] in {".nan", ".inf", "-.inf"} and docs[0]["b"][1] == 1.5


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([*NON_FINITE_YAML, "1.5", "x", "null", "[1, .nan]", "{k: -.inf}", "{.inf: 2}"]),
        min_size=1,
        max_size=8,
    )
)
def test_no_parsed_yaml_holds_a_non_finite_float(tokens: list[str]) -> None:
    """What gate.input.canonical_bytes relies on in leaving the search for NaN out."""
    text = (
        "".join(f"k{i}: {t}\n" for i, t in enumerate(tokens)) + "---\n" + "".join(f"- {t}\n" for t in tokens)
    )
    parsed = parse_bytes(text.encode(), "x.yaml")
    assert not _holds_non_finite(list(parsed.documents))
