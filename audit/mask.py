"""Masking of secrets in input documents before they are stored beside their records.

A value is masked when its key looks like it names a secret (password, token, api key, private
key, ...), or when a string looks like a credential whatever its key (a PEM private key, a GitHub
or GitLab token, an AWS access key id, a JWT, a URL with a password).
"""

from __future__ import annotations

import re
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
# can remove a word boundary, and `\s` of bytes is ASCII only): a text without a match holds no
# string that SECRET_VALUE would mask.
_TEXT_VALUE = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"
    rb"|(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"
    rb"|glpat-[A-Za-z0-9_\-]{20,}"
    rb"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    rb"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    rb"|://[^/\s:@]+:[^/\s@]+@"
)
_KEY_VERDICTS: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    verdict = _KEY_VERDICTS.get(key)
    if verdict is None:
        verdict = _KEY_VERDICTS[key] = is_secret_key(key)
    return verdict


def needs_mask(value: Any, text: bytes) -> bool:
    """Whether `mask(value)` would change anything; `text` is the value as JSON.

    Strings are judged from the text in one pass; keys by a walk over the mappings, each distinct
    key judged once. False means the value can be stored as `text` unchanged.
    """
    if _TEXT_VALUE.search(text):
        return True
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if _secret_key(str(k)) and v not in (None, "", [], {}):
                    return True
                if isinstance(v, dict | list):
                    push(v)
        elif isinstance(node, list):
            for v in node:
                if isinstance(v, dict | list):
                    push(v)
    return False


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
