"""Writing a decision's record: sign it, store it and its (masked) input in the log.

This is the audit package's public entry for the gate: `AuditSettings` says where and how,
`write_record` does it and returns the decision's `audit` field.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.compact import compact_json
from audit.envelope import bundle_bytes
from audit.errors import AuditError
from audit.keys import LOG_KEY, LOG_PUB, RECORD_KEY, PublicKey, new_log_key, write_private
from audit.log import AuditLog, RecordCheck, sha256_digest, statement_of
from audit.mask import mask, needs_mask
from audit.note import NoteError, NoteSigner
from audit.record import DecisionFacts, build_statement, canonical
from audit.signer import (
    KeyChoice,
    LocalSigner,
    RecordSigner,
    default_key_dir,
    make_key_dir,
    make_signer,
)

# The log stays in the working directory, the artifact a CI job keeps: its records are not
# secret, and everything in it is checked against the pinned keys (`gate audit verify`).
DEFAULT_LOG = Path(".gate") / "audit"


@dataclass(frozen=True)
class AuditSettings:
    """Where records go and who signs them; `key_dir` is where keys not configured are made on
    first use (default_key_dir of the process's environment when None)."""

    log: Path = DEFAULT_LOG
    signer: str = "local"
    key_file: Path | None = None
    key_pem: str | None = None
    log_key_file: Path | None = None
    log_key_text: str | None = None
    key_dir: Path | None = None
    # a central log (`gate audit serve`): its URL, the bearer token, and its verifier key pinned
    # (text, or a file holding it; else fetched from URL/log.pub)
    log_url: str | None = None
    log_token: str | None = None
    log_pub: str | None = None


def stored_input_bytes(document: dict[str, Any], text: bytes | None = None) -> bytes:
    """The bytes an input document is stored as: secrets masked, sorted keys, compact.

    `text`, when given, is the document in that encoding already (gate.input.canonical_bytes):
    it is stored as it is when nothing in it needs masking.
    """
    if text is not None and not needs_mask(text):
        return text
    return compact_json(mask(document))


def key_files(settings: AuditSettings, env: Mapping[str, str]) -> list[tuple[str, Path]]:
    """The private key files a record would be signed with (read, or made on first use), each
    with what it is: the local signing key unless its PEM is given or the signer is keyless,
    and the log key unless its line is given."""
    folder = settings.key_dir or default_key_dir(env)
    out: list[tuple[str, Path]] = []
    if settings.signer == "local" and not settings.key_pem:
        out.append(("signing key", settings.key_file or folder / RECORD_KEY))
    if not settings.log_key_text and settings.log_url is None:  # a central log signs its own checkpoints
        out.append(("log key", settings.log_key_file or folder / LOG_KEY))
    return out


def load_log_key(settings: AuditSettings, notices: list[str]) -> NoteSigner:
    """The log's checkpoint key: GATE_LOG_KEY, the configured file, or the default (created once)."""
    if settings.log_key_text:
        return _signer(settings.log_key_text, "GATE_LOG_KEY")
    path = settings.log_key_file or (settings.key_dir or default_key_dir(os.environ)) / LOG_KEY
    if settings.log_key_file is None:
        make_key_dir(path.parent)  # a key in a folder someone else made is not this gate's
    if not path.exists():
        if settings.log_key_file is not None:
            raise AuditError(f"{path}: log key not found", "create one with `gate audit keygen --out DIR`")
        skey, vkey = new_log_key()
        try:
            write_private(path, (skey + "\n").encode())
            (path.parent / LOG_PUB).write_text(vkey + "\n", encoding="utf-8")
            notices.append(
                f"created a log key for the audit log at {path} (verifier key {path.parent / LOG_PUB}: "
                "auditors pin it with `gate audit verify --log-key`)"
            )
        except FileExistsError:
            pass  # another process created it first
        except OSError as exc:
            raise AuditError(f"{path}: cannot create the log key ({exc.strerror})") from None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AuditError(f"{path}: cannot read the log key ({exc.strerror})") from None
    return _signer(text, str(path))


def _signer(text: str, source: str) -> NoteSigner:
    try:
        return NoteSigner.from_skey(text.strip())
    except NoteError as exc:
        raise AuditError(
            f"{source}: not a log signer key ({exc})", "use the log.key from `gate audit keygen`"
        ) from None


def adoption_check(signer: RecordSigner) -> RecordCheck:
    """How a writer checks the record of a leftover entry before adopting it: a local signer
    verifies its signature with its own key (a record it did not sign is refused); a keyless
    writer decodes it (its certificate is checked by `gate audit verify`)."""
    if not isinstance(signer, LocalSigner):
        return statement_of
    public = PublicKey(signer.key.private.public_key(), "this gate's signing key")

    def check(data: bytes) -> dict[str, Any]:
        # Imported here: a leftover entry is rare, and the verifier costs every check its import.
        from audit.envelope import open_bundle
        from audit.verify import Trust, verify_record

        if open_bundle(data).keyless:
            raise AuditError("it is signed keyless, and this gate signs with a local key")
        return verify_record(data, Trust(keys=(public,))).statement

    return check


@dataclass(frozen=True)
class SignedRecord:
    """A decision's record, signed: its bundle bytes, id, stored input (masked) and who signed it."""

    bundle: bytes
    record_id: str
    stored_input: bytes | None
    signer: RecordSigner
    log_key: NoteSigner | None  # None for a central log: it signs its own checkpoints


def sign_record(
    settings: AuditSettings,
    facts: DecisionFacts,
    document: dict[str, Any] | None,
    env: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
    document_json: bytes | None = None,
    stored_input: bytes | None = None,
    log_origin: tuple[str, str] | None = None,
) -> SignedRecord:
    """Sign the record of a decision, naming the log it goes to: the folder's log key, or
    ``log_origin`` = (origin, verifier key) of a central log. Raises AuditError (SignerError when
    the signer cannot sign)."""
    notices = notices if notices is not None else []
    env = env if env is not None else os.environ
    keys = KeyChoice(settings.key_file, settings.key_pem, settings.key_dir)
    signer = make_signer(settings.signer, keys, env, notices)
    log_key = load_log_key(settings, notices) if log_origin is None else None
    origin, vkey = (log_key.name, log_key.verifier.vkey) if log_key is not None else log_origin or ("", "")
    stored = None
    if document is not None:
        stored = stored_input if stored_input is not None else stored_input_bytes(document, document_json)
    facts = dataclasses.replace(
        facts,
        stored_input=sha256_digest(stored) if stored is not None else facts.stored_input,
        log_origin=origin,
        log_key=vkey,
    )
    payload = canonical(build_statement(facts))
    return SignedRecord(bundle_bytes(signer.sign(payload)), facts.record_id, stored, signer, log_key)


def write_record(
    settings: AuditSettings,
    facts: DecisionFacts,
    document: dict[str, Any] | None,
    env: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
    document_json: bytes | None = None,
    stored_input: bytes | None = None,
) -> dict[str, Any]:
    """Sign and append the record of a decision; returns the decision's `audit` field.

    `document_json` is the document's compact sorted-key JSON, when the caller has it, and
    `stored_input` its stored_input_bytes, when the caller made them already.

    Raises AuditError (SignerError when the signer cannot sign) without writing anything.
    """
    if settings.log_url is not None:
        from audit.client import append_to_central_log

        return append_to_central_log(settings, facts, document, env, notices, document_json, stored_input)
    signed = sign_record(settings, facts, document, env, notices, document_json, stored_input)
    assert signed.log_key is not None
    log = AuditLog(settings.log)
    appended = log.append(
        signed.bundle, signed.record_id, signed.stored_input, signed.log_key, adoption_check(signed.signer)
    )
    return {
        "record": appended.record,
        "index": appended.index,
        "id": signed.record_id,
        "log": str(settings.log),
        "signer": signed.signer.kind,
        "checkpoint": appended.checkpoint,
    }
