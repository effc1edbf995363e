"""Masking of secrets in input documents before they are stored beside their records.

A value is masked when its key looks like it names a secret (password, token, api key, private
key, ...), or when a string looks like a credential whatever its key (a PEM private key, a GitHub
or GitLab token, an AWS access key id, a JWT, a URL with a password).

What looks like a secret is said once, in KEY_SECRETS and VALUE_SECRETS. Everything else is made
from them: the patterns `mask` applies (SECRET_KEY, SECRET_VALUE), and the scans by which
`needs_mask` clears a document from its JSON text without decoding it (the same value patterns
without their word boundaries, the words every secret key holds, the marks every secret value
holds). A secret added to a table is masked and scanned for alike.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MASK = "[masked]"


@dataclass(frozen=True)
class KeySecret:
    """Keys naming a secret: `word` then `rest` (a regex), as a word of the key (words are split
    at `_`, `-`, `.` and camelCase, in any case)."""

    word: str
    rest: str = ""

    @property
    def pattern(self) -> str:
        """The regex of the name."""
        return re.escape(self.word) + self.rest


@dataclass(frozen=True)
class ValueSecret:
    """Strings holding a credential: one of `marks` then `rest` (a regex), anywhere in the string;
    `starts_word` / `ends_word`: only where a word starts or ends there."""

    what: str
    marks: tuple[str, ...]
    rest: str
    starts_word: bool = False
    ends_word: bool = False

    @property
    def pattern(self) -> str:
        """The regex of the credential, without word boundaries."""
        return "(?:" + "|".join(re.escape(m) for m in self.marks) + ")" + self.rest


KEY_SECRETS: tuple[KeySecret, ...] = (
    KeySecret("pass", "(?:word|wd|phrase)?"),
    KeySecret("secret"),
    KeySecret("token"),
    KeySecret("api", r"[_\-]?key"),
    KeySecret("private", r"[_\-]?key"),
    KeySecret("client", r"[_\-]?secret"),
    KeySecret("credential", "s?"),
    KeySecret("auth", "(?:orization)?"),
    KeySecret("cookie"),
    KeySecret("session", r"[_\-]?id"),
    KeySecret("access", r"[_\-]?key"),
)
# Whitespace is spelled out as ASCII (not `\s`), so that the pattern means the same on a string
# and on the bytes of its JSON text, where RE2 and Python's re read it alike.
VALUE_SECRETS: tuple[ValueSecret, ...] = (
    ValueSecret("a PEM private key", ("-----BEGIN ",), "[A-Z ]*PRIVATE KEY-----"),
    ValueSecret(
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        "[A-Za-z0-9_]{20,}",
        starts_word=True,
    ),
    ValueSecret("a GitLab token", ("glpat-",), r"[A-Za-z0-9_\-]{20,}", starts_word=True),
    ValueSecret("an AWS access key id", ("AKIA", "ASIA"), "[0-9A-Z]{16}", starts_word=True, ends_word=True),
    ValueSecret(
        "a JWT",
        ("eyJ",),
        r"[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        starts_word=True,
    ),
    ValueSecret("a URL with a password", ("://",), r"[^/\x09-\x0d :@]+:[^/\x09-\x0d @]+@"),
)

SECRET_KEY = re.compile(r"(^|[_\-.])(" + "|".join(k.pattern for k in KEY_SECRETS) + r")($|[_\-.])")
SECRET_VALUE = re.compile(
    "|".join(
        (r"\b" if v.starts_word else "") + v.pattern + (r"\b" if v.ends_word else "") for v in VALUE_SECRETS
    )
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (camelCase words count as separate words)."""
    return bool(SECRET_KEY.search(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()))


# The value patterns without their word boundaries, on bytes: a match in a string implies a match
# in its JSON text (escaping can remove a word boundary, and only adds characters the patterns'
# classes take), so a text without a match holds no string that SECRET_VALUE would mask.
_TEXT_VALUE_PATTERN = "|".join(v.pattern for v in VALUE_SECRETS).encode("ascii")
_TEXT_VALUE = re.compile(_TEXT_VALUE_PATTERN)
# Where a key SECRET_KEY flags must hold one of these, once its ASCII letters are lower-cased
# (camelCase splitting only adds separators between them). Of the characters whose lower case is
# ASCII, only the Kelvin sign (lower case: k) can make one of these words: a text holding it is
# masked without this test.
_KEY_WORDS: tuple[bytes, ...] = tuple(k.word.encode("ascii") for k in KEY_SECRETS)
_KELVIN = "\u212a".encode()
_KEY_VERDICTS: dict[bytes, bool] = {}
# What every match of _TEXT_VALUE holds: substring searches rule most texts out faster than it.
_VALUE_MARKS: tuple[bytes, ...] = tuple(m.encode("ascii") for v in VALUE_SECRETS for m in v.marks)
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
