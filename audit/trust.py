"""Sigstore trust roots and verifiers: what the audit package (keyless records) and the gate's
signature collectors verify sigstore bundles with.

Trust roots: `production` and `staging` are the roots embedded in the installed sigstore-python,
read directly from the package. The TUF cache under the user's home is never read or written, and
nothing is fetched: a gate runs after the change under review, which could have planted a cache
file, and verification must give the same answer on every machine. A pinned `trusted_root.json`
(or a `ClientTrustConfig` that holds one) is taken from the configured path.

Verification is cryptographic only (`CryptographicOnly`): certificate chain, SCT, transparency
log, timestamps and signature. Who signed is read from the leaf certificate (`bundle_identity`)
and judged by the caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
_OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_OID_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"

_MAX_ERROR = 400
_verifiers: dict[str, Any] = {}
_verifiers_lock = threading.Lock()


class TrustRootError(AuditError):
    """A trust root cannot be read, loaded or verify anything. ``root`` is the name it was given
    by (`production`, `staging` or the configured path)."""

    def __init__(self, message: str, remediation: str, root: str) -> None:
        super().__init__(message, remediation)
        self.root = root


class CryptographicOnly:
    """A verification policy that accepts any signer: the caller judges the identity.

    Like sigstore's `UnsafeNoOp`, but silent: the gate reports the identity instead of checking it.
    """

    def verify(self, cert: Certificate) -> None:
        """Accept every certificate (chain, SCT and log checks still run in the Verifier)."""
        del cert


def verifier_for(trust_root: str, base_dir: Path) -> Any:
    """The sigstore `Verifier` for a trust root, built once per root and reused.

    `production` / `staging`: the root embedded in sigstore-python (no network, no TUF cache).
    Otherwise a path (relative to `base_dir`) to a `trusted_root.json` or a client trust config.
    Raises TrustRootError if the root cannot be loaded.
    """
    name = trust_root
    if name in ("production", "staging"):
        key = name
        build = partial(_embedded_root, name)
    else:
        path = Path(name)
        if not path.is_absolute():
            path = base_dir / path
        data = _read_root(path, name)
        key = f"file:{path.resolve()}:{hashlib.sha256(data).hexdigest()}"
        build = partial(_root_from_file, data, name)
    with _verifiers_lock:
        verifier = _verifiers.get(key)
        if verifier is None:
            verifier = _make_verifier(build(), name)
            _verifiers[key] = verifier
    return verifier


def load_bundle(bundle: dict[str, Any]) -> Any:
    """A sigstore `Bundle` from its JSON object, or the reason it does not load (a str)."""
    quiet_sigstore()
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(json.dumps(bundle))
    except Exception as exc:  # InvalidBundle, pydantic errors, bad certificates: all mean "does not load"
        return f"bundle does not load: {sigstore_message(exc).removeprefix('failed to load bundle: ')}"


def verify_keyless_dsse(data: bytes, trust_root: str, payload: bytes) -> str | None:
    """Verify a keyless DSSE bundle offline against a trust root; None when it verifies, else why.

    The signed payload must be `payload`. The signer's identity is the caller's to judge. A
    relative trust root path is taken from the working directory.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"bundle is not JSON ({exc})"
    bundle = load_bundle(doc)
    if isinstance(bundle, str):
        return bundle
    try:
        verifier = verifier_for(trust_root, Path.cwd())
        _, signed = verifier.verify_dsse(bundle, CryptographicOnly())
    except TrustRootError as exc:
        return f"{exc.root}: {exc}. {exc.remediation}"
    except Exception as exc:  # every failure, of any kind, means "not verified" (fail closed)
        return f"verification failed: {sigstore_message(exc)}"
    return None if signed == payload else "the bundle signs another payload"


def keyless_identity(material: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (SAN, OIDC issuer) a bundle's leaf certificate claims; nulls when there is none."""
    found = bundle_identity(material)
    return found["san"], found["issuer"]


def bundle_identity(material: dict[str, Any]) -> dict[str, str | None]:
    """Signer SAN and OIDC issuer claimed by the leaf certificate of a bundle's
    `verificationMaterial` (nulls if there is none). What it claims: worth something only once
    the bundle verifies."""
    none: dict[str, str | None] = {"san": None, "issuer": None}
    der = leaf_der(material)
    if der is None:
        return none
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return none
    return {"san": _san(cert), "issuer": _issuer(cert)}


def leaf_der(material: dict[str, Any]) -> bytes | None:
    """The DER bytes of a bundle's signing (leaf) certificate, or None when it has none."""
    raw: Any = None
    cert = material.get("certificate")
    if isinstance(cert, dict):
        raw = cert.get("rawBytes")
    chain = material.get("x509CertificateChain")
    if raw is None and isinstance(chain, dict):
        certs = chain.get("certificates")
        if isinstance(certs, list) and certs and isinstance(certs[0], dict):
            raw = certs[0].get("rawBytes")
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def _san(cert: Certificate) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import ObjectIdentifier

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for kind in (x509.UniformResourceIdentifier, x509.RFC822Name):
        values = names.get_values_for_type(kind)
        if values:
            return str(values[0])
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id == ObjectIdentifier(_OID_OTHERNAME_SAN):
            return _der_utf8(other.value)
    return None


def _issuer(cert: Certificate) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import ObjectIdentifier

    for oid, der in ((_OID_ISSUER_V2, True), (_OID_ISSUER_V1, False)):
        try:
            ext = cert.extensions.get_extension_for_oid(ObjectIdentifier(oid)).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        raw = getattr(ext, "value", None)
        if not isinstance(raw, bytes):
            continue
        text = _der_utf8(raw) if der else _utf8(raw)
        if text:
            return text
    return None


def _der_utf8(raw: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0C); fall back to the raw bytes as UTF-8."""
    if len(raw) >= 2 and raw[0] == 0x0C:
        length, start = raw[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
        return _utf8(raw[start : start + length])
    return _utf8(raw)


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8") or None
    except UnicodeDecodeError:
        return None


def quiet_sigstore() -> None:
    """Keep sigstore's warnings (e.g. about root CAs in old bundles) off stderr unless logging is set up."""
    import logging

    logger = logging.getLogger("sigstore")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


_PYDANTIC_NOISE = (
    (re.compile(r"\s*For further information visit \S+"), ""),
    (re.compile(r"\[type=([\w.]+), input_value=.*?, input_type=\w+\]"), r"[\1]"),
)


def sigstore_message(exc: BaseException) -> str:
    """An exception from sigstore-python as one short line. A bundle that fails sigstore's model
    (a pydantic validation error, also when wrapped) is said in words: which field, what is wrong."""
    words = _validation_words(exc)
    if words is not None:
        prefix = "failed to load bundle: " if str(exc).startswith("failed to load bundle") else ""
        return _shorten(prefix + words)
    text = " ".join(str(exc).split()) or type(exc).__name__
    for pattern, replacement in _PYDANTIC_NOISE:
        text = pattern.sub(replacement, text)
    return _shorten(text)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _validation_words(exc: BaseException) -> str | None:
    """`verificationMaterial.tlogEntries[0].inclusionProof is missing` for the first problem of a
    pydantic ValidationError in `exc`'s chain (and how many more), or None when there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        errors = getattr(current, "errors", None)
        if type(current).__name__ == "ValidationError" and callable(errors):
            try:
                problems = list(errors())
            except Exception:  # not pydantic's errors(); fall back to the text
                return None
            if not problems:
                return None
            first = problems[0]
            where = "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.get("loc", ())
            ).lstrip(".")
            what = "is missing" if first.get("type") == "missing" else f"is invalid ({first.get('msg', '')})"
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            return f"the bundle's {where or 'content'} {what}{more}"
        current = current.__cause__ or current.__context__
    return None


def _embedded_root(name: str) -> Any:
    """The production or staging trusted root shipped inside sigstore-python."""
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

    try:
        from sigstore._internal.tuf import DEFAULT_TUF_URL, STAGING_TUF_URL
        from sigstore._utils import read_embedded

        url = DEFAULT_TUF_URL if name == "production" else STAGING_TUF_URL
        data = read_embedded("trusted_root.json", url)
        return TrustedRoot(TrustedRootMessage.from_json(data))
    except Exception as exc:  # a sigstore-python that no longer embeds roots this way
        raise TrustRootError(
            f"cannot read the {name} trust root embedded in sigstore-python: {sigstore_message(exc)}",
            "set `signatures.trust_root` in gate.yaml to the path of a pinned trusted_root.json",
            name,
        ) from None


def _read_root(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustRootError(
            f"trust root {path}: cannot read ({exc.strerror})",
            "set `signatures.trust_root` to production, staging, or the path of a trusted_root.json",
            shown,
        ) from None


def _root_from_file(data: bytes, shown: str) -> Any:
    """A TrustedRoot from a trusted_root.json, or from the root inside a ClientTrustConfig."""
    from sigstore.models import ClientTrustConfig, TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

    fix = "pin a trusted_root.json from the sigstore instance's TUF repository (`sigstore trust-instance`)"
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustRootError(f"trust root is not JSON: {exc}", fix, shown) from None
    media = doc.get("mediaType") if isinstance(doc, dict) else None
    try:
        if isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.clienttrustconfig"):
            return ClientTrustConfig.from_json(data.decode("utf-8")).trusted_root
        if isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.trustedroot"):
            return TrustedRoot(TrustedRootMessage.from_json(data))
    except Exception as exc:
        raise TrustRootError(f"trust root does not load: {sigstore_message(exc)}", fix, shown) from None
    raise TrustRootError(f"not a sigstore trusted root (mediaType {media!r})", fix, shown)


def _make_verifier(root: Any, shown: str) -> Any:
    from sigstore.verify import Verifier

    quiet_sigstore()
    try:
        return Verifier(trusted_root=root)
    except Exception as exc:
        raise TrustRootError(
            f"trust root cannot verify anything: {sigstore_message(exc)}",
            "pin a complete trusted_root.json (it needs certificate authorities and transparency logs)",
            shown,
        ) from None
