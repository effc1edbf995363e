"""Masking of secrets in input documents before they are stored beside their records.

A value is masked when its key looks like it names a secret (password, token, api key, private
key, ...), or when a string looks like a credential whatever its key (a PEM private key, a GitHub
or GitLab token, an AWS access key id, a JWT, a URL with a password).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

MASK = "[masked]"
SECRET_KEY = re.compile(
    r"(^|[_\-.])(pass(word|wd|phrase)?|secret|token|api[_\-]?key|apikey|private[_\-]?key|"
    r"client[_\-]?secret|credentials?|auth(orization)?|cookie|session[_\-]?id|access[_\-]?key)($|[_\-.])"
)
SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"
    r"|\bglpat-[A-Za-z0-9_\-]{20,}"
    r"|\b(AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|://[^/\s:@]+:[^/\s@]+@"
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (camelCase words count as separate words)."""
    return bool(SECRET_KEY.search(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()))


# SECRET_VALUE loosened so that a match in a string implies a match in its JSON text (escaping
# can remove a word boundary; `\s` is spelled out as the ASCII whitespace bytes, which both regex
# engines below read alike): a text without a match holds no string that SECRET_VALUE would mask.
_TEXT_VALUE_PATTERN = (
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"
    rb"|(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"
    rb"|glpat-[A-Za-z0-9_\-]{20,}"
    rb"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    rb"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    rb"|://[^/\x09-\x0d :@]+:[^/\x09-\x0d @]+@"
)
_TEXT_VALUE = re.compile(_TEXT_VALUE_PATTERN)
# Where a key SECRET_KEY flags must hold one of these, once its ASCII letters are lower-cased
# (camelCase splitting only adds separators between them). Of the characters whose lower case is
# ASCII, only the Kelvin sign (lower case: k) can make one of these words: a text holding it is
# masked without this test.
_KEY_WORDS: tuple[bytes, ...] = (
    b"pass",
    b"secret",
    b"token",
    b"api",
    b"private",
    b"credential",
    b"auth",
    b"cookie",
    b"session",
    b"access",
)
_KELVIN = "\u212a".encode()
_KEY_VERDICTS: dict[bytes, bool] = {}
# What every match of _TEXT_VALUE holds: substring searches rule most texts out faster than it.
_VALUE_MARKS = (
    b"-----BEGIN ",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"glpat-",
    b"AKIA",
    b"ASIA",
    b"eyJ",
    b"://",
)
# The key words in any case, or the Kelvin sign, for a one-pass scan.
_WORDS_PATTERN = rb"(?i:" + b"|".join(_KEY_WORDS) + rb")|" + re.escape(_KELVIN)

# (has a value match, the (start, end) of every key word or Kelvin sign found)
Scanner = tuple[Callable[[bytes], bool], Callable[[bytes], Iterator[tuple[int, int]]]]


def needs_mask(text: bytes) -> bool:
    """Whether `mask` could change the JSON value whose compact encoding is `text`.

    Judged from the text alone, in a few passes in C: no string may match SECRET_VALUE (checked
    loosely over the whole text), and no key may name a secret. For the keys, each occurrence of
    a word SECRET_KEY looks for is traced to the string around it; when a colon follows, that
    string is a key, judged by is_secret_key. Where the text is ambiguous (an escaped quote next
    to a word) the answer is True. False means the value can be stored as `text` unchanged.
    """
    has_value, words = scanner()
    if has_value(text):
        return True
    for start, end in words(text):
        if end - start == len(_KELVIN) and text[start:end] == _KELVIN:
            return True
        if _names_secret(text, start, end):
            return True
    return False


@functools.cache
def scanner() -> Scanner:
    """The text scans needs_mask makes: one pass each with RE2 (google-re2) where it is installed,
    else substring searches and Python's re."""
    try:
        import re2  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return python_scanner()
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # one character per byte, as Python's re
    value = re2.compile(_TEXT_VALUE_PATTERN, options)
    words = re2.compile(_WORDS_PATTERN, options)

    def has_value(text: bytes) -> bool:
        return value.search(text) is not None

    def spans(text: bytes) -> Iterator[tuple[int, int]]:
        return (m.span() for m in words.finditer(text))

    return has_value, spans


def python_scanner() -> Scanner:
    """The scans of needs_mask in the standard library alone."""

    def has_value(text: bytes) -> bool:
        return any(mark in text for mark in _VALUE_MARKS) and _TEXT_VALUE.search(text) is not None

    def spans(text: bytes) -> Iterator[tuple[int, int]]:
        at = text.find(_KELVIN)
        if at >= 0:
            yield at, at + len(_KELVIN)
        lowered = text.lower()
        for word in _KEY_WORDS:
            at = lowered.find(word)
            while at >= 0:
                yield at, at + len(word)
                at = lowered.find(word, at + 1)

    return has_value, spans


def _names_secret(text: bytes, start: int, end: int) -> bool:
    """Whether the string of `text` holding bytes start:end is a key that names a secret."""
    close = text.find(b'"', end)
    if close < 0 or text[close - 1] == 0x5C:  # an escaped quote: be safe
        return True
    if text[close + 1 : close + 2] != b":":
        return False  # a value: SECRET_VALUE judged those
    open_ = text.rfind(b'"', 0, start)
    if open_ < 0 or text[open_ - 1] == 0x5C:
        return True
    raw = text[open_ : close + 1]
    verdict = _KEY_VERDICTS.get(raw)
    if verdict is None:
        try:
            verdict = is_secret_key(json.loads(raw))
        except ValueError:
            verdict = True
        _KEY_VERDICTS[raw] = verdict
    return verdict


def mask(value: Any) -> Any:
    """A copy of a JSON value with secret-looking values replaced by `[masked]`."""
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(str(k)) and value[k] not in (None, "", [], {}) else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str) and SECRET_VALUE.search(value):
        return MASK
    return value
