"""Sigstore bundles: verified offline against a pinned trust root (and `signatures.keys`).

Every bundle becomes a `signatures` item, whatever happens: `status` says how verification ended
(`verified`; `failed`, proven wrong; `unverifiable`, which the gate cannot judge and another tool
can; `key-unknown`, signed by a key no configured key checks) and `error` says why in words (only a
file that is not JSON at all is refused, by `gate.collect.parse`).

Verification is cryptographic only: certificate chain to the trust root at the signing time, SCT,
transparency-log inclusion proof, checkpoint and signed entry timestamp, timestamps, and the
signature over the artifact or DSSE envelope. Certificate bundles with an inclusion proof go
through sigstore-python; what it refuses and cosign and sigstore-go verify offline is checked here
with the same trust root and sigstore's own building blocks: key-signed bundles (a `publicKey`
hint) against the PEM keys in `signatures.keys`, v0.1 bundles proven by a signed entry timestamp
without an inclusion proof (from v0.2 on the bundle format requires the proof, and sigstore-go and
cosign refuse a bundle without one, as the gate does), and intoto/0.0.1-0.0.2 log entries. The signer's identity is
not judged here: its SAN and OIDC issuer are read from the leaf certificate and judged by the Rego
policies (SIG-IDENTITY). The identity is what the certificate claims; it is worth something only
when `verified` is true.

Trust roots and verifiers come from `audit.trust`: `production` and `staging` are the roots
embedded in the installed sigstore-python, nothing is fetched and no TUF cache is read; a pinned
`trusted_root.json` (or a `ClientTrustConfig`) is taken from the configured path, relative to the
config's folder.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import CryptographicOnly, TrustRootError, bundle_identity, leaf_der, load_bundle, sigstore_message
from audit import verifier_for as trust_verifier
from gate.collect.attestation import (
    BUNDLE_MEDIA_PREFIX,
    decode_dsse_payload,
    parse_payload_json,
    sigstore_bundles_in,
    statement_subjects,
)
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.parse import ParsedFile

KIND = "signature"
SECTIONS = ("signatures",)

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

    if artifact is None:
        missing = _missing_artifact_error(parsed.path, beside, signed, settings)
        verdict = Verdict("unverifiable", f"could not be verified: {missing}")
    else:
        verdict = judge(bundle, settings, artifact.sha256)
    shown = artifact or _Artifact(str(beside) if beside is not None else None, signed)
    return _item(base, shown, verdict)


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

    verdict = judge(bundle, settings, None)
    if verdict.status == "verified" and artifact is not None and artifact.sha256 not in subject_sha256:
        verdict = Verdict(
            "failed",
            f"artifact {artifact.path} (sha256:{artifact.sha256}) is not a subject of the signed statement; "
            "pass the attested file with `--artifact FILE`",
        )
    if artifact is not None:
        return [_item(base, artifact, verdict)]
    if not subjects:
        return [_item(base, _Artifact(None, None), verdict)]
    return [
        _item(base, _Artifact(s["name"] or None, _sha256_or_none(s["digest"].get("sha256"))), verdict)
        for s in subjects
    ]


def _item(base: dict[str, Any], artifact: _Artifact, verdict: Verdict) -> dict[str, Any]:
    return {
        **copy.deepcopy(base),
        "artifact": {"path": artifact.path, "sha256": artifact.sha256},
        "verified": verdict.status == "verified",
        "status": verdict.status,
        "error": verdict.error,
        "key": verdict.key,
    }


# --- what the bundle holds, read from its JSON (works even when sigstore cannot load it) -----------


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


# --- verification ----------------------------------------------------------------------------------

# How a verification ended: `verified`; `failed`, proven wrong (a signature, digest, log entry or
# certificate that does not check out); `unverifiable`, a bundle the gate cannot judge (another
# tool can, and the reason names it); `key-unknown`, signed by a key and no key is configured to
# check it with. Attestations add `unsigned` (gate.collect.attestation).
STATUSES = ("verified", "failed", "unverifiable", "key-unknown")

OTHER_TOOLS = "`cosign verify-blob --bundle` / `cosign verify-blob-attestation` or sigstore-go can"

_MAX_KEY_BYTES = 1 << 20
_keys_cache: dict[tuple[str, int, int], Any] = {}


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one signature: a status of STATUSES, why (in words) when it is
    not `verified`, and the `signatures.keys` file that verified a key-signed one."""

    status: str
    error: str | None = None
    key: str | None = None


class _Failed(Exception):
    """A check proved the signature wrong; the message says which check, in words."""


class _Unverifiable(Exception):
    """The gate cannot judge the signature; the message says why."""


class _Malformed(_Failed):
    """The bundle lacks what every bundle of its kind must hold."""


def judge(bundle: dict[str, Any], settings: CollectSettings, artifact_sha256: str | None) -> Verdict:
    """Verify a sigstore bundle offline: over the artifact whose sha256 is `artifact_sha256`
    (a `messageSignature` bundle) or over its DSSE envelope (`None`).

    Certificate bundles with an inclusion proof go through sigstore-python's Verifier. What
    sigstore-python refuses but cosign and sigstore-go verify offline is checked here with the
    same trust root: key-signed bundles against `signatures.keys`, v0.1 bundles whose log entry
    has a signed entry timestamp (SET) and no inclusion proof, and intoto log entries.
    Raises CollectError only for configuration problems (trust root, keys).
    """
    material = bundle.get("verificationMaterial")
    material = material if isinstance(material, dict) else {}
    try:
        if _key_signed(material):
            return _judge_key_signed(bundle, material, settings, artifact_sha256)
        if _needs_offline_path(bundle, material):
            return _judge_keyless_offline(bundle, material, settings, artifact_sha256)
    except _Malformed as exc:
        return Verdict("failed", f"bundle does not load: {exc}")
    except _Failed as exc:
        return Verdict("failed", f"verification failed: {exc}")
    except _Unverifiable as exc:
        return Verdict("unverifiable", f"could not be verified: {exc}; {OTHER_TOOLS}")
    return _judge_with_sigstore(bundle, settings, artifact_sha256)


def _judge_with_sigstore(
    bundle: dict[str, Any], settings: CollectSettings, artifact_sha256: str | None
) -> Verdict:
    loaded = load_bundle(bundle)
    if isinstance(loaded, str):
        return Verdict("failed", loaded)
    verifier = verifier_for(settings)
    try:
        if artifact_sha256 is None:
            verifier.verify_dsse(loaded, CryptographicOnly())
        else:
            from sigstore.hashes import Hashed
            from sigstore_models.common.v1 import HashAlgorithm

            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(artifact_sha256))
            verifier.verify_artifact(hashed, loaded, CryptographicOnly())
    except Exception as exc:  # every failure, of any kind, is an unverified signature (fail closed)
        return Verdict("failed", f"verification failed: {sigstore_message(exc)}")
    return Verdict("verified")


def _key_signed(material: dict[str, Any]) -> bool:
    has_cert = bool(material.get("certificate")) or bool(material.get("x509CertificateChain"))
    return "publicKey" in material and not has_cert


def _bundle_version(bundle: dict[str, Any]) -> str | None:
    """`0.1`, `0.2`, `0.3` from the bundle's media type, or None."""
    media = bundle.get("mediaType")
    if not isinstance(media, str):
        return None
    for version in ("0.1", "0.2", "0.3"):
        if media.endswith(f"version={version}") or media.startswith(f"{BUNDLE_MEDIA_PREFIX}.v{version}+"):
            return version
    return None


def _single_entry(material: dict[str, Any]) -> dict[str, Any] | None:
    entries = material.get("tlogEntries")
    if isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], dict):
        return entries[0]
    return None


def _needs_offline_path(bundle: dict[str, Any], material: dict[str, Any]) -> bool:
    """Whether sigstore-python would refuse a bundle that cosign and sigstore-go verify: an intoto
    log entry, or a v0.1 bundle proven by its signed entry timestamp alone. (From v0.2 on, a bundle
    must carry an inclusion proof, as sigstore-go and the conformance suite require; an inclusion
    proof that is there must verify, checkpoint included.)"""
    entry = _single_entry(material)
    if entry is None:
        return False
    kind_version = entry.get("kindVersion")
    kind = kind_version.get("kind") if isinstance(kind_version, dict) else None
    if kind == "intoto":
        return True
    return (
        entry.get("inclusionProof") is None
        and isinstance(entry.get("inclusionPromise"), dict)
        and _bundle_version(bundle) == "0.1"
    )


def _judge_keyless_offline(
    bundle: dict[str, Any], material: dict[str, Any], settings: CollectSettings, artifact_sha256: str | None
) -> Verdict:
    verifier = verifier_for(settings)
    entry = _single_entry(material)
    if entry is None:  # _needs_offline_path chose this path for a single entry
        raise _Unverifiable("the bundle does not hold exactly one transparency-log entry")
    _require_proof(bundle, entry)
    integrated = _verify_entry(entry, verifier)
    cert = _signing_certificate(material)
    for when in (integrated, *_timestamp_times(bundle, material, verifier)):
        _check_certificate(cert, when, verifier)
    key = cert.public_key()
    signature, payload = _check_signature(bundle, key, artifact_sha256)
    _check_entry_body(entry, key, signature, payload, artifact_sha256)
    return Verdict("verified")


def _require_proof(bundle: dict[str, Any], entry: dict[str, Any]) -> None:
    """From bundle v0.2 on, a log entry must carry an inclusion proof (a signed entry timestamp
    alone proves a v0.1 bundle only)."""
    if entry.get("inclusionProof") is None and _bundle_version(bundle) != "0.1":
        raise _Malformed("a v0.2 or later bundle must carry an inclusion proof, and this one has none")


def _judge_key_signed(
    bundle: dict[str, Any], material: dict[str, Any], settings: CollectSettings, artifact_sha256: str | None
) -> Verdict:
    keys = load_keys(settings)
    hint = material.get("publicKey")
    hint = hint.get("hint") if isinstance(hint, dict) else None
    shown = f" (key hint {hint})" if isinstance(hint, str) and hint else ""
    if not keys:
        return Verdict(
            "key-unknown",
            f"could not be verified: the bundle is signed with a public key{shown}, not a certificate, "
            "and signatures.keys in gate.yaml names no key to check it with",
        )
    for path, key in keys:
        try:
            signature, payload = _check_signature(bundle, key, artifact_sha256)
        except _Failed:
            continue
        entries = material.get("tlogEntries")
        if isinstance(entries, list) and entries:
            entry = _single_entry(material)
            if entry is None:
                raise _Unverifiable(f"the bundle holds {len(entries)} transparency-log entries, not one")
            _require_proof(bundle, entry)
            _verify_entry(entry, verifier_for(settings))
            _check_entry_body(entry, key, signature, payload, artifact_sha256)
        return Verdict("verified", key=str(path))
    count = f"any of the {len(keys)} keys" if len(keys) > 1 else "the key"
    raise _Failed(
        f"the signature does not verify with {count} in signatures.keys{shown}: the artifact or the "
        "bundle changed, or another key signed it"
    )


def load_keys(settings: CollectSettings) -> list[tuple[Path, Any]]:
    """The public keys of `signatures.keys`, loaded once per file version; CollectError naming a key
    file that cannot be read or is not a PEM public key."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    out: list[tuple[Path, Any]] = []
    fix = "set signatures.keys in gate.yaml to PEM public key files (such as cosign.pub)"
    for path in settings.keys:
        try:
            st = path.stat()
            cache_key = (str(path), st.st_mtime_ns, st.st_size)
            key = _keys_cache.get(cache_key)
            if key is None:
                if st.st_size > _MAX_KEY_BYTES:
                    raise CollectError(
                        f"signatures.keys: {path} is {st.st_size} bytes, not a public key",
                        fix,
                        path=str(path),
                    )
                key = load_pem_public_key(path.read_bytes())
                _keys_cache[cache_key] = key
        except OSError as exc:
            raise CollectError(
                f"signatures.keys: cannot read {path} ({exc.strerror})", fix, path=str(path)
            ) from None
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise CollectError(
                f"signatures.keys: {path} is not a PEM public key", fix, path=str(path)
            ) from None
        out.append((path, key))
    return out


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise _Failed(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Failed(f"{what} is not valid base64") from None


def _verify_entry(entry: dict[str, Any], verifier: Any) -> int:
    """Check a log entry against the trust root's Rekor keys: its signed entry timestamp and, when
    it has one, its inclusion proof and checkpoint. Returns the integrated time (seconds)."""
    import rfc8785
    from sigstore._internal.trust import KeyringPurpose
    from sigstore._utils import KeyID

    keyring = verifier._trusted_root.rekor_keyring(KeyringPurpose.VERIFY)
    integrated = int_or_none(entry.get("integratedTime"))
    index = int_or_none(entry.get("logIndex"))
    promise = entry.get("inclusionPromise")
    if not integrated or not isinstance(promise, dict):
        raise _Unverifiable(
            "its log entry has no signed entry timestamp, so the time of signing needs a timestamp "
            "authority the gate does not check here"
        )
    if index is None:
        raise _Failed("the log entry has no log index")
    log_id = entry.get("logId")
    key_id = _b64(log_id.get("keyId") if isinstance(log_id, dict) else None, "the log entry's log id")
    body = _b64(entry.get("canonicalizedBody"), "the log entry's body")
    signed = _b64(promise.get("signedEntryTimestamp"), "the signed entry timestamp")
    canonical = rfc8785.dumps(
        {
            "body": base64.b64encode(body).decode(),
            "integratedTime": integrated,
            "logID": key_id.hex(),
            "logIndex": index,
        }
    )
    try:
        keyring.verify(key_id=KeyID(key_id), signature=signed, data=canonical)
    except Exception:  # an invalid signature, or a key the trust root does not hold
        raise _Failed(
            "the transparency log's signed entry timestamp does not verify with the trust root's Rekor "
            "keys (the entry was changed, or it comes from another log)"
        ) from None
    if entry.get("inclusionProof") is not None:
        from sigstore.models import TransparencyLogEntry
        from sigstore_models.rekor.v1 import TransparencyLogEntry as EntryMessage

        try:
            TransparencyLogEntry(EntryMessage.from_json(json.dumps(entry)))._verify(keyring)
        except Exception as exc:  # a proof, checkpoint or entry that does not check out
            raise _Failed(
                f"the log entry's inclusion proof does not verify: {sigstore_message(exc)}"
            ) from None
    return integrated


def _signing_certificate(material: dict[str, Any]) -> Any:
    from cryptography import x509

    der = leaf_der(material)
    if der is None:
        raise _Malformed("it holds no signing certificate")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise _Failed("the signing certificate is not a valid X.509 certificate") from None


def _timestamp_times(bundle: dict[str, Any], material: dict[str, Any], verifier: Any) -> list[Any]:
    """The times of the bundle's RFC 3161 timestamps, each verified against the trust root's
    timestamp authorities (by sigstore-python); none when the bundle has none."""
    data = material.get("timestampVerificationData")
    stamps = data.get("rfc3161Timestamps") if isinstance(data, dict) else None
    if not stamps:
        return []
    if not isinstance(stamps, list):
        raise _Malformed("its timestampVerificationData is not a list of timestamps")
    loaded = load_bundle(bundle)
    if isinstance(loaded, str):
        raise _Unverifiable(
            "it carries RFC 3161 timestamps, which the gate checks only in a bundle with an inclusion proof"
        )
    try:
        results = verifier._verify_timestamp_authority(loaded)
    except Exception as exc:  # a malformed or duplicated timestamp
        raise _Failed(f"its signed timestamps do not verify: {sigstore_message(exc)}") from None
    if len(results) != len(stamps):
        raise _Failed("a signed timestamp does not verify with the trust root's timestamp authorities")
    return [result.time for result in results]


def _check_certificate(cert: Any, at: Any, verifier: Any) -> None:
    """The Fulcio checks at a verified time (integrated time in seconds, or a datetime): validity,
    chain to the trust root, SCT, code signing."""
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult
    from sigstore._internal.trust import KeyringPurpose

    when = datetime.datetime.fromtimestamp(at, tz=datetime.UTC) if isinstance(at, int) else at
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise _Failed("the signing certificate was not valid at the time of signing")
    time = TimestampVerificationResult(source=TimestampSource.TRANSPARENCY_SERVICE, time=when)
    try:
        chain = verifier._verify_chain_at_time(cert, time)
    except Exception as exc:  # any chain failure means an untrusted signer
        raise _Failed(
            f"the signing certificate does not chain to the trust root: {sigstore_message(exc)}"
        ) from None
    try:
        verify_sct(cert, chain, verifier._trusted_root.ct_keyring(KeyringPurpose.VERIFY))
    except Exception as exc:  # a missing or invalid SCT
        raise _Failed(f"the signing certificate's SCT does not verify: {sigstore_message(exc)}") from None
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        raise _Failed("the signing certificate has no key usage for code signing") from None
    if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise _Failed("the signing certificate is not for code signing")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of a payload, which is what a DSSE signature signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_verifies(
    key: Any, signature: bytes, *, data: bytes | None = None, digest: bytes | None = None
) -> bool:
    """Whether `signature` by public key `key` verifies over `data`, or over the sha256 `digest` of
    the signed bytes (ECDSA and RSA; Ed25519 signs data only)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            if digest is not None:
                key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            elif data is not None:
                by_size: dict[int, hashes.HashAlgorithm] = {384: hashes.SHA384(), 521: hashes.SHA512()}
                key.verify(signature, data, ec.ECDSA(by_size.get(key.curve.key_size, hashes.SHA256())))
            else:
                return False
            return True
        if isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            for pad in (padding.PKCS1v15(), pss):
                try:
                    if digest is not None:
                        key.verify(signature, digest, pad, Prehashed(hashes.SHA256()))
                    elif data is not None:
                        key.verify(signature, data, pad, hashes.SHA256())
                    else:
                        return False
                    return True
                except InvalidSignature:
                    continue
            return False
        if isinstance(key, ed25519.Ed25519PublicKey) and data is not None:
            key.verify(signature, data)
            return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return False


def _check_signature(
    bundle: dict[str, Any], key: Any, artifact_sha256: str | None
) -> tuple[bytes, bytes | None]:
    """Verify the bundle's signature with `key`: (signature, DSSE payload or None for a message)."""
    envelope = bundle.get("dsseEnvelope")
    if isinstance(envelope, dict):
        try:
            payload = decode_dsse_payload(envelope)
        except ValueError as exc:
            raise _Failed(str(exc)) from None
        payload_type = envelope.get("payloadType")
        signatures = envelope.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(signatures, list) or len(signatures) != 1:
            raise _Failed("the DSSE envelope does not hold a payload type and exactly one signature")
        entry = signatures[0]
        signature = _b64(entry.get("sig") if isinstance(entry, dict) else None, "the DSSE signature")
        if not key_verifies(key, signature, data=pae(payload_type, payload)):
            raise _Failed("the DSSE envelope's signature does not verify with the signer's key")
        return signature, payload
    message = bundle.get("messageSignature")
    if not isinstance(message, dict):
        raise _Failed("the bundle holds neither a message signature nor a DSSE envelope")
    signature = _b64(message.get("signature"), "the message signature")
    if artifact_sha256 is None:
        raise _Failed("there is no artifact to check the signature over")
    claimed = _message_digest(bundle)
    if claimed is not None and claimed != artifact_sha256:
        raise _Failed("the bundle signs another digest than the artifact's (digest mismatch)")
    if not key_verifies(key, signature, digest=bytes.fromhex(artifact_sha256)):
        raise _Failed("the signature does not verify over the artifact's digest with the signer's key")
    return signature, None


def _same_key(pem_b64: Any, key: Any) -> bool:
    """Whether a log entry's base64 PEM (a certificate or a public key) holds `key`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not isinstance(pem_b64, str):
        return False
    try:
        pem = base64.b64decode(pem_b64, validate=True)
        logged = (
            x509.load_pem_x509_certificate(pem).public_key()
            if b"BEGIN CERTIFICATE" in pem
            else serialization.load_pem_public_key(pem)
        )
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        return bool(logged.public_bytes(*spki) == key.public_bytes(*spki))
    except (binascii.Error, ValueError, TypeError):
        return False


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _check_entry_body(
    entry: dict[str, Any], key: Any, signature: bytes, payload: bytes | None, artifact_sha256: str | None
) -> None:
    """The log entry records this signature, key and digest (or DSSE payload)."""
    try:
        body = json.loads(_b64(entry.get("canonicalizedBody"), "the log entry's body"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Failed("the log entry's body is not JSON") from None
    kind, version = _dig(body, "kind"), _dig(body, "apiVersion")
    spec = _dig(body, "spec")
    sig_b64 = base64.b64encode(signature).decode()
    payload_sha = hashlib.sha256(payload).hexdigest() if payload is not None else None
    if kind == "hashedrekord" and version == "0.0.1" and payload is None:
        matches = (
            _dig(spec, "signature", "content") == sig_b64
            and _same_key(_dig(spec, "signature", "publicKey", "content"), key)
            and _dig(spec, "data", "hash", "algorithm") == "sha256"
            and _dig(spec, "data", "hash", "value") == artifact_sha256
        )
    elif kind == "dsse" and version == "0.0.1" and payload is not None:
        signatures = _dig(spec, "signatures")
        matches = _dig(spec, "payloadHash", "value") == payload_sha and any(
            _dig(s, "signature") == sig_b64 and _same_key(_dig(s, "verifier"), key)
            for s in (signatures if isinstance(signatures, list) else [])
        )
    elif kind == "intoto" and version == "0.0.2" and payload is not None:
        # intoto/0.0.2 stores each DSSE signature base64-encoded once more.
        signatures = _dig(spec, "content", "envelope", "signatures")
        wrapped = base64.b64encode(sig_b64.encode()).decode()
        matches = _dig(spec, "content", "payloadHash", "value") == payload_sha and any(
            _dig(s, "sig") == wrapped and _same_key(_dig(s, "publicKey"), key)
            for s in (signatures if isinstance(signatures, list) else [])
        )
    elif kind == "intoto" and version == "0.0.1" and payload is not None:
        matches = _dig(spec, "content", "payloadHash", "value") == payload_sha and _same_key(
            _dig(spec, "publicKey"), key
        )
    else:
        raise _Unverifiable(
            f"its log entry is of kind {kind}/{version}, which the gate cannot match to this bundle"
        )
    if not matches:
        raise _Failed(
            "the transparency-log entry does not record this signature, key and digest (the bundle was "
            "assembled from parts of different signings)"
        )


def verifier_for(settings: CollectSettings) -> Any:
    """The sigstore `Verifier` for the configured trust root (audit.trust.verifier_for, built once
    per root); CollectError, naming the root as configured, if it cannot be loaded."""
    try:
        return trust_verifier(settings.trust_root, settings.base_dir)
    except TrustRootError as exc:
        raise CollectError(str(exc), exc.remediation, path=exc.root) from None
