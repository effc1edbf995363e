"""Sigstore bundles: verified offline with sigstore-python against a pinned trust root.

Every bundle becomes a `signatures` item, whatever happens: a bundle that does not load, does not
verify, or has no artifact to check is reported with `verified: false` and the reason in `error`
(only a file that is not JSON at all is refused, by `gate.collect.parse`).

Verification is cryptographic only: certificate chain to the trust root at the signing time, SCT,
transparency-log inclusion proof, checkpoint and promise, timestamps, and the signature over the
artifact or DSSE envelope. The signer's identity is not judged here: its SAN and OIDC issuer are read
from the leaf certificate and judged by the Rego policies (SIG-IDENTITY). The identity is what the
certificate claims; it is worth something only when `verified` is true.

Trust roots and verifiers come from `audit.trust` (through the audit package's API): `production`
and `staging` are the roots embedded in the installed sigstore-python, nothing is fetched and no TUF
cache is read; a pinned `trusted_root.json` (or a `ClientTrustConfig`) is taken from the configured
path, relative to the config's folder.

Artifact pairing: `X.sigstore.json` / `X.sigstore` (and `X.intoto.jsonl`, `X.intoto.sigstore` for
attestation bundles) pair with the file `X` beside them. A `--artifact` file whose sha256 is the
digest the bundle signs (or one of its DSSE statement's subjects) wins over the file beside.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import CryptographicOnly, TrustRootError, bundle_identity, load_bundle, sigstore_message
from audit import verifier_for as trust_verifier
from gate.collect.attestation import (
    decode_dsse_payload,
    parse_payload_json,
    sigstore_bundles_in,
    statement_subjects,
)
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.parse import ParsedFile

KIND = "signature"
SECTIONS = ("signatures",)

KEY_SIGNED_ERROR = (
    "key-signed bundle: sigstore-python verifies only certificate bundles; verify with cosign --key"
)
INTOTO_ENTRY_HINT = (
    " (sigstore-python verifies DSSE bundles logged as dsse/0.0.1 or hashedrekord/0.0.2 only; "
    "this bundle's log entry is {kind}: verify it with `cosign verify-blob-attestation` or slsa-verifier)"
)

# File-name suffixes of a bundle, longest first; the artifact is the same name without the suffix.
BUNDLE_SUFFIXES = (".intoto.sigstore", ".sigstore.json", ".sigstore", ".intoto.jsonl", ".intoto.json")

_HEX = frozenset("0123456789abcdef")

_file_digests: dict[tuple[str, int, int, int], str] = {}


@dataclass(frozen=True)
class _Artifact:
    """The artifact a signature is checked against (or, unpaired, what the bundle says it signs)."""

    path: str | None
    sha256: str | None


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file is a sigstore bundle (or an npm attestations response holding bundles)."""
    if parsed.syntax not in ("json", "jsonl"):
        return False
    return any(sigstore_bundles_in(doc) for doc in parsed.documents)


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """One signature item per bundle (per DSSE subject when no artifact file pairs with it).

    Raises CollectError only for configuration problems: an unreadable trust root or `--artifact`.
    """
    items: list[dict[str, Any]] = []
    for doc in parsed.documents:
        for bundle in sigstore_bundles_in(doc):
            items.extend(_collect_bundle(parsed, bundle, settings))
    return {"signatures": items}


def _collect_bundle(
    parsed: ParsedFile, bundle: dict[str, Any], settings: CollectSettings
) -> list[dict[str, Any]]:
    material = bundle.get("verificationMaterial")
    material = material if isinstance(material, dict) else {}
    base = {
        "path": parsed.path,
        "sha256": parsed.sha256,
        "source": "sigstore",
        "identity": bundle_identity(material),
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
    loaded = load_bundle(bundle) if error is None else None
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
    loaded = load_bundle(bundle) if error is None else None
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


def _failure(exc: BaseException, base: dict[str, Any]) -> str:
    message = f"verification failed: {sigstore_message(exc)}"
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
        verifier.verify_artifact(hashed, bundle, CryptographicOnly())
    except Exception as exc:  # every failure, of any kind, is an unverified signature (fail closed)
        return _failure(exc, base)
    return None


def _verify_dsse(bundle: Any, settings: CollectSettings, base: dict[str, Any]) -> str | None:
    verifier = verifier_for(settings)
    try:
        verifier.verify_dsse(bundle, CryptographicOnly())
    except Exception as exc:  # every failure, of any kind, is an unverified signature (fail closed)
        return _failure(exc, base)
    return None


def verifier_for(settings: CollectSettings) -> Any:
    """The sigstore `Verifier` for the configured trust root (audit.trust.verifier_for, built once
    per root); CollectError, naming the root as configured, if it cannot be loaded."""
    try:
        return trust_verifier(settings.trust_root, settings.base_dir)
    except TrustRootError as exc:
        raise CollectError(str(exc), exc.remediation, path=exc.root) from None
