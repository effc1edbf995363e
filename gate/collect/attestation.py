"""Attestations: in-toto Statements, DSSE envelopes, JSON Lines of envelopes, sigstore DSSE bundles.

Each statement found becomes one item of the input document's `attestations` section: its predicate
type, subjects, and — for SLSA provenance v0.1/v0.2/v1 — the builder id and the source repository and
ref. `envelope` says what wrapped the statement, and every item carries the result of verifying
its signature, as signature items do (`verified`, `status`, `error`, the signer's `identity` and the
`signatures.keys` file that verified it as `key`): a bare statement is `unsigned`; a DSSE envelope is
checked over DSSE's pre-authentication encoding with the PEM keys in `signatures.keys` (`key-unknown`
when none is configured, `failed` when none verifies, `unverifiable` for a certificate-signed
envelope without a log entry); a sigstore bundle is verified as `gate.collect.sigstore_bundle`
verifies it (which also reports it under `signatures`). Whether a keyless signer is an allowed
identity is the policies' judgement (PROV-VERIFIED).

Also recognised, because real tools emit them: the npm registry's attestations response
(`{"attestations": [{"bundle": …}]}`) and `gcloud … --show-provenance` output
(`provenance_summary.provenance[].envelope`).

The shape helpers (`sigstore_bundles_in`, `decode_dsse_payload`, `statement_subjects`) are shared
with the signature collector, which imports them from here.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeGuard

from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.parse import ParsedFile
from gate.collect.read import check_depth

KIND = "attestation"
SECTIONS = ("attestations",)

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"})
BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"

SLSA_PROVENANCE_PREFIX = "https://slsa.dev/provenance/"

_FIX_ENVELOPE = (
    "the envelope is damaged or not an in-toto attestation: download or regenerate it, "
    "or leave the file out of the paths"
)


def is_sigstore_bundle(doc: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a JSON value looks like a sigstore bundle (by media type or by its fields)."""
    if not isinstance(doc, dict):
        return False
    media = doc.get("mediaType")
    if isinstance(media, str) and media.startswith(BUNDLE_MEDIA_PREFIX):
        return True
    material = doc.get("verificationMaterial")
    return isinstance(material, dict) and ("messageSignature" in doc or "dsseEnvelope" in doc)


def sigstore_bundles_in(doc: Any) -> list[dict[str, Any]]:
    """The sigstore bundles a JSON value holds: itself, or those in an npm attestations response."""
    if is_sigstore_bundle(doc):
        return [doc]
    if isinstance(doc, dict) and isinstance(doc.get("attestations"), list):
        entries = [a for a in doc["attestations"] if isinstance(a, dict)]
        return [a["bundle"] for a in entries if is_sigstore_bundle(a.get("bundle"))]
    return []


def is_dsse_envelope(doc: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a JSON value is a DSSE envelope: `payloadType`, `payload` and `signatures`."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("payloadType"), str)
        and "payload" in doc
        and isinstance(doc.get("signatures"), list)
    )


def is_statement(doc: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a JSON value is an in-toto Statement (v0.1 or v1)."""
    return isinstance(doc, dict) and doc.get("_type") in STATEMENT_TYPES


def decode_dsse_payload(envelope: dict[str, Any]) -> bytes:
    """Decode a DSSE envelope's payload (standard or URL-safe base64); ValueError says what is wrong."""
    payload = envelope.get("payload")
    if not isinstance(payload, str):
        raise ValueError("the DSSE envelope's `payload` is not a base64 string")
    text = "".join(payload.split())
    text += "=" * (-len(text) % 4)
    altchars = b"-_" if ("-" in text or "_" in text) else None
    try:
        return base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the DSSE envelope's `payload` is not valid base64") from None


def parse_payload_json(payload: bytes, name: str) -> Any:
    """Parse a decoded payload as JSON (depth-bounded); ValueError if it is not JSON."""
    try:
        value = json.loads(payload)
    except RecursionError:
        raise ValueError("the DSSE payload is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the DSSE payload is not JSON ({exc})") from None
    check_depth(value, name)
    return value


def statement_subjects(statement: Any) -> list[dict[str, Any]]:
    """A statement's subjects as `{name, digest}` (name falls back to `uri`; non-string digests dropped)."""
    if not isinstance(statement, dict) or not isinstance(statement.get("subject"), list):
        return []
    out: list[dict[str, Any]] = []
    for subject in statement["subject"]:
        if not isinstance(subject, dict):
            continue
        name = subject.get("name")
        if not isinstance(name, str):
            uri = subject.get("uri")
            name = uri if isinstance(uri, str) else ""
        raw_digest = subject.get("digest")
        digest = (
            {k: v for k, v in raw_digest.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(raw_digest, dict)
            else {}
        )
        out.append({"name": name, "digest": digest})
    return out


def split_source_uri(uri: str) -> tuple[str | None, str | None]:
    """Split a source URI like `git+https://github.com/o/r@refs/heads/main` into (repo URL, ref).

    The `git+` prefix, the `@ref` suffix, a trailing `/` and a trailing `.git` are removed so the repo
    compares as a plain URL. A user in the authority (`ssh://git@host/…`) is not taken for a ref.
    """
    text = uri.strip()
    if not text:
        return None, None
    if text.startswith("git+"):
        text = text[4:]
    text = text.split("#", 1)[0]
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    authority, slash, path = rest.partition("/")
    ref: str | None = None
    if "@" in path:
        path, _, ref = path.partition("@")
        ref = ref or None
    path = path.rstrip("/")
    path = path.removesuffix(".git")
    repo = f"{scheme}://{authority}" if scheme else authority
    if slash and path:
        repo = f"{repo}/{path}"
    return (repo or None), ref


def _str_at(obj: Any, *keys: str) -> str | None:
    """The string at a nested key path, or None."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj if isinstance(obj, str) and obj else None


def _source_from_uri(uri: str | None, ref: str | None = None) -> tuple[str | None, str | None]:
    if uri is None:
        return None, ref
    repo, uri_ref = split_source_uri(uri)
    return repo, (ref or uri_ref)


def _first_git_dependency(items: Any) -> str | None:
    """The URI of the first material/resolved dependency that names a git source."""
    if not isinstance(items, list):
        return None
    for item in items:
        uri = _str_at(item, "uri")
        if uri is None:
            continue
        digest = item.get("digest") if isinstance(item, dict) else None
        git_digest = isinstance(digest, dict) and ("gitCommit" in digest or "sha1" in digest)
        if uri.startswith("git+") or git_digest:
            return uri
    return None


def provenance_fields(
    predicate_type: str | None, predicate: Any
) -> tuple[str | None, str | None, str | None]:
    """(builder id, source repo, source ref) of a SLSA provenance predicate; Nones for other predicates."""
    if not predicate_type or not predicate_type.startswith(SLSA_PROVENANCE_PREFIX):
        return None, None, None
    version = predicate_type[len(SLSA_PROVENANCE_PREFIX) :]
    if version.startswith("v0."):
        builder = _str_at(predicate, "builder", "id")
        uri = _str_at(predicate, "invocation", "configSource", "uri")
        if uri is None:
            materials = predicate.get("materials") if isinstance(predicate, dict) else None
            uri = _first_git_dependency(materials)
            if uri is None and isinstance(materials, list) and materials:
                uri = _str_at(materials[0], "uri")
        repo, ref = _source_from_uri(uri)
        return builder, repo, ref
    if version.startswith("v1"):
        builder = _str_at(predicate, "runDetails", "builder", "id")
        repo, ref = _v1_source(predicate)
        return builder, repo, ref
    return None, None, None


def _v1_source(predicate: Any) -> tuple[str | None, str | None]:
    """Source repo/ref of SLSA v1: GitHub workflow, GCB buildConfigSource, `source`, else a git dependency."""
    build = predicate.get("buildDefinition") if isinstance(predicate, dict) else None
    build = build if isinstance(build, dict) else {}
    params = build.get("externalParameters")
    params = params if isinstance(params, dict) else {}
    for key in ("workflow", "buildConfigSource"):
        repository = _str_at(params, key, "repository")
        if repository is not None:
            return _source_from_uri(repository, _str_at(params, key, "ref"))
    source = params.get("source")
    if isinstance(source, str):
        return _source_from_uri(source)
    if isinstance(source, dict):
        uri = _str_at(source, "uri") or _str_at(source, "artifact", "uri") or _str_at(source, "repository")
        if uri is not None:
            return _source_from_uri(uri, _str_at(source, "ref"))
    return _source_from_uri(_first_git_dependency(build.get("resolvedDependencies")))


# An attestation found in a file: (envelope kind, statement or DSSE envelope, the sigstore bundle
# around the envelope or None).
_Container = tuple[str, dict[str, Any], dict[str, Any] | None]


def _containers(doc: Any) -> list[_Container]:
    """What attestations a JSON value holds."""
    if is_statement(doc):
        return [("statement", doc, None)]
    if is_dsse_envelope(doc):
        return [("dsse", doc, None)]
    found: list[_Container] = []
    for bundle in sigstore_bundles_in(doc):
        envelope = bundle.get("dsseEnvelope")
        if isinstance(envelope, dict) and envelope.get("payloadType") == IN_TOTO_PAYLOAD_TYPE:
            found.append(("sigstore-bundle", envelope, bundle))
    if found:
        return found
    summary = doc.get("provenance_summary") if isinstance(doc, dict) else None
    provenance = summary.get("provenance") if isinstance(summary, dict) else None
    if isinstance(provenance, list):
        for entry in provenance:
            envelope = entry.get("envelope") if isinstance(entry, dict) else None
            if is_dsse_envelope(envelope):
                found.append(("dsse", envelope, None))
    return found


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file holds in-toto statements, DSSE envelopes or sigstore bundles of statements."""
    if parsed.syntax not in ("json", "jsonl") or not parsed.documents:
        return False
    return bool(_containers(parsed.documents[0]))


def _line_numbers(parsed: ParsedFile) -> list[int]:
    """0-based line number of each JSON Lines document (blank lines are skipped by the parser)."""
    return [n for n, line in enumerate(parsed.text.splitlines()) if line.strip()]


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """One item per statement found, with its signature's verification; raise CollectError for an
    envelope whose payload does not decode, or a trust root or key that cannot be loaded."""
    items: list[dict[str, Any]] = []
    if parsed.syntax == "jsonl":
        lines = _line_numbers(parsed)
        for doc, line in zip(parsed.documents, lines, strict=False):
            found = _containers(doc)
            if not found:
                raise CollectError(
                    f"line {line + 1} is not a DSSE envelope, in-toto statement or sigstore bundle",
                    "a .intoto.jsonl file holds one envelope per line; remove the stray line",
                    path=parsed.path,
                )
            for kind, container, bundle in found:
                items.append(_item(parsed, line, (kind, container, bundle), f"line {line + 1}", settings))
        return {"attestations": items}
    position = 0
    for doc in parsed.documents:
        for found_one in _containers(doc):
            where = f"attestation {position}" if position else "the attestation"
            items.append(_item(parsed, position, found_one, where, settings))
            position += 1
    return {"attestations": items}


def _item(
    parsed: ParsedFile, index: int, found: _Container, where: str, settings: CollectSettings
) -> dict[str, Any]:
    kind, container, bundle = found
    if kind == "statement":
        statement: Any = container
    else:
        try:
            payload = decode_dsse_payload(container)
            statement = parse_payload_json(payload, parsed.path)
        except ValueError as exc:
            raise CollectError(f"{where}: {exc}", _FIX_ENVELOPE, path=parsed.path) from None
        if not isinstance(statement, dict):
            raise CollectError(
                f"{where}: the DSSE payload is JSON but not an object (an in-toto statement is one)",
                _FIX_ENVELOPE,
                path=parsed.path,
            )
    predicate_type = statement.get("predicateType")
    predicate_type = predicate_type if isinstance(predicate_type, str) and predicate_type else None
    builder, repo, ref = provenance_fields(predicate_type, statement.get("predicate"))
    return {
        "path": parsed.path,
        "sha256": parsed.sha256,
        "index": index,
        "envelope": kind,
        "predicate_type": predicate_type,
        "subjects": statement_subjects(statement),
        "builder_id": builder,
        "source": {"repo": repo, "ref": ref},
        **_verification(kind, container, bundle, settings),
    }


def _verification(
    kind: str, container: dict[str, Any], bundle: dict[str, Any] | None, settings: CollectSettings
) -> dict[str, Any]:
    """The verification fields of an attestation item."""
    from gate.collect import sigstore_bundle

    identity: dict[str, str | None] = {"san": None, "issuer": None}
    if kind == "statement":
        verdict = sigstore_bundle.Verdict("unsigned", "it is a bare in-toto statement, with no signature")
    elif bundle is not None:
        from audit import bundle_identity

        material = bundle.get("verificationMaterial")
        identity = bundle_identity(material if isinstance(material, dict) else {})
        verdict = sigstore_bundle.judge(bundle, settings, None)
    else:
        verdict = _judge_envelope(container, settings)
    return {
        "verified": verdict.status == "verified",
        "status": verdict.status,
        "error": verdict.error,
        "identity": identity,
        "key": verdict.key,
    }


def _judge_envelope(envelope: dict[str, Any], settings: CollectSettings) -> Any:
    """Verify a bare DSSE envelope (its payload already decoded once) with `signatures.keys`."""
    from gate.collect import sigstore_bundle

    Verdict = sigstore_bundle.Verdict
    signatures = [s for s in envelope["signatures"] if isinstance(s, dict) and isinstance(s.get("sig"), str)]
    if not signatures:
        return Verdict("unsigned", "its DSSE envelope carries no signature")
    payload = decode_dsse_payload(envelope)
    signed = sigstore_bundle.pae(str(envelope["payloadType"]), payload)
    keys = sigstore_bundle.load_keys(settings)
    for signature in signatures:
        try:
            raw = base64.b64decode(signature["sig"], validate=True)
        except (binascii.Error, ValueError):
            continue
        for path, key in keys:
            if sigstore_bundle.key_verifies(key, raw, data=signed):
                return Verdict("verified", key=str(path))
    if keys:
        count = f"any of the {len(keys)} keys" if len(keys) > 1 else "the key"
        return Verdict(
            "failed",
            f"its DSSE signature does not verify with {count} in signatures.keys: the statement or "
            "the envelope changed, or another key signed it",
        )
    if any("cert" in s or "certificate" in s for s in signatures):
        return Verdict(
            "unverifiable",
            "its DSSE envelope is signed with a certificate but carries no transparency-log entry to "
            "check it against; slsa-verifier or `cosign verify-blob-attestation` can verify it",
        )
    keyid = next((s["keyid"] for s in signatures if isinstance(s.get("keyid"), str) and s["keyid"]), None)
    shown = f" (keyid {keyid})" if keyid else ""
    return Verdict(
        "key-unknown",
        f"its DSSE envelope is signed with a key{shown}, and signatures.keys in gate.yaml names no key "
        "to check it with",
    )
