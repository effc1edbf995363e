"""The decision record: an in-toto Statement v1 with the SLSA Verification Summary predicate.

The gate's detail sits in one URI-named extension field of the predicate (`EXTENSION`). The
statement is signed as its RFC 8785 canonical bytes; those bytes are what the log stores and what
every verifier reads back (they are never re-serialised).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from audit.errors import AuditError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
EXTENSION = "https://govgate.dev/decision/v1"
VERIFIER_ID = "https://govgate.dev/gate"
POLICY_URI = "urn:govgate:policy"
PASSING = frozenset({"pass", "warn"})
# The verifiedLevels of a FAILED decision: the VSA's value for a failed policy evaluation.
FAILED_LEVEL = "FAILED"
RESOURCE_SCHEME = "govgate"
REFUSAL_SUBJECT = "gate-refusal.txt"
# Context fields a record keeps: the rest (time in nanoseconds) is given as timeVerified.
CONTEXT_FIELDS = ("ci", "repository", "commit", "ref", "change_id", "run_id", "actor", "service")


@dataclass(frozen=True)
class DecisionFacts:
    """What the gate tells the audit package about one decision."""

    decision: dict[str, Any]
    context: dict[str, Any]
    subjects: tuple[tuple[str, str], ...]
    time_ns: int
    gate_version: str
    stored_input: str | None = None
    record_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # The log the record is written to: its origin (the log key's name) and its verifier key. The
    # record names the one log it belongs to, under its own signature, so it cannot be spliced into
    # another log signed by the same org key, nor the log's key be swapped without it showing.
    log_origin: str | None = None
    log_key: str | None = None
    # The predicate's resourceUri (service_uri), and the verifiedLevels a passing decision asserts;
    # without them, the repository or input digest and default_levels of the environment.
    resource_uri: str | None = None
    verified_levels: tuple[str, ...] = ()


def _sha256_hex(digest: str) -> str:
    return digest.removeprefix("sha256:")


def time_verified(time_ns: int) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-23T12:00:00.000000Z."""
    moment = dt.datetime.fromtimestamp(time_ns // 1_000_000_000, tz=dt.UTC).replace(
        microsecond=(time_ns // 1000) % 1_000_000
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def service_uri(service: str, environment: str) -> str:
    """The resourceUri of a decision about a service in an environment,
    `govgate:service/<service>?env=<environment>` (both percent-encoded as URI path and query
    parts): what an admission controller that knows the service it admits and where rebuilds."""
    name = urllib.parse.quote(service, safe="")
    env = urllib.parse.quote(environment, safe="")
    return f"{RESOURCE_SCHEME}:service/{name}?env={env}"


def default_levels(environment: str) -> tuple[str, ...]:
    """The verifiedLevels a passing decision asserts when the config names none:
    `GOVGATE_<ENVIRONMENT>_PASSED`, the environment upper-cased, other characters than letters
    and digits as `_` (a custom value: the VSA reserves the `SLSA_` prefix for SLSA's levels)."""
    return (f"GOVGATE_{re.sub(r'[^A-Z0-9]', '_', environment.upper())}_PASSED",)


def _resource_uri(context: dict[str, Any], input_digest: str, environment: str) -> str:
    """The resourceUri of a decision that names no service: the repository at its commit, else the
    input document's digest, else (a refusal outside CI) the environment alone."""
    repo, commit = context.get("repository"), context.get("commit")
    if isinstance(repo, str) and repo:
        return f"git+{repo}@{commit}" if isinstance(commit, str) and commit else f"git+{repo}"
    if input_digest:
        return f"urn:govgate:input:{input_digest}"
    return f"{RESOURCE_SCHEME}:refusal?env={urllib.parse.quote(environment, safe='')}"


def _finding(f: dict[str, Any]) -> dict[str, Any]:
    keep = ("check", "severity", "action", "message", "subject", "waiver")
    return {k: f.get(k) for k in keep}


def build_statement(facts: DecisionFacts) -> dict[str, Any]:
    """The in-toto statement for a decision (subjects: the inputs' sha256, or the input document)."""
    d = facts.decision
    input_digest = str((d.get("input") or {}).get("digest") or "")
    policy_digest = str((d.get("policy") or {}).get("digest") or "")
    outcome = str(d.get("outcome"))
    passed = outcome in PASSING
    subjects = [{"name": name, "digest": {"sha256": sha}} for name, sha in facts.subjects]
    if not subjects and input_digest:
        subjects = [{"name": "gate-input.json", "digest": {"sha256": _sha256_hex(input_digest)}}]
    elif not subjects:
        # Refused before any file was read (nothing to check, a path that does not exist): the
        # subject is the refusal itself, the sha256 of the reason the record carries as `error`.
        reason = str(d.get("error") or "").encode("utf-8")
        subjects = [{"name": REFUSAL_SUBJECT, "digest": {"sha256": hashlib.sha256(reason).hexdigest()}}]
    detail: dict[str, Any] = {
        "recordId": facts.record_id,
        "environment": d.get("environment"),
        "outcome": outcome,
        "summary": d.get("summary"),
        "findings": [_finding(f) for f in d.get("findings", [])],
        "engine": d.get("engine"),
        "policyDigest": policy_digest,
        "inputDigest": input_digest,
        "storedInput": facts.stored_input,
        "context": {k: facts.context.get(k) for k in CONTEXT_FIELDS},
    }
    if d.get("sources"):
        detail["sources"] = d["sources"]
    if facts.log_origin is not None:
        detail["log"] = facts.log_origin
    if facts.log_key is not None:
        detail["logKey"] = facts.log_key
    if d.get("error"):
        detail["error"] = d["error"]
    predicate: dict[str, Any] = {
        "verifier": {"id": VERIFIER_ID, "version": {"govgate": facts.gate_version}},
        "timeVerified": time_verified(facts.time_ns),
        "resourceUri": facts.resource_uri
        or _resource_uri(facts.context, input_digest, str(d.get("environment") or "")),
        "policy": {"uri": POLICY_URI, "digest": {"sha256": _sha256_hex(policy_digest)}},
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": list(
            (facts.verified_levels or default_levels(str(d.get("environment") or "")))
            if passed
            else (FAILED_LEVEL,)
        ),
        EXTENSION: detail,
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def canonical(document: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON document.

    A document of objects, arrays, strings, integers within JCS's safe range, booleans and null
    is written by orjson with sorted keys, which gives the same bytes (tested against rfc8785)
    ten times faster; rfc8785 writes every other document, and any text with a character beyond
    U+FFFF (JCS orders keys by UTF-16 code units, orjson by code points).
    """
    fast = _orjson_canonical(document) if _without_floats(document) else None
    if fast is not None:
        return fast
    try:
        return bytes(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise AuditError(f"the record cannot be canonicalised: {exc}", "report this as a bug") from None


_BELOW_ASTRAL_LEAD = bytes(range(0xF0))  # every byte but the lead bytes of 4-byte UTF-8


def _orjson_canonical(document: Any) -> bytes | None:
    import orjson

    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return None if text.translate(None, _BELOW_ASTRAL_LEAD) else text


def _without_floats(document: Any) -> bool:
    """Whether the document holds only dicts with string keys, lists, strings, integers, booleans
    and None (exact types: no subclasses, whose JSON form the writers may disagree on)."""
    stack = [document]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            if any(type(key) is not str for key in value):
                return False
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif kind is not str and kind is not int and kind is not bool and value is not None:
            return False
    return True


def detail_of(statement: dict[str, Any]) -> dict[str, Any]:
    """The gate's extension of a statement, or an empty object."""
    predicate = statement.get("predicate")
    detail = predicate.get(EXTENSION) if isinstance(predicate, dict) else None
    return detail if isinstance(detail, dict) else {}
