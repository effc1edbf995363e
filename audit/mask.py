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
