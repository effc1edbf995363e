"""Sigstore bundles: verified offline with sigstore-python against a pinned trust root.

Every bundle becomes a `signatures` item, whatever happens: a bundle that does not load, does not
verify, or has no artifact to check is reported with `verified: false` and the reason in `error`
(only a file that is not JSON at all is refused, by `gate.collect.files`).

Verification is cryptographic only: certificate chain to the trust root at the signing time, SCT,
transparency-log inclusion proof, checkpoint and promise, timestamps, and the signature over the
artifact or DSSE envelope. The signer's identity is not judged here: its SAN and OIDC issuer are read
from the leaf certificate and judged by the Rego policies (SIG-IDENTITY). The identity is what the
certificate claims; it is worth something only when `verified` is true.

Trust roots: `production` and `staging` are the roots embedded in the installed sigstore-python,
read directly from the package. The TUF cache under the user's home is never read or written, and
nothing is fetched: a gate runs after the change under review, which could have planted a cache
file, and verification must give the same answer on every machine. A pinned `trusted_root.json`
(or a `ClientTrustConfig` that holds one) is taken from the configured path.

Artifact pairing: `X.sigstore.json` / `X.sigstore` (and `X.intoto.jsonl`, `X.intoto.sigstore` for
attestation bundles) pair with the file `X` beside them. A `--artifact` file whose sha256 is the
digest the bundle signs (or one of its DSSE statement's subjects) wins over the file beside.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.collect.attestation import (
    decode_dsse_payload,
    parse_payload_json,
    sigstore_bundles_in,
    statement_subjects,
)
from gate.collect.base import CollectError, CollectSettings
from gate.collect.files import ParsedFile

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

KIND = "signature"
SECTION = "signatures"

KEY_SIGNED_ERROR = (
    "key-signed bundle: sigstore-python verifies only certificate bundles; verify with cosign --key"
)
INTOTO_ENTRY_HINT = (
    " (sigstore-python verifies DSSE bundles logged as dsse/0.0.1 or hashedrekord/0.0.2 only; "
    "this bundle's log entry is {kind}: verify it with `cosign verify-blob-attestation` or slsa-verifier)"
)

# File-name suffixes of a bundle, longest first; the artifact is the same name without the suffix.
BUNDLE_SUFFIXES = (".intoto.sigstore", ".sigstore.json", ".sigstore", ".intoto.jsonl", ".intoto.json")

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
_OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_OID_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"

_MAX_ERROR = 400
_HEX = frozenset("0123456789abcdef")

_verifiers: dict[str, Any] = {}
_file_digests: dict[tuple[str, int, int, int], str] = {}
_verifiers_lock = threading.Lock()


@dataclass(frozen=True)
class _Artifact:
    """The artifact a signature is checked against (or, unpaired, what the bundle says it signs)."""

    path: str | None
    sha256: str | None


class _CryptographicOnly:
    """A verification policy that accepts any signer: identity is judged by the Rego policies.

    Like sigstore's `UnsafeNoOp`, but silent: the gate reports the identity instead of checking it.
    """

    def verify(self, cert: Certificate) -> None:
        """Accept every certificate (chain, SCT and log checks still run in the Verifier)."""
        del cert


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file is a sigstore bundle (or an npm attestations response holding bundles)."""
    if parsed.syntax not in ("json", "jsonl"):
        return False
    return any(sigstore_bundles_in(doc) for doc in parsed.documents)


def collect(parsed: ParsedFile, settings: CollectSettings) -> list[dict[str, Any]]:
    """One signature item per bundle (per DSSE subject when no artifact file pairs with it).

    Raises CollectError only for configuration problems: an unreadable trust root or `--artifact`.
    """
    items: list[dict[str, Any]] = []
    for doc in parsed.documents:
        for bundle in sigstore_bundles_in(doc):
            items.extend(_collect_bundle(parsed, bundle, settings))
    return items


def _collect_bundle(
    parsed: ParsedFile, bundle: dict[str, Any], settings: CollectSettings
) -> list[dict[str, Any]]:
    material = bundle.get("verificationMaterial")
    material = material if isinstance(material, dict) else {}
    base = {
        "path": parsed.path,
        "sha256": parsed.sha256,
        "source": "sigstore",
        "identity": _identity(material),
        "tlog_entries": _tlog_entries(material),
        "trust_root": settings.trust_root,
    }
    envelope = bundle.get("dsseEnvelope")
    if isinstance(envelope, dict):
        return _collect_dsse(parsed, bundle, envelope, settings, base)
    return [_collect_message(parsed, bundle, settings, base)]


def _collect_message(
    parsed: ParsedFile, bundle: dict[str, Any], settings: CollectSettings, base: dict[str, Any]
) -> dict[str, Any]:
    """A bundle over an artifact's digest (`messageSignature`): verify it against that artifact."""
    signed = _message_digest(bundle)
    beside = _beside(parsed.path)
    artifact: _Artifact | None = None
    if signed is not None:
        artifact = _matching_artifact(settings, {signed})
    if artifact is None:
        artifact = _beside_artifact(beside)
    if artifact is None and signed is None and len(settings.artifacts) == 1:
        only = settings.artifacts[0]
        artifact = _Artifact(str(only), _artifact_sha256(only))

    error: str | None = _unverifiable(bundle)
    loaded = _load(bundle) if error is None else None
    if error is None and isinstance(loaded, str):
        error = loaded
    if error is None and artifact is None:
        error = _missing_artifact_error(parsed.path, beside, signed, settings)
    if error is None and artifact is not None and artifact.sha256 is not None:
        error = _verify_message(loaded, artifact.sha256, settings, base)
    shown = artifact or _Artifact(str(beside) if beside is not None else None, signed)
    return _item(base, shown, error)


def _collect_dsse(
    parsed: ParsedFile,
    bundle: dict[str, Any],
    envelope: dict[str, Any],
    settings: CollectSettings,
    base: dict[str, Any],
) -> list[dict[str, Any]]:
    """A bundle over a DSSE envelope: verify the envelope; the artifact is a paired file or the subjects."""
    subjects = _raw_subjects(envelope)
    subject_sha256 = {sha for s in subjects if (sha := _sha256_or_none(s["digest"].get("sha256")))}
    artifact = _matching_artifact(settings, subject_sha256) if subject_sha256 else None
    if artifact is None:
        artifact = _beside_artifact(_beside(parsed.path))

    error = _unverifiable(bundle)
    loaded = _load(bundle) if error is None else None
    if error is None and isinstance(loaded, str):
        error = loaded
    if error is None:
        error = _verify_dsse(loaded, settings, base)
    if error is None and artifact is not None and artifact.sha256 not in subject_sha256:
        error = (
            f"artifact {artifact.path} (sha256:{artifact.sha256}) is not a subject of the signed statement; "
            "pass the attested file with `--artifact FILE`"
        )
    if artifact is not None:
        return [_item(base, artifact, error)]
    if not subjects:
        return [_item(base, _Artifact(None, None), error)]
    return [
        _item(base, _Artifact(s["name"] or None, _sha256_or_none(s["digest"].get("sha256"))), error)
        for s in subjects
    ]


def _item(base: dict[str, Any], artifact: _Artifact, error: str | None) -> dict[str, Any]:
    return {
        **copy.deepcopy(base),
        "artifact": {"path": artifact.path, "sha256": artifact.sha256},
        "verified": error is None,
        "error": error,
    }


# --- what the bundle holds, read from its JSON (works even when sigstore cannot load it) -----------


def _unverifiable(bundle: dict[str, Any]) -> str | None:
    """Why this bundle cannot be verified here at all, before sigstore looks at it."""
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        return None
    has_cert = bool(material.get("certificate")) or bool(material.get("x509CertificateChain"))
    if "publicKey" in material and not has_cert:
        return KEY_SIGNED_ERROR
    return None


def _message_digest(bundle: dict[str, Any]) -> str | None:
    """The sha256 (hex) a messageSignature bundle signs, if it records one."""
    signature = bundle.get("messageSignature")
    digest = signature.get("messageDigest") if isinstance(signature, dict) else None
    if not isinstance(digest, dict) or digest.get("algorithm") not in ("SHA2_256", None):
        return None
    raw = digest.get("digest")
    if not isinstance(raw, str):
        return None
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value.hex() if len(value) == 32 else None


def _raw_subjects(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """The subjects of the statement in a DSSE envelope, or [] if the payload is not a statement."""
    try:
        statement = parse_payload_json(decode_dsse_payload(envelope), "DSSE payload")
    except (ValueError, CollectError):
        return []
    return statement_subjects(statement)


def _tlog_entries(material: dict[str, Any]) -> list[dict[str, Any]]:
    """Transparency-log entries as recorded in the bundle: index, integrated time (s), kind/version."""
    entries = material.get("tlogEntries")
    if not isinstance(entries, list):
        return []
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kind_version = entry.get("kindVersion")
        kind: str | None = None
        if isinstance(kind_version, dict):
            k, v = kind_version.get("kind"), kind_version.get("version")
            if isinstance(k, str) and isinstance(v, str):
                kind = f"{k}/{v}"
        integrated = int_or_none(entry.get("integratedTime"))
        out.append(
            {
                "log_index": int_or_none(entry.get("logIndex")),
                # Rekor v2 entries carry no integrated time (0 or absent): their time comes from a TSA.
                "integrated_time": integrated if integrated else None,
                "kind": kind,
            }
        )
    return out


def int_or_none(value: Any) -> int | None:
    """An integer from a JSON number or a decimal string (as Rekor writes them); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def keyless_identity(material: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (SAN, OIDC issuer) a bundle's leaf certificate claims; nulls when there is none."""
    found = _identity(material)
    return found["san"], found["issuer"]


def verify_keyless_dsse(data: bytes, trust_root: str, payload: bytes) -> str | None:
    """Verify a keyless DSSE bundle offline against a trust root; None when it verifies, else why.

    The signed payload must be `payload`. The signer's identity is the caller's to judge.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"bundle is not JSON ({exc})"
    bundle = _load(doc)
    if isinstance(bundle, str):
        return bundle
    settings = CollectSettings(trust_root=trust_root, base_dir=Path.cwd())
    try:
        verifier = verifier_for(settings)
        _, signed = verifier.verify_dsse(bundle, _CryptographicOnly())
    except CollectError as exc:
        return exc.one_line()
    except Exception as exc:  # every failure, of any kind, means "not verified" (fail closed)
        return f"verification failed: {_one_line(exc)}"
    return None if signed == payload else "the bundle signs another payload"


def _identity(material: dict[str, Any]) -> dict[str, str | None]:
    """Signer SAN and OIDC issuer claimed by the leaf certificate (nulls if there is none)."""
    none: dict[str, str | None] = {"san": None, "issuer": None}
    der = _leaf_der(material)
    if der is None:
        return none
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return none
    return {"san": _san(cert), "issuer": _issuer(cert)}


def _leaf_der(material: dict[str, Any]) -> bytes | None:
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


# --- artifacts -------------------------------------------------------------------------------------


def _beside(bundle_path: str) -> Path | None:
    """The artifact a bundle's file name points at (`X.sigstore.json` -> `X`), whether or not it exists."""
    path = Path(bundle_path)
    for suffix in BUNDLE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.with_name(path.name[: -len(suffix)])
    return None


def _beside_artifact(beside: Path | None) -> _Artifact | None:
    """The artifact beside the bundle, if that file exists; CollectError if it exists but cannot be read."""
    if beside is None or not beside.is_file():
        return None
    try:
        return _Artifact(str(beside), _sha256_file(beside))
    except OSError as exc:
        raise CollectError(
            f"cannot read the artifact {beside} beside the bundle ({exc.strerror})",
            "make the artifact readable, or pass the signed file with `--artifact FILE`",
            path=str(beside),
        ) from None


def _sha256_file(path: Path) -> str:
    """sha256 of a file, streamed; remembered per (path, inode, size, mtime) so each artifact is read once."""
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _file_digests.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _file_digests[key] = digest.hexdigest()
    return _file_digests[key]


def _artifact_sha256(path: Path) -> str:
    """sha256 of an explicit `--artifact` file, or CollectError naming it."""
    try:
        return _sha256_file(path)
    except OSError as exc:
        raise CollectError(
            f"--artifact {path}: cannot read ({exc.strerror})",
            "pass an existing, readable file with `--artifact`",
            path=str(path),
        ) from None


def _matching_artifact(settings: CollectSettings, digests: set[str]) -> _Artifact | None:
    """The first `--artifact` whose sha256 is one of `digests`."""
    for path in settings.artifacts:
        sha = _artifact_sha256(path)
        if sha in digests:
            return _Artifact(str(path), sha)
    return None


def _missing_artifact_error(
    bundle_path: str, beside: Path | None, signed: str | None, settings: CollectSettings
) -> str:
    digest = f" (sha256:{signed})" if signed else ""
    if settings.artifacts:
        given = ", ".join(str(p) for p in settings.artifacts)
        head = f"none of the --artifact files ({given}) is the signed artifact{digest}"
        if beside is not None:
            return f"{head}, and {beside} is not beside the bundle; pass the signed file with `--artifact`"
        return f"{head}; pass the signed file with `--artifact FILE`"
    if beside is not None:
        return (
            f"artifact {beside} not found beside the bundle{digest}; put it there or pass the signed file "
            "with `--artifact FILE`"
        )
    return (
        f"no artifact pairs with {Path(bundle_path).name}{digest}: name the bundle `X.sigstore.json` beside "
        "the artifact `X`, or pass the signed file with `--artifact FILE`"
    )


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value.lower()) <= _HEX


def _sha256_or_none(value: Any) -> str | None:
    return value.lower() if _is_sha256(value) else None


# --- sigstore ------------------------------------------------------------------------------------


def _quiet_sigstore() -> None:
    """Keep sigstore's warnings (e.g. about root CAs in old bundles) off stderr unless logging is set up."""
    import logging

    logger = logging.getLogger("sigstore")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


_PYDANTIC_NOISE = (
    (re.compile(r"\s*For further information visit \S+"), ""),
    (re.compile(r"\[type=([\w.]+), input_value=.*?, input_type=\w+\]"), r"[\1]"),
)


def _one_line(exc: BaseException) -> str:
    """An exception as one short line (pydantic's input echoes and help links removed)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for pattern, replacement in _PYDANTIC_NOISE:
        text = pattern.sub(replacement, text)
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _load(bundle: dict[str, Any]) -> Any:
    """A sigstore `Bundle`, or the reason it does not load (a str)."""
    _quiet_sigstore()
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(json.dumps(bundle))
    except Exception as exc:  # InvalidBundle, pydantic errors, bad certificates: all mean "does not load"
        return f"bundle does not load: {_one_line(exc).removeprefix('failed to load bundle: ')}"


def _failure(exc: BaseException, base: dict[str, Any]) -> str:
    message = f"verification failed: {_one_line(exc)}"
    kinds = [k for e in base["tlog_entries"] if isinstance(k := e["kind"], str) and k.startswith("intoto/")]
    if kinds:
        message += INTOTO_ENTRY_HINT.format(kind=kinds[0])
    return message


def _verify_message(
    bundle: Any, sha256_hex: str, settings: CollectSettings, base: dict[str, Any]
) -> str | None:
    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    verifier = verifier_for(settings)
    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256_hex))
    try:
        verifier.verify_artifact(hashed, bundle, _CryptographicOnly())
    except Exception as exc:  # every failure, of any kind, is an unverified signature (fail closed)
        return _failure(exc, base)
    return None


def _verify_dsse(bundle: Any, settings: CollectSettings, base: dict[str, Any]) -> str | None:
    verifier = verifier_for(settings)
    try:
        verifier.verify_dsse(bundle, _CryptographicOnly())
    except Exception as exc:  # every failure, of any kind, is an unverified signature (fail closed)
        return _failure(exc, base)
    return None


def verifier_for(settings: CollectSettings) -> Any:
    """The sigstore `Verifier` for the configured trust root, built once per root and reused.

    `production` / `staging`: the root embedded in sigstore-python (no network, no TUF cache).
    Otherwise a path (relative to `settings.base_dir`) to a `trusted_root.json` or a client trust
    config. Raises CollectError if the root cannot be loaded.
    """
    name = settings.trust_root
    if name in ("production", "staging"):
        key = name
        build = partial(_embedded_root, name)
    else:
        path = Path(name)
        if not path.is_absolute():
            path = settings.base_dir / path
        data = _read_root(path, name)
        key = f"file:{path.resolve()}:{hashlib.sha256(data).hexdigest()}"
        build = partial(_root_from_file, data, name)
    with _verifiers_lock:
        verifier = _verifiers.get(key)
        if verifier is None:
            verifier = _make_verifier(build(), name)
            _verifiers[key] = verifier
    return verifier


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
        raise CollectError(
            f"cannot read the {name} trust root embedded in sigstore-python: {_one_line(exc)}",
            "set `signatures.trust_root` in gate.yaml to the path of a pinned trusted_root.json",
            path=name,
        ) from None


def _read_root(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CollectError(
            f"trust root {path}: cannot read ({exc.strerror})",
            "set `signatures.trust_root` to production, staging, or the path of a trusted_root.json",
            path=shown,
        ) from None


def _root_from_file(data: bytes, shown: str) -> Any:
    """A TrustedRoot from a trusted_root.json, or from the root inside a ClientTrustConfig."""
    from sigstore.models import ClientTrustConfig, TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

    fix = "pin a trusted_root.json from the sigstore instance's TUF repository (`sigstore trust-instance`)"
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CollectError(f"trust root is not JSON: {exc}", fix, path=shown) from None
    media = doc.get("mediaType") if isinstance(doc, dict) else None
    try:
        if isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.clienttrustconfig"):
            return ClientTrustConfig.from_json(data.decode("utf-8")).trusted_root
        if isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.trustedroot"):
            return TrustedRoot(TrustedRootMessage.from_json(data))
    except Exception as exc:
        raise CollectError(f"trust root does not load: {_one_line(exc)}", fix, path=shown) from None
    raise CollectError(f"not a sigstore trusted root (mediaType {media!r})", fix, path=shown)


def _make_verifier(root: Any, shown: str) -> Any:
    from sigstore.verify import Verifier

    _quiet_sigstore()
    try:
        return Verifier(trusted_root=root)
    except Exception as exc:
        raise CollectError(
            f"trust root cannot verify anything: {_one_line(exc)}",
            "pin a complete trusted_root.json (it needs certificate authorities and transparency logs)",
            path=shown,
        ) from None
