"""Local keys: the ECDSA P-256 record-signing key and the log's Ed25519 checkpoint key.

`gate audit keygen --out DIR` writes `audit.key` (PKCS #8 PEM, mode 0600) and `audit.pub`
(SubjectPublicKeyInfo PEM, what auditors and cosign verify with), and the log key pair `log.key`
(a C2SP signed-note signer key, mode 0600) and `log.pub` (its verifier key).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from audit.errors import AuditError

RECORD_KEY = "audit.key"
RECORD_PUB = "audit.pub"
LOG_KEY = "log.key"
LOG_PUB = "log.pub"
LOG_KEY_PREFIX = "govgate.local/audit/"


@dataclass(frozen=True)
class RecordKey:
    """An ECDSA P-256 private key that signs records."""

    private: ec.EllipticCurvePrivateKey

    @property
    def keyid(self) -> str:
        """The key's DSSE id, as go-securesystemslib derives it (`SHA256:` SSH fingerprint)."""
        return keyid_of(self.private.public_key())

    @property
    def hint(self) -> str:
        """The key's sigstore bundle hint, as cosign writes it (base64 sha256 of the SPKI DER)."""
        return hint_of(self.private.public_key())

    def sign(self, data: bytes) -> bytes:
        """ECDSA-SHA256 signature (DER) over data."""
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def public_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class PublicKey:
    """An allowed record-signing public key, and where it came from."""

    key: ec.EllipticCurvePublicKey
    source: str
    keyid: str = ""

    def __post_init__(self) -> None:
        if not self.keyid:
            object.__setattr__(self, "keyid", keyid_of(self.key))

    def named_by(self, keyid: str) -> bool:
        """Whether a signature's keyid (or a bundle's hint) names this key, in any form govgate
        has written: the SSH fingerprint, cosign's base64 hint, or the hex SPKI digest of records
        written before (those are never rewritten, so they must keep verifying)."""
        return keyid in {self.keyid, hint_of(self.key), legacy_keyid_of(self.key)}

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether signature is this key's ECDSA-SHA256 signature over data."""
        try:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def keyid_of(key: ec.EllipticCurvePublicKey) -> str:
    """The DSSE keyid of a public key: `SHA256:` and the unpadded base64 sha256 of its SSH wire
    form, as `ssh-keygen -l` prints it. go-securesystemslib's DSSE verifier (in cosign and
    slsa-verifier) derives this id for a key it is given and skips a signature whose keyid differs.
    """
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    wire = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode("ascii").rstrip("=")


def hint_of(key: ec.EllipticCurvePublicKey) -> str:
    """The sigstore bundle hint of a public key: base64 of the sha256 of its SubjectPublicKeyInfo
    DER (the RFC 6962 key id the bundle format recommends, encoded as cosign and sigstore-go do)."""
    return base64.b64encode(hashlib.sha256(_spki(key)).digest()).decode("ascii")


def legacy_keyid_of(key: ec.EllipticCurvePublicKey) -> str:
    """The keyid of records written before keyids followed go-securesystemslib: the sha256 of the
    key's SubjectPublicKeyInfo DER, in hex."""
    return hashlib.sha256(_spki(key)).hexdigest()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_record_key() -> RecordKey:
    """A new P-256 key."""
    return RecordKey(ec.generate_private_key(ec.SECP256R1()))


def record_key_pem(key: RecordKey) -> bytes:
    """The private key as unencrypted PKCS #8 PEM."""
    return key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_record_key(pem: bytes, source: str) -> RecordKey:
    """A record key from PEM text; AuditError names the source when it is not a P-256 private key."""
    fix = "use a PEM ECDSA P-256 private key, e.g. from `gate audit keygen --out DIR`"
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{source}: not a usable PEM private key ({exc})", fix) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise AuditError(f"{source}: the key is not ECDSA P-256", fix)
    return RecordKey(key)


def load_public_key(path: Path) -> PublicKey:
    """An allowed public key from a PEM file (audit.pub), or AuditError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(
            f"{path}: cannot read ({exc.strerror})", "pass the audit.pub of the signing key"
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise AuditError(
            f"{path}: not a PEM public key ({exc})", "pass the audit.pub of the signing key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise AuditError(f"{path}: not an ECDSA public key", "pass the audit.pub of the signing key")
    return PublicKey(key, str(path))


def new_log_key() -> tuple[str, str]:
    """A new log key pair (signer key, verifier key); its name, the log's origin, is unique."""
    from audit.note import generate_key

    return generate_key(LOG_KEY_PREFIX + secrets.token_hex(6))


def write_private(path: Path, data: bytes) -> None:
    """Create path with mode 0600 holding data; fails if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def keygen(directory: Path) -> tuple[Path, Path, Path, Path]:
    """Write audit.key/audit.pub and log.key/log.pub into directory; refuses to overwrite."""
    paths = [directory / n for n in (RECORD_KEY, RECORD_PUB, LOG_KEY, LOG_PUB)]
    existing = [p for p in paths if p.exists()]
    if existing:
        raise AuditError(
            f"{existing[0]} exists: keygen never overwrites a key", "choose another --out folder"
        )
    key = generate_record_key()
    skey, vkey = new_log_key()
    write_private(paths[0], record_key_pem(key))
    paths[1].write_bytes(key.public_pem())
    write_private(paths[2], (skey + "\n").encode())
    paths[3].write_text(vkey + "\n", encoding="utf-8")
    return paths[0], paths[1], paths[2], paths[3]
