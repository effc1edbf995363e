"""Appending a decision's record to the central log (`gate audit serve`) from `gate check`.

The record is signed here as for a folder log, naming the central log (its origin and verifier
key: pinned, or read from URL/log.pub), and posted to URL/v1/log/entries. The answer is checked
before it is believed: its checkpoint must verify with the log's key and hold the record by the
inclusion proof it carries. A connection that fails, a timeout, 408, 429 and 5xx are retried a
bounded number of times with backoff (the record id makes a retry idempotent); anything else is
an AuditError saying what the log answered, so the gate fails closed where the environment blocks.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit.errors import AuditError
from audit.log import leaf_bytes, open_checkpoint, sha256_digest
from audit.merkle import leaf_hash, verify_inclusion
from audit.note import NoteError, NoteVerifier
from audit.record import DecisionFacts
from audit.writer import AuditSettings, sign_record

ATTEMPTS = 4
BACKOFF_S = (0.5, 1.0, 2.0)
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
MAX_ANSWER = 1024 * 1024
RETRIED = frozenset({408, 429, 500, 502, 503, 504})
VKEY_LIMIT = 4096


class CentralLogError(AuditError):
    """The central log did not take the record (unreachable, slow, refusing or failing)."""


def is_url(value: str) -> bool:
    """Whether a log location is a central log's URL rather than a folder."""
    return value.startswith(("https://", "http://"))


def _session() -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the log is named by its URL alone
    session.max_redirects = 0
    return session


def _fetch_vkey(session: Any, url: str) -> str:
    import requests

    try:
        answer = session.get(
            url.rstrip("/") + "/log.pub", timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), allow_redirects=False
        )
    except requests.RequestException as exc:
        raise CentralLogError(
            f"the central log at {url} is unreachable ({type(exc).__name__})",
            "check the log URL and the network",
        ) from None
    if answer.status_code != 200 or len(answer.content) > VKEY_LIMIT:
        raise CentralLogError(f"the central log at {url} answered {answer.status_code} for its log.pub")
    return str(answer.text).strip()


def _verifier(settings: AuditSettings, session: Any, url: str) -> NoteVerifier:
    text = settings.log_pub
    if text is not None and not text.strip().count("+") >= 2:
        try:
            text = Path(text).read_text(encoding="utf-8")[:VKEY_LIMIT]
        except OSError as exc:
            raise AuditError(f"{text}: cannot read the central log's key ({exc.strerror})") from None
    vkey = text.strip() if text is not None else _fetch_vkey(session, url)
    try:
        return NoteVerifier.from_vkey(vkey)
    except NoteError as exc:
        raise AuditError(f"the central log's key is not a verifier key ({exc})", "pin its log.pub") from None


def _post(session: Any, url: str, body: bytes, token: str | None) -> dict[str, Any]:
    """POST with bounded retries; the answer's JSON, or CentralLogError saying what happened."""
    import requests

    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    endpoint = url.rstrip("/") + "/v1/log/entries"
    last = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
        try:
            answer = session.post(
                endpoint,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                allow_redirects=False,
            )
        except requests.Timeout:
            last = f"the central log at {url} did not answer within {READ_TIMEOUT_S:g} s"
            continue
        except requests.RequestException as exc:
            last = f"the central log at {url} is unreachable ({type(exc).__name__})"
            continue
        content = answer.content[: MAX_ANSWER + 1]
        reason = _reason(content)
        if answer.status_code in RETRIED:
            last = f"the central log at {url} answered {answer.status_code}{reason}"
            continue
        if answer.status_code != 200:
            raise CentralLogError(
                f"the central log at {url} refused the record ({answer.status_code}{reason})",
                "check the token (scope append) and that the log admits this signer",
            )
        try:
            doc = json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CentralLogError(f"the central log at {url} answered something that is not JSON") from None
        if not isinstance(doc, dict):
            raise CentralLogError(
                f"the central log at {url} answered something that is not an append's answer"
            )
        return doc
    raise CentralLogError(f"{last} ({ATTEMPTS} attempts)", "check that the log service is up, then run again")


def _reason(content: bytes) -> str:
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    return f": {str(error)[:300]}" if isinstance(error, str) else ""


def _check_answer(
    doc: dict[str, Any], url: str, verifier: NoteVerifier, record_id: str, record: str, stored: str | None
) -> int:
    """The index the answer gives, once its checkpoint and inclusion proof show the log holds
    this record there."""
    index, proof, note = doc.get("index"), doc.get("proof"), doc.get("checkpoint")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0 or not isinstance(note, str):
        raise CentralLogError(f"the central log at {url} answered without an index and checkpoint")
    if (
        doc.get("record") != record
        or not isinstance(proof, list)
        or not all(isinstance(h, str) for h in proof)
    ):
        raise CentralLogError(f"the central log at {url} answered for another record")
    try:
        hashes = [base64.b64decode(h, validate=True) for h in proof]
        cp = open_checkpoint(note, verifier, f"{url} checkpoint")
    except (binascii.Error, ValueError, AuditError) as exc:
        raise CentralLogError(f"the central log's answer does not verify: {exc}") from None
    entry = leaf_bytes(index, record_id, record, stored)
    if index >= cp.size or not verify_inclusion(leaf_hash(entry), index, cp.size, hashes, cp.root_hash):
        raise CentralLogError(
            f"the central log at {url} answered a proof that does not hold the record in its checkpoint"
        )
    return index


def append_to_central_log(
    settings: AuditSettings,
    facts: DecisionFacts,
    document: dict[str, Any] | None,
    env: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
    document_json: bytes | None = None,
    stored_input: bytes | None = None,
) -> dict[str, Any]:
    """Sign the decision's record for the central log at settings.log_url and append it there;
    returns the decision's `audit` field (the central index and checkpoint)."""
    url = settings.log_url
    assert url is not None
    session = _session()
    try:
        verifier = _verifier(settings, session, url)
        signed = sign_record(
            settings,
            facts,
            document,
            env,
            notices,
            document_json,
            stored_input,
            (verifier.name, verifier.vkey),
        )
        record = sha256_digest(signed.bundle)
        stored = signed.stored_input
        body = json.dumps(
            {
                "record": base64.b64encode(signed.bundle).decode("ascii"),
                "input": base64.b64encode(stored).decode("ascii") if stored is not None else None,
            }
        ).encode("utf-8")
        doc = _post(session, url, body, settings.log_token)
        input_digest = sha256_digest(stored) if stored is not None else None
        index = _check_answer(doc, url, verifier, signed.record_id, record, input_digest)
    finally:
        session.close()
    return {
        "record": record,
        "index": index,
        "id": signed.record_id,
        "log": url,
        "signer": signed.signer.kind,
        "checkpoint": doc["checkpoint"],
    }
