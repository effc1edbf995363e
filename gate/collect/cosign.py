"""Results of `cosign verify … --output json`: one signature item per verified image signature.

cosign prints this JSON array only when verification succeeded, so every entry is reported as
`verified: true` with source `cosign`. The gate does not re-check it: whoever produced the file is
trusted to have run cosign (and with which trust root and key), which is why `trust_root` is
reported as `cosign`. Policies that need the gate's own check should require sigstore bundles.

The signer identity is cosign's `optional.Subject` / `optional.Issuer` (or the Fulcio issuer
extension it copies in by OID); key-signed results have none. Transparency-log entries come from the
Rekor bundle cosign attaches (`optional.Bundle.Payload`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from gate.collect.base import CollectSettings, Sections
from gate.collect.parse import ParsedFile
from gate.collect.sigstore_bundle import int_or_none

KIND = "signature"
SECTIONS = ("signatures",)

TRUST_ROOT = "cosign"
_ISSUER_KEYS = ("Issuer", "1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1")
_HEX = frozenset("0123456789abcdef")


def _is_entry(value: Any) -> bool:
    """Whether one array element has cosign's `critical` shape (identity + image digest)."""
    if not isinstance(value, dict):
        return False
    critical = value.get("critical")
    if not isinstance(critical, dict):
        return False
    image = critical.get("image")
    has_digest = isinstance(image, dict) and "docker-manifest-digest" in image
    return has_digest and isinstance(critical.get("identity"), dict)


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file is cosign verify JSON output: a non-empty array of `critical`/`optional` objects."""
    if parsed.syntax != "json" or len(parsed.documents) != 1:
        return False
    doc = parsed.documents[0]
    return isinstance(doc, list) and bool(doc) and all(_is_entry(entry) for entry in doc)


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """One verified signature item per array element."""
    del settings  # cosign already verified; nothing here depends on the gate's trust settings
    items: list[dict[str, Any]] = []
    for entry in parsed.documents[0]:
        critical = entry["critical"]
        optional = entry.get("optional")
        optional = optional if isinstance(optional, dict) else {}
        reference = critical["identity"].get("docker-reference")
        digest = critical["image"].get("docker-manifest-digest")
        digest = digest if isinstance(digest, str) and digest else None
        ref_path: str | None
        if isinstance(reference, str) and reference and digest:
            ref_path = f"{reference}@{digest}"
        else:
            ref_path = digest or (reference if isinstance(reference, str) and reference else None)
        items.append(
            {
                "path": parsed.path,
                "sha256": parsed.sha256,
                "source": "cosign",
                "artifact": {"path": ref_path, "sha256": _sha256_hex(digest)},
                "verified": True,
                "status": "verified",
                "error": None,
                "key": None,
                "identity": {"san": _subject(optional), "issuer": _issuer(optional)},
                "tlog_entries": _tlog_entries(optional),
                "trust_root": TRUST_ROOT,
            }
        )
    return {"signatures": items}


def _sha256_hex(digest: str | None) -> str | None:
    if digest is None or not digest.startswith("sha256:"):
        return None
    hex_part = digest[len("sha256:") :].lower()
    return hex_part if len(hex_part) == 64 and set(hex_part) <= _HEX else None


def _subject(optional: dict[str, Any]) -> str | None:
    """cosign's `Subject`: a string (current cosign) or a list of e-mail addresses (old releases)."""
    subject = optional.get("Subject")
    if isinstance(subject, list):
        subject = next((s for s in subject if isinstance(s, str) and s), None)
    return subject if isinstance(subject, str) and subject else None


def _issuer(optional: dict[str, Any]) -> str | None:
    for key in _ISSUER_KEYS:
        value = optional.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _tlog_entries(optional: dict[str, Any]) -> list[dict[str, Any]]:
    """The Rekor entry in cosign's `Bundle` (SignedEntryTimestamp + Payload), if it attached one."""
    bundle = optional.get("Bundle")
    payload = bundle.get("Payload") if isinstance(bundle, dict) else None
    if not isinstance(payload, dict):
        return []
    return [
        {
            "log_index": int_or_none(payload.get("logIndex")),
            "integrated_time": int_or_none(payload.get("integratedTime")),
            "kind": _body_kind(payload.get("body")),
        }
    ]


def _body_kind(body: Any) -> str | None:
    """`kind/apiVersion` of a Rekor entry body (base64 JSON), e.g. `hashedrekord/0.0.1`."""
    if not isinstance(body, str):
        return None
    try:
        decoded = json.loads(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, dict):
        return None
    kind, version = decoded.get("kind"), decoded.get("apiVersion")
    if isinstance(kind, str) and isinstance(version, str):
        return f"{kind}/{version}"
    return kind if isinstance(kind, str) else None
