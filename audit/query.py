"""Reading records back for auditors: decoding, filtering and finding records in a log."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from audit.envelope import open_bundle
from audit.errors import AuditError
from audit.log import CHECKPOINT, AuditLog, Entry, MissingFile, open_checkpoint
from audit.merkle import verify_inclusion
from audit.note import NoteVerifier
from audit.record import detail_of
from audit.tiles import inclusion_path


@dataclass(frozen=True)
class Listed:
    """One record as `gate audit list` shows it (decoded; `gate audit verify` checks signatures)."""

    index: int
    entry: Entry
    statement: dict[str, Any]

    @property
    def detail(self) -> dict[str, Any]:
        """The gate's extension of the statement."""
        return detail_of(self.statement)

    @property
    def time(self) -> str:
        """timeVerified."""
        return str((self.statement.get("predicate") or {}).get("timeVerified") or "")

    def summary_json(self) -> dict[str, Any]:
        """One object per record for `--format json`."""
        d = self.detail
        ctx = d.get("context") or {}
        return {
            "index": self.index,
            "id": self.entry.record_id,
            "record": self.entry.record,
            "time": self.time,
            "environment": d.get("environment"),
            "outcome": d.get("outcome"),
            "summary": d.get("summary"),
            "checks": sorted({str(f.get("check")) for f in d.get("findings") or [] if isinstance(f, dict)}),
            "repository": ctx.get("repository"),
            "commit": ctx.get("commit"),
            "service": ctx.get("service"),
            "policy": d.get("policyDigest"),
            "input": d.get("inputDigest"),
            "error": d.get("error"),
        }


def decode(log: AuditLog, entry: Entry) -> dict[str, Any]:
    """The statement of an entry's record, decoded without verifying its signature."""
    bundle = open_bundle(log.record(entry.record))
    try:
        statement = json.loads(bundle.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"record {entry.record}: payload is not JSON ({exc})") from None
    if not isinstance(statement, dict):
        raise AuditError(f"record {entry.record}: payload is not a statement")
    return statement


def iter_records(log: AuditLog) -> Iterator[Listed]:
    """Every record of the log in order (entries past the checkpoint included)."""
    index = 0
    while True:
        try:
            entry = log.entry(index)
        except MissingFile:
            return
        yield Listed(index, entry, decode(log, entry))
        index += 1


@dataclass(frozen=True)
class Filters:
    """`gate audit list` filters; None matches everything."""

    environment: str | None = None
    outcome: str | None = None
    check: str | None = None
    repository: str | None = None
    service: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def match(self, item: Listed) -> bool:
        """Whether the record passes every filter."""
        s = item.summary_json()
        if self.environment and s["environment"] != self.environment:
            return False
        if self.outcome and s["outcome"] != self.outcome:
            return False
        if self.check and self.check not in s["checks"]:
            return False
        if self.repository and not fnmatch.fnmatchcase(str(s["repository"] or ""), self.repository):
            return False
        if self.service and not fnmatch.fnmatchcase(str(s["service"] or ""), self.service):
            return False
        when = parse_time(item.time) if (self.since or self.until) else None
        if self.since and (when is None or when < self.since):
            return False
        return not (self.until and (when is None or when >= self.until))


def parse_time(text: str) -> dt.datetime | None:
    """An RFC 3339 time or a YYYY-MM-DD date (UTC midnight); None if it is neither."""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def find(log: AuditLog, ref: str) -> Listed:
    """A record by index, record digest (`sha256:...` or a unique hex prefix) or record id."""
    if ref.isdigit():
        entry = log.entry(int(ref))
        return Listed(entry.index, entry, decode(log, entry))
    want = ref.removeprefix("sha256:")
    hits = [
        item
        for item in iter_records(log)
        if item.entry.record_id == ref or item.entry.record.removeprefix("sha256:").startswith(want)
    ]
    if len(hits) != 1:
        raise AuditError(
            f"{ref}: {'no record' if not hits else f'{len(hits)} records'} match",
            "give an index, a record digest or a record id (from `gate audit list`)",
        )
    return hits[0]


def prove_in_checkpoint(log: AuditLog, entry: Entry, verifier: NoteVerifier) -> tuple[str, list[bytes]]:
    """The log's checkpoint, signed by verifier's key, and the entry's inclusion proof in it (read
    from the hash tiles); AuditError if the proof does not hold."""
    text = log.checkpoint_text()
    cp = open_checkpoint(text, verifier, str(log.file(CHECKPOINT)))
    if entry.index >= cp.size:
        raise AuditError(
            f"entry {entry.index} is past the checkpoint (size {cp.size}): an append was interrupted"
        )
    proof = inclusion_path(log.subtree_hash, entry.index, cp.size)
    if not verify_inclusion(entry.leaf_hash(), entry.index, cp.size, proof, cp.root_hash):
        raise AuditError("it is not included in the log's signed checkpoint")
    return text, proof
