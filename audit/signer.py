"""Record signers: a local ECDSA P-256 key, or sigstore keyless with the CI's ambient OIDC token.

Both sign the record's canonical statement bytes as a DSSE envelope and give a sigstore bundle
v0.3. A signer that cannot sign raises SignerError; the gate fails closed on it wherever the
environment blocks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from audit.envelope import key_bundle, pae
from audit.errors import AuditError
from audit.keys import (
    RECORD_KEY,
    RECORD_PUB,
    RecordKey,
    generate_record_key,
    load_record_key,
    record_key_pem,
    write_private,
)
from audit.record import PAYLOAD_TYPE

SIGNERS = ("local", "sigstore")
DEFAULT_KEY_DIR = Path(".gate") / "keys"
NO_TOKEN_HINT = (
    "in GitHub Actions grant `permissions: id-token: write`; in GitLab declare "
    "`id_tokens: SIGSTORE_ID_TOKEN: {aud: sigstore}`; or use `--signer local`"
)


class SignerError(AuditError):
    """The configured signer cannot sign."""


class RecordSigner(Protocol):
    """Signs a record's statement bytes into a bundle."""

    @property
    def kind(self) -> str:
        """`local` or `sigstore`."""
        ...

    def sign(self, payload: bytes) -> dict[str, Any]:
        """The sigstore bundle v0.3 (as a JSON object) of a DSSE envelope over payload."""
        ...


@dataclass(frozen=True)
class LocalSigner:
    """Signs with a local ECDSA P-256 key."""

    key: RecordKey
    kind: str = "local"

    def sign(self, payload: bytes) -> dict[str, Any]:
        """A DSSE envelope over payload, signed with the key, in a bundle with the key's id."""
        signature = self.key.sign(pae(PAYLOAD_TYPE, payload))
        return key_bundle(PAYLOAD_TYPE, payload, signature, self.key.keyid)


@dataclass(frozen=True)
class SigstoreSigner:
    """Sigstore keyless: a Fulcio certificate for the CI's OIDC identity, logged in Rekor."""

    token: str | None = None
    staging: bool = False
    kind: str = "sigstore"

    def sign(self, payload: bytes) -> dict[str, Any]:
        """Sign through the public-good sigstore instance (or staging) with the ambient token."""
        import json

        token = self.token or _ambient_token()
        if not token:
            raise SignerError("sigstore signing needs an OIDC token and none was found", NO_TOKEN_HINT)
        try:
            from sigstore.dsse import Statement
            from sigstore.models import ClientTrustConfig
            from sigstore.oidc import IdentityToken
            from sigstore.sign import SigningContext

            trust = ClientTrustConfig.staging() if self.staging else ClientTrustConfig.production()
            context = SigningContext.from_trust_config(trust)
            with context.signer(IdentityToken(token)) as signer:
                bundle = signer.sign_dsse(Statement(payload))
        except Exception as exc:  # network, token, Fulcio or Rekor: any failure means "not signed"
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise SignerError(f"sigstore signing failed: {text}", NO_TOKEN_HINT) from None
        doc = json.loads(bundle.to_json())
        if not isinstance(doc, dict):
            raise SignerError("sigstore returned a bundle that is not a JSON object")
        return doc


def _ambient_token() -> str | None:
    env = os.environ.get("SIGSTORE_ID_TOKEN")
    if env:
        return env
    try:
        from sigstore.oidc import detect_credential

        return detect_credential()
    except Exception:  # detection errors mean no ambient credential here
        return None


@dataclass(frozen=True)
class KeyChoice:
    """Where the local key comes from: --signing-key, GATE_SIGNING_KEY, the config, or the default."""

    key_file: Path | None
    env_pem: str | None

    def load(self, notices: list[str]) -> RecordKey:
        """Load the key; the default file is created on first use (with a notice)."""
        if self.env_pem:
            return load_record_key(self.env_pem.encode(), "GATE_SIGNING_KEY")
        path = self.key_file or DEFAULT_KEY_DIR / RECORD_KEY
        if path.exists():
            return _read_key(path)
        if self.key_file is not None:
            raise SignerError(
                f"{path}: signing key not found", "create one with `gate audit keygen --out DIR`"
            )
        key = generate_record_key()
        try:
            write_private(path, record_key_pem(key))
            (path.parent / RECORD_PUB).write_bytes(key.public_pem())
        except FileExistsError:
            return _read_key(path)  # another process created it first
        except OSError as exc:
            raise SignerError(f"{path}: cannot create a signing key ({exc.strerror})") from None
        notices.append(
            f"created a signing key for audit records at {path} (public key {path.parent / RECORD_PUB}); "
            "keep it safe, or configure one with --signing-key or GATE_SIGNING_KEY"
        )
        return key


def _read_key(path: Path) -> RecordKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignerError(f"{path}: cannot read the signing key ({exc.strerror})") from None
    return load_record_key(data, str(path))


def make_signer(kind: str, keys: KeyChoice, env: Mapping[str, str], notices: list[str]) -> RecordSigner:
    """The signer named by kind (`local` or `sigstore`)."""
    if kind == "local":
        return LocalSigner(keys.load(notices))
    if kind == "sigstore":
        return SigstoreSigner(token=env.get("SIGSTORE_ID_TOKEN") or None)
    raise SignerError(f"unknown signer {kind!r}", f"use one of {', '.join(SIGNERS)}")
