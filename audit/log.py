"""The append-only decision log: an RFC 6962 Merkle tree over entries, with signed checkpoints.

Layout of a log directory (every file holds verified data; `.lock` is the only exemption):

    log.pub                  the log's C2SP verifier key (checkpoints are signed by its key)
    checkpoint               the latest checkpoint, a C2SP signed note (replaced by rename)
    entries/<index>.json     one per record, create-only: index, record id, record and stored-input
                             digests, the root of the tree that ends with it, and its inclusion
                             proof in that tree
    records/sha256-<hex>.json  the record bundles, content-addressed, create-only
    inputs/sha256-<hex>.json   the input documents (secrets masked), content-addressed, create-only

The Merkle leaf of entry i is the RFC 8785 encoding of {id, index, input, record}. An entry's root
is proved by recomputing the tree from all leaves, and the latest root by the signed checkpoint, so
any change to an entry shows. One sequencer at a time holds an exclusive lock on `.lock`; every file
is written to a temporary file first and renamed (or hard-linked, for create-only files) into
place, so a writer killed at any moment leaves a log that verifies, and the next writer adopts an
entry whose checkpoint was not yet updated.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import AuditError
from audit.merkle import CompactTree, leaf_hash
from audit.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_note, sign_note
from audit.record import canonical

LOG_PUB = "log.pub"
CHECKPOINT = "checkpoint"
ENTRIES = "entries"
RECORDS = "records"
INPUTS = "inputs"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
ENTRY_FIELDS = frozenset({"index", "id", "record", "input", "root", "proof"})
HEX64 = re.compile(r"[0-9a-f]{64}")
DAMAGED_HINT = "run `gate audit verify --log DIR` to see what is wrong"


class LogError(AuditError):
    """The log cannot be read or written, or is damaged."""


def entry_name(index: int) -> str:
    """The file name of entry index."""
    return f"{index:012d}.json"


def blob_name(digest: str) -> str:
    """The file name of a content-addressed file with digest `sha256:<hex>`."""
    return "sha256-" + digest.removeprefix("sha256:") + ".json"


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of data."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry of the log, as stored: its leaf fields, the root of the tree it ends, its proof."""

    index: int
    record_id: str
    record: str
    input: str | None
    root: bytes
    proof: tuple[bytes, ...]

    def leaf_data(self) -> bytes:
        """The bytes hashed as this entry's Merkle leaf (RFC 8785)."""
        return leaf_bytes(self.index, self.record_id, self.record, self.input)

    def leaf_hash(self) -> bytes:
        """RFC 6962 leaf hash of leaf_data()."""
        return leaf_hash(self.leaf_data())

    def to_bytes(self) -> bytes:
        """The stored form (RFC 8785)."""
        return canonical(
            {
                "index": self.index,
                "id": self.record_id,
                "record": self.record,
                "input": self.input,
                "root": self.root.hex(),
                "proof": [p.hex() for p in self.proof],
            }
        )

    @classmethod
    def parse(cls, data: bytes) -> Entry:
        """Parse a stored entry; LogError says what is malformed."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LogError(f"entry is not JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.keys() != ENTRY_FIELDS:
            raise LogError("entry does not have exactly the fields " + ", ".join(sorted(ENTRY_FIELDS)))
        index, rid, record, inp, root = doc["index"], doc["id"], doc["record"], doc["input"], doc["root"]
        proof = doc["proof"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise LogError("entry index is not a non-negative integer")
        if not isinstance(rid, str) or not rid:
            raise LogError("entry record id is not a string")
        if not _is_digest(record) or not (inp is None or _is_digest(inp)):
            raise LogError("entry record or input digest is not sha256:<64 hex>")
        if not isinstance(root, str) or not HEX64.fullmatch(root):
            raise LogError("entry root is not a hash")
        if not isinstance(proof, list) or not all(isinstance(p, str) and HEX64.fullmatch(p) for p in proof):
            raise LogError("entry proof is not a list of hashes")
        return cls(index, rid, record, inp, bytes.fromhex(root), tuple(bytes.fromhex(p) for p in proof))


def leaf_bytes(index: int, record_id: str, record: str, stored_input: str | None) -> bytes:
    """RFC 8785 bytes of {id, index, input, record}: keys in order, strings as json writes them
    (which for these strings, with ensure_ascii off, is the RFC 8785 form)."""
    return json.dumps(
        {"id": record_id, "index": index, "input": stored_input, "record": record},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("sha256:") and bool(HEX64.fullmatch(value, 7))


@dataclass(frozen=True)
class Appended:
    """Where a record went: its index, digests, the root of the tree it ends and its inclusion proof
    in that tree, and the signed checkpoint the append ended with."""

    index: int
    record: str
    input: str | None
    root: bytes
    proof: tuple[bytes, ...]
    checkpoint: str


class AuditLog:
    """A log directory: append under the lock, read entries and files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # --- reading -------------------------------------------------------------------------------

    def file(self, *parts: str) -> Path:
        """A path inside the log."""
        return self.path.joinpath(*parts)

    def read(self, *parts: str) -> bytes:
        """A file's bytes; LogError names the file when it cannot be read."""
        path = os.path.join(self.path, *parts)
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise LogError(f"{path}: missing", DAMAGED_HINT) from None
        except OSError as exc:
            raise LogError(f"{path}: cannot read ({exc.strerror})") from None

    def exists(self) -> bool:
        """Whether the directory holds a log."""
        return self.file(LOG_PUB).is_file()

    def verifier(self) -> NoteVerifier:
        """The log key's verifier, from log.pub."""
        text = self.read(LOG_PUB).decode("utf-8", "replace").strip()
        try:
            return NoteVerifier.from_vkey(text)
        except NoteError as exc:
            raise LogError(f"{self.file(LOG_PUB)}: not a verifier key ({exc})", DAMAGED_HINT) from None

    def checkpoint_text(self) -> str:
        """The latest signed checkpoint, as stored."""
        return self.read(CHECKPOINT).decode("utf-8", "replace")

    def checkpoint(self, verifier: NoteVerifier) -> Checkpoint:
        """The latest checkpoint, its signature verified."""
        return open_checkpoint(self.checkpoint_text(), verifier, str(self.file(CHECKPOINT)))

    def entry(self, index: int) -> Entry:
        """Entry index, parsed."""
        try:
            return Entry.parse(self.read(ENTRIES, entry_name(index)))
        except LogError as exc:
            if "missing" in str(exc):
                raise
            raise LogError(f"{self.file(ENTRIES, entry_name(index))}: {exc}", DAMAGED_HINT) from None

    def record(self, digest: str) -> bytes:
        """A record bundle's bytes by digest."""
        return self.read(RECORDS, blob_name(digest))

    def stored_input(self, digest: str) -> bytes:
        """A stored input document's bytes by digest."""
        return self.read(INPUTS, blob_name(digest))

    def size(self) -> int:
        """Entries covered by the latest checkpoint (0 for a new log)."""
        if not self.file(CHECKPOINT).exists():
            return 0
        return self.checkpoint(self.verifier()).size

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sequencer lock (blocking until other writers are done)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file(LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LogError(f"{self.path}: cannot open the log ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def append(self, bundle: bytes, record_id: str, stored_input: bytes | None, key: NoteSigner) -> Appended:
        """Append one record (and its stored input) as the next entry; returns where it went."""
        return self.append_many([(bundle, record_id, stored_input)], key)[0]

    def append_many(
        self, items: Sequence[tuple[bytes, str, bytes | None]], key: NoteSigner
    ) -> list[Appended]:
        """Append records (bundle, record id, stored input) in order, under one hold of the lock.

        The new files are flushed to disk (one sync for the batch) before the checkpoint moves
        past them.
        """
        added: list[tuple[int, str, str | None, bytes, tuple[bytes, ...]]] = []
        with self.locked():
            self._remove_temporaries()
            verifier = self._ensure_key(key)
            tree = self._recover(verifier)
            for bundle, record_id, stored_input in items:
                added.append(self._add(tree, bundle, record_id, stored_input))
            if not added:
                return []
            os.sync()
            note = self._sign(tree, key)
        return [Appended(i, record, inp, root, proof, note) for i, record, inp, root, proof in added]

    def _sign(self, tree: CompactTree, key: NoteSigner) -> str:
        note = sign_note(Checkpoint(key.name, tree.size, tree.root()).to_text(), [key])
        self._replace(note.encode("utf-8"), CHECKPOINT)
        return note

    def _add(
        self, tree: CompactTree, bundle: bytes, record_id: str, stored: bytes | None
    ) -> tuple[int, str, str | None, bytes, tuple[bytes, ...]]:
        input_digest = None
        if stored is not None:
            input_digest = sha256_digest(stored)
            self._create(stored, INPUTS, blob_name(input_digest))
        record_digest = sha256_digest(bundle)
        self._create(bundle, RECORDS, blob_name(record_digest))
        index = tree.size
        proof = tuple(reversed(tree.nodes))
        tree.append(leaf_hash(leaf_bytes(index, record_id, record_digest, input_digest)))
        root = tree.root()
        entry = Entry(index, record_id, record_digest, input_digest, root, proof)
        self._create(entry.to_bytes(), ENTRIES, entry_name(index))
        return index, record_digest, input_digest, root, proof

    def _ensure_key(self, key: NoteSigner) -> NoteVerifier:
        mine = key.verifier
        pub = self.file(LOG_PUB)
        if not pub.exists():
            if self.file(CHECKPOINT).exists() or self.file(ENTRIES, entry_name(0)).exists():
                raise LogError(f"{pub}: missing, but the log has entries", DAMAGED_HINT)
            self._replace((mine.vkey + "\n").encode("utf-8"), LOG_PUB)
            return mine
        theirs = self.verifier()
        if theirs.vkey != mine.vkey:
            raise LogError(
                f"{self.path}: the log is signed by log key {theirs.vkey}, not by this gate's log key",
                "configure the log key this log was created with (GATE_LOG_KEY or audit.log_key), "
                "or use another --audit-log",
            )
        return theirs

    def _recover(self, verifier: NoteVerifier) -> CompactTree:
        """The tree as of the last entry, adopting entries a killed writer left past the checkpoint.

        Adopted entries are covered by the next checkpoint this writer signs.
        """
        tree = CompactTree()
        if self.file(CHECKPOINT).exists():
            cp = self.checkpoint(verifier)
            if cp.size > 0:
                tree = self._tree_through(self.entry(cp.size - 1), cp)
        while self.file(ENTRIES, entry_name(tree.size)).exists():
            self._adopt(tree, self.entry(tree.size))
        return tree

    def _tree_through(self, last: Entry, cp: Checkpoint) -> CompactTree:
        where = self.file(ENTRIES, entry_name(last.index))
        if last.index != cp.size - 1:
            raise LogError(f"{where}: holds index {last.index}", DAMAGED_HINT)
        try:
            tree = CompactTree.from_nodes(last.index, list(reversed(last.proof)))
        except AuditError:
            raise LogError(f"{where}: its proof does not fit its index", DAMAGED_HINT) from None
        tree.append(last.leaf_hash())
        if tree.root() != cp.root_hash or last.root != cp.root_hash:
            raise LogError(
                f"{self.file(CHECKPOINT)}: its root is not the root of the last entry", DAMAGED_HINT
            )
        return tree

    def _adopt(self, tree: CompactTree, entry: Entry) -> None:
        where = self.file(ENTRIES, entry_name(tree.size))
        if entry.index != tree.size or entry.proof != tuple(reversed(tree.nodes)):
            raise LogError(f"{where}: does not extend the log", DAMAGED_HINT)
        tree.append(entry.leaf_hash())
        if entry.root != tree.root():
            raise LogError(f"{where}: its root is not the tree it ends", DAMAGED_HINT)

    def _remove_temporaries(self) -> None:
        for path in self.path.glob(TMP_PREFIX + "*"):
            path.unlink(missing_ok=True)

    def _temp(self, data: bytes, sync: bool = True) -> Path:
        tmp = self.file(TMP_PREFIX + secrets.token_hex(8))
        with tmp.open("xb") as out:
            out.write(data)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        return tmp

    def _create(self, data: bytes, folder: str, name: str) -> None:
        """Create folder/name holding data, unless it exists (content-addressed or sequenced)."""
        target = self.file(folder, name)
        if target.exists():
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._temp(data, sync=False)
            try:
                os.link(tmp, target)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise LogError(f"{target}: cannot write ({exc.strerror})") from None

    def _replace(self, data: bytes, name: str) -> None:
        target = self.file(name)
        try:
            os.replace(self._temp(data), target)
        except OSError as exc:
            raise LogError(f"{target}: cannot write ({exc.strerror})") from None


def open_checkpoint(text: str, verifier: NoteVerifier, where: str) -> Checkpoint:
    """A signed checkpoint, verified with the log key and parsed; LogError says what is wrong."""
    try:
        note = open_note(text, [verifier])
        cp = Checkpoint.parse(note.text)
    except NoteError as exc:
        raise LogError(f"{where}: checkpoint signature does not verify with the log key ({exc})") from None
    except AuditError as exc:
        raise LogError(f"{where}: not a checkpoint ({exc})") from None
    if cp.origin != verifier.name:
        raise LogError(f"{where}: checkpoint of log {cp.origin!r}, not {verifier.name!r}")
    return cp
