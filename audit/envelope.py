"""DSSE envelopes in sigstore bundle v0.3 JSON: building them for a local key, and reading them back.

A bundle signed with a local key carries the key's hint as `verificationMaterial.publicKey.hint`
(base64 sha256 of the key's SPKI, as cosign writes it), the DSSE signature's `keyid` in the form
go-securesystemslib derives (audit.keys.keyid_of), and no transparency-log entry (the gate's own
log plays that part). Bundles from sigstore keyless signing carry the certificate and Rekor entry
instead.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from audit.errors import AuditError

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPES = frozenset({BUNDLE_MEDIA_TYPE, "application/vnd.dev.sigstore.bundle+json;version=0.3"})


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a DSSE signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def b64(data: bytes) -> str:
    """Standard base64 with padding, as DSSE and the bundle use."""
    return base64.b64encode(data).decode("ascii")


def key_bundle(
    payload_type: str, payload: bytes, signature: bytes, keyid: str, hint: str | None = None
) -> dict[str, Any]:
    """A bundle v0.3 holding a DSSE envelope signed by a local key (hint: the key's bundle hint,
    by default the keyid)."""
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": keyid if hint is None else hint}},
        "dsseEnvelope": {
            "payload": b64(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": b64(signature), "keyid": keyid}],
        },
    }


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    """The bytes a bundle is stored as (and its record digest is taken over)."""
    return json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle's DSSE content, decoded but not yet verified."""

    document: dict[str, Any]
    payload_type: str
    payload: bytes
    signature: bytes
    keyid: str
    material: dict[str, Any]

    @property
    def keyless(self) -> bool:
        """Signed by a sigstore certificate rather than a local key."""
        return "publicKey" not in self.material


def _b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise AuditError(f"bundle {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AuditError(f"bundle {what} is not base64") from None


def open_bundle(data: bytes) -> OpenedBundle:
    """Decode a stored record bundle; raises AuditError naming what is malformed."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"bundle is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise AuditError("bundle is not a JSON object")
    if doc.get("mediaType") not in BUNDLE_MEDIA_TYPES:
        raise AuditError(f"bundle media type {doc.get('mediaType')!r} is not sigstore bundle v0.3")
    env = doc.get("dsseEnvelope")
    material = doc.get("verificationMaterial")
    if not isinstance(env, dict) or not isinstance(material, dict):
        raise AuditError("bundle has no DSSE envelope or verification material")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict):
        raise AuditError("bundle envelope must hold exactly one signature")
    payload_type = env.get("payloadType")
    if not isinstance(payload_type, str):
        raise AuditError("bundle envelope has no payload type")
    hint = (
        (material.get("publicKey") or {}).get("hint") if isinstance(material.get("publicKey"), dict) else None
    )
    keyid = sigs[0].get("keyid") or hint or ""
    return OpenedBundle(
        document=doc,
        payload_type=payload_type,
        payload=_b64decode(env.get("payload"), "payload"),
        signature=_b64decode(sigs[0].get("sig"), "signature"),
        keyid=str(keyid),
        material=material,
    )


def envelope_of(data: bytes) -> dict[str, Any]:
    """The bare DSSE envelope (payloadType, payload, signatures) of a stored record bundle, as DSSE
    verifiers such as slsa-verifier read it; AuditError naming what is malformed."""
    env = open_bundle(data).document["dsseEnvelope"]
    return {k: env[k] for k in ("payloadType", "payload", "signatures")}
