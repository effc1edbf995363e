"""audit.mask: needs_mask says yes to every document mask would change, for every entry of the
pattern tables (KEY_SECRETS, VALUE_SECRETS), with either scanner."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import mask as masking
from audit.compact import compact_json
from audit.mask import KEY_SECRETS, MASK, VALUE_SECRETS, mask, needs_mask

CHARS = st.characters(codec="utf-8")
# Characters JSON escapes or that end a word, beside ordinary ones.
AROUND = st.text(
    st.sampled_from(['"', "\\", "\n", "\t", "\x01", " ", "/", ":", "@", "é", "K", "_"]) | CHARS, max_size=4
)
SEPARATORS = st.sampled_from(["_", "-", ".", ""])


def _value_secret(index: int) -> st.SearchStrategy[str]:
    return st.from_regex(VALUE_SECRETS[index].pattern, fullmatch=True, alphabet=CHARS)


VALUE_SECRET = st.integers(0, len(VALUE_SECRETS) - 1).flatmap(_value_secret)


@st.composite
def secret_keys(draw: st.DrawFn) -> str:
    """A key with a word of KEY_SECRETS in it: in any case, camelCase or separated, sometimes
    with the Kelvin sign for a k."""
    entry = draw(st.sampled_from(KEY_SECRETS))
    word = draw(st.from_regex(entry.pattern, fullmatch=True, alphabet=st.characters(max_codepoint=0x7F)))
    sep = draw(SEPARATORS)
    if sep:
        word = draw(st.sampled_from([word, word.upper(), word.title(), word.capitalize()]))
        before = draw(st.sampled_from(["", "db", "x1", "GitHub"]))
        after = draw(st.sampled_from(["", "file", "Value", "2"]))
    else:  # camelCase: the word starts with a capital after a lower-case letter, and ends in one
        word = word.capitalize()
        before = draw(st.sampled_from(["", "my", "db2"]))
        after = draw(st.sampled_from(["", "File", "Value"]))
    if draw(st.booleans()):
        word = word.replace("k", "\u212a").replace("K", "\u212a")
    return sep.join(part for part in (before, word, after) if part)


STRINGS = (
    st.text(CHARS, max_size=8)
    | st.builds(lambda a, s, b: a + s + b, AROUND, VALUE_SECRET, AROUND)
    # near misses: a mark with too little after it
    | st.builds(lambda v, t: v.marks[0] + t, st.sampled_from(VALUE_SECRETS), st.text("aZ9_-.", max_size=10))
)
KEYS = st.text(CHARS, max_size=6) | secret_keys() | st.builds(lambda a, b: a + b, AROUND, secret_keys())
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | STRINGS
)
DOCUMENTS: st.SearchStrategy[Any] = st.recursive(
    SCALARS | st.just([]) | st.just({}) | st.just(""),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(params=["re2", "python"], autouse=True)
def scans(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with both scanners."""
    if request.param == "python":
        monkeypatch.setattr(masking, "scanner", masking.python_scanner)
    return str(request.param)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(DOCUMENTS)
def test_what_mask_would_change_needs_mask(value: Any) -> None:
    if mask(value) != value:
        assert needs_mask(compact_json(value)), value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(AROUND, VALUE_SECRET, AROUND)
def test_every_value_secret_is_masked_and_scanned_for(before: str, secret: str, after: str) -> None:
    """Each entry of VALUE_SECRETS masks what it describes (where a word starts and ends)."""
    value = {"notes": [f"{before} {secret} {after}"]}
    assert mask(value) == {"notes": [MASK]}
    assert needs_mask(compact_json(value))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret_keys())
def test_every_key_secret_is_masked_and_scanned_for(key: str) -> None:
    value = {"config": {key: "x"}}
    assert mask(value) == {"config": {key: MASK}}, key
    assert needs_mask(compact_json(value))
