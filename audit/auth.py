"""Who may call the decision log service: bearer tokens with scopes, stored hashed.

A token is `ggl_<id>_<secret>`: the id finds its row, and only the sha256 of the whole text is
stored. A fast hash is right here: the secret is 256 random bits, so there is no dictionary to
try against a stolen digest, and every request checks one. Scopes: `append` (CI jobs adding
records), `read` (auditors and dashboards: records, stored inputs, decisions), `admin` (both).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from audit.errors import AuditError

SCOPES = ("append", "read", "admin")
PREFIX = "ggl_"
MAX_HEADER = 16 * 1024
_TOKEN = re.compile(r"ggl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class AuthError(AuditError):
    """A request refused: 401 (no or bad credentials) or 403 (not allowed to do this)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class StoredToken:
    """A token as the service stores it: never its text, only the text's digest."""

    id: str
    name: str
    digest: bytes
    scopes: frozenset[str]
    revoked: bool = False


@dataclass(frozen=True)
class Principal:
    """Who made a request, and what they may do."""

    kind: str
    subject: str
    scopes: frozenset[str]
    claims: dict[str, str] = field(default_factory=dict)


class TokenStore(Protocol):
    """Finds a stored token by its id."""

    def lookup(self, token_id: str) -> StoredToken | None:
        """The token of that id, or None."""
        ...


def token_digest(text: str) -> bytes:
    """sha256 of a token's text, as stored."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes, each one of SCOPES (AuditError names one that is not)."""
    out = frozenset(scopes)
    bad = sorted(out - set(SCOPES))
    if bad or not out:
        raise AuditError(
            f"unknown scope {bad[0]!r}" if bad else "a token needs a scope",
            "give --scope append, read or admin (repeatable)",
        )
    return out


def new_token(scopes: Iterable[str], name: str) -> tuple[str, StoredToken]:
    """A new token: its text (shown once) and what is stored of it."""
    token_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    text = f"{PREFIX}{token_id}_{secret}"
    return text, StoredToken(token_id, name, token_digest(text), check_scopes(scopes))


def allows(scopes: frozenset[str], scope: str) -> bool:
    """Whether scopes grant scope (admin grants every one)."""
    return scope in scopes or "admin" in scopes


class Authenticator:
    """Checks a request's Authorization header against the stored tokens."""

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    def authenticate(self, header: str | None) -> Principal:
        """The principal of a `Bearer <token>` header; AuthError(401) for anything else."""
        if header is None or not header.strip():
            raise AuthError(401, "missing bearer token")
        if len(header) > MAX_HEADER:
            raise AuthError(401, "the Authorization header is too long")
        scheme, _, presented = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise AuthError(401, "the Authorization header is not `Bearer <token>`")
        text = presented.strip()
        m = _TOKEN.fullmatch(text)
        stored = self.tokens.lookup(m.group(1)) if m else None
        if (
            m is None
            or stored is None
            or stored.revoked
            or not hmac.compare_digest(stored.digest, token_digest(text))
        ):
            raise AuthError(401, "unknown or revoked token")
        return Principal("token", f"token {stored.name} ({stored.id})", stored.scopes)

    def require(self, who: Principal, scope: str) -> None:
        """AuthError(403) unless who has scope."""
        if not allows(who.scopes, scope):
            raise AuthError(403, f"{who.subject} lacks the {scope} scope")
