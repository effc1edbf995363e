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
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.envelope import OpenedBundle, open_bundle
from audit.errors import AuditError
from audit.merkle import CompactTree, leaf_hash
from audit.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_note, sign_note
from audit.record import EXTENSION, PREDICATE_TYPE, STATEMENT_TYPE, canonical, detail_of

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
# The largest file of each kind a reader accepts (and a writer writes): a log folder is written by
# whoever can write to it, so no read may be unbounded. An entry holds at most 64 proof hashes.
MAX_BYTES = {
    LOG_PUB: 4096,
    CHECKPOINT: 64 * 1024,
    ENTRIES: 64 * 1024,
    RECORDS: 1024 * 1024 * 1024,  # a record of ~3 million findings
    INPUTS: 2 * 1024 * 1024 * 1024,  # verify streams inputs through sha256; replay loads one
}
READ_CHUNK = 1024 * 1024
# O_NOFOLLOW: a symbolic link in the log is refused, never followed (to /dev/zero, or out of the
# log); O_NONBLOCK: opening a FIFO returns at once (and fstat then refuses it) instead of hanging.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
FILE_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
}
# Checks a record bundle's signature before a writer adopts a leftover entry; returns the signed
# statement, or raises AuditError.
RecordCheck = Callable[[bytes], dict[str, Any]]


class LogError(AuditError):
    """The log cannot be read or written, or is damaged."""


class MissingFile(LogError):
    """A file of the log is not there."""


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    return FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _open_in_log(root: str, parts: Sequence[str]) -> int:
    """An fd of root/parts..., opened without following a symbolic link at any level below root."""
    if len(parts) == 1:
        return os.open(os.path.join(root, parts[0]), OPEN_FLAGS)
    # the folder itself must not be a link either: open it with O_NOFOLLOW, then the file in it
    folder = os.path.join(root, *parts[:-1])
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        return os.open(parts[-1], OPEN_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _refusal(path: str, exc: OSError, root: str, parts: Sequence[str]) -> LogError:
    """The one-line error for a file of the log that cannot be opened."""
    if isinstance(exc, FileNotFoundError):
        return MissingFile(f"{path}: missing", DAMAGED_HINT)
    try:
        mode = os.lstat(os.path.join(root, *parts[:-1])).st_mode
        if parts[:-1] and not stat.S_ISDIR(mode):
            folder = "/".join(parts[:-1])
            return LogError(f"{path}: its folder {folder} is {kind_of(mode)}: refused", DAMAGED_HINT)
        mode = os.lstat(path).st_mode
    except OSError:
        return LogError(f"{path}: cannot read ({exc.strerror})", DAMAGED_HINT)
    if not stat.S_ISREG(mode):
        return LogError(f"{path}: {kind_of(mode)}, not a regular file: refused", DAMAGED_HINT)
    return LogError(f"{path}: cannot read ({exc.strerror})", DAMAGED_HINT)


@contextmanager
def open_log_file(root: Path, parts: Sequence[str], limit: int) -> Iterator[tuple[int, int]]:
    """(fd, size) of a regular file of the log, opened with O_NOFOLLOW; LogError in one line when it
    is missing, a symbolic link, a FIFO, a device, a folder, or larger than limit bytes."""
    path = os.path.join(root, *parts)
    try:
        fd = _open_in_log(str(root), parts)
    except OSError as exc:
        raise _refusal(path, exc, str(root), parts) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LogError(f"{path}: {kind_of(st.st_mode)}, not a regular file: refused", DAMAGED_HINT)
        if st.st_size > limit:
            raise LogError(
                f"{path}: {st.st_size} bytes, over the {limit}-byte limit for this file", DAMAGED_HINT
            )
        yield fd, st.st_size
    finally:
        os.close(fd)


def _log_file_chunks(root: Path, parts: Sequence[str], limit: int) -> Iterator[bytes]:
    """The chunks of a regular file of the log (see open_log_file); LogError once more than
    limit bytes were read (it grew while read) or a read fails."""
    path = os.path.join(root, *parts)
    total = 0
    with open_log_file(root, parts, limit) as (fd, _):
        try:
            while chunk := os.read(fd, min(READ_CHUNK, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    raise LogError(f"{path}: grew over the {limit}-byte limit while read", DAMAGED_HINT)
                yield chunk
        except OSError as exc:
            raise LogError(f"{path}: cannot read ({exc.strerror})", DAMAGED_HINT) from None


def read_log_file(root: Path, parts: Sequence[str], limit: int) -> bytes:
    """The bytes of a regular file of the log, at most limit of them (see open_log_file)."""
    return b"".join(_log_file_chunks(root, parts, limit))


def digest_log_file(root: Path, parts: Sequence[str], limit: int) -> str:
    """`sha256:<hex>` of a regular file of the log, read in chunks (bounded memory)."""
    h = hashlib.sha256()
    for chunk in _log_file_chunks(root, parts, limit):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


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
        """A file's bytes, bounded by its kind's limit; LogError names the file when it cannot be
        read, is missing (MissingFile), is not a regular file, or is too large."""
        return read_log_file(self.path, parts, MAX_BYTES[parts[0]])

    def digest(self, *parts: str) -> str:
        """`sha256:<hex>` of a file, read in chunks; LogError as for read."""
        return digest_log_file(self.path, parts, MAX_BYTES[parts[0]])

    def present(self, *parts: str) -> bool:
        """Whether something (of any kind, a dangling link too) is at that path in the log."""
        return os.path.lexists(self.file(*parts))

    def exists(self) -> bool:
        """Whether the directory holds a log."""
        return self.present(LOG_PUB)

    def verifier(self) -> NoteVerifier:
        """The log key's verifier, from the folder's own log.pub (only as trustworthy as the folder:
        an auditor pins the key instead)."""
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
        """Entry index, parsed (MissingFile when there is none)."""
        data = self.read(ENTRIES, entry_name(index))
        try:
            return Entry.parse(data)
        except LogError as exc:
            raise LogError(f"{self.file(ENTRIES, entry_name(index))}: {exc}", DAMAGED_HINT) from None

    def record(self, digest: str) -> bytes:
        """A record bundle's bytes by digest."""
        return self.read(RECORDS, blob_name(digest))

    def stored_input(self, digest: str) -> bytes:
        """A stored input document's bytes by digest."""
        return self.read(INPUTS, blob_name(digest))

    def size(self) -> int:
        """Entries covered by the latest checkpoint (0 for a new log)."""
        if not self.present(CHECKPOINT):
            return 0
        return self.checkpoint(self.verifier()).size

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sequencer lock (blocking until other writers are done)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file(LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise LogError(f"{self.path}: cannot open the log ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def append(
        self,
        bundle: bytes,
        record_id: str,
        stored_input: bytes | None,
        key: NoteSigner,
        check: RecordCheck | None = None,
    ) -> Appended:
        """Append one record (and its stored input) as the next entry; returns where it went."""
        return self.append_many([(bundle, record_id, stored_input)], key, check)[0]

    def append_many(
        self,
        items: Sequence[tuple[bytes, str, bytes | None]],
        key: NoteSigner,
        check: RecordCheck | None = None,
    ) -> list[Appended]:
        """Append records (bundle, record id, stored input) in order, under one hold of the lock.

        The new files are flushed to disk (one sync for the batch) before the checkpoint moves
        past them. Entries a killed writer left past the checkpoint are adopted first, each only if
        its record is there, names this log and verifies (its signature by `check`, when given);
        otherwise LogError says which entry was refused and nothing is appended.
        """
        for bundle, _, stored_input in items:
            self._check_size(RECORDS, bundle)
            if stored_input is not None:
                self._check_size(INPUTS, stored_input)
        added: list[tuple[int, str, str | None, bytes, tuple[bytes, ...]]] = []
        with self.locked():
            self._remove_temporaries()
            verifier = self._ensure_key(key)
            tree = self._recover(verifier, check)
            for bundle, record_id, stored_input in items:
                added.append(self._add(tree, bundle, record_id, stored_input))
            if not added:
                return []
            os.sync()
            note = self._sign(tree, key)
        return [Appended(i, record, inp, root, proof, note) for i, record, inp, root, proof in added]

    def _check_size(self, folder: str, data: bytes) -> None:
        if len(data) > MAX_BYTES[folder]:
            raise LogError(
                f"{self.file(folder)}: a {len(data)}-byte file is over the {MAX_BYTES[folder]}-byte "
                "limit readers of the log accept",
                "reduce the findings or input of this decision",
            )

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
        if not self.present(LOG_PUB):
            if self.present(CHECKPOINT) or self.present(ENTRIES, entry_name(0)):
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
        return mine

    def _recover(self, verifier: NoteVerifier, check: RecordCheck | None) -> CompactTree:
        """The tree as of the last entry, adopting entries a killed writer left past the checkpoint.

        Adopted entries are covered by the next checkpoint this writer signs.
        """
        tree = CompactTree()
        if self.present(CHECKPOINT):
            cp = self.checkpoint(verifier)
            if cp.size > 0:
                tree = self._tree_through(self.entry(cp.size - 1), cp)
        while self.present(ENTRIES, entry_name(tree.size)):
            self._adopt(tree, self.entry(tree.size), verifier, check)
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

    def _adopt(
        self, tree: CompactTree, entry: Entry, verifier: NoteVerifier, check: RecordCheck | None
    ) -> None:
        where = self.file(ENTRIES, entry_name(tree.size))
        if entry.index != tree.size or entry.proof != tuple(reversed(tree.nodes)):
            raise LogError(f"{where}: does not extend the log", DAMAGED_HINT)
        refused = self._not_adoptable(entry, verifier, check)
        if refused:
            raise LogError(
                f"{where}: a leftover entry past the checkpoint was not adopted: {refused}",
                "nothing was appended; see `gate audit verify --log DIR`, and if the entry is not "
                "this log's, move it (and the entries after it) out of the log folder",
            )
        tree.append(entry.leaf_hash())
        if entry.root != tree.root():
            raise LogError(f"{where}: its root is not the tree it ends", DAMAGED_HINT)

    def _not_adoptable(self, entry: Entry, verifier: NoteVerifier, check: RecordCheck | None) -> str | None:
        """Why a leftover entry must not be adopted (None when it may be): its record must be there,
        verify, name this log and agree with the entry, and its stored input must be there."""
        try:
            data = self.record(entry.record)
        except LogError as exc:
            return f"its record cannot be read ({str(exc).rsplit(': ', 1)[-1]})"
        if sha256_digest(data) != entry.record:
            return "its record's digest is not the one the entry holds"
        try:
            statement = check(data) if check is not None else statement_of(data)
        except AuditError as exc:
            return f"its record does not verify ({exc})"
        foreign = not_of_log(detail_of(statement), verifier.name, verifier.vkey)
        if foreign:
            return foreign
        detail = detail_of(statement)
        if detail.get("recordId") != entry.record_id or detail.get("storedInput") != entry.input:
            return "its record's id or stored input is not the entry's"
        if entry.input is not None:
            try:
                if self.digest(INPUTS, blob_name(entry.input)) != entry.input:
                    return "its stored input's digest is not its name"
            except LogError as exc:
                return f"its stored input cannot be read ({str(exc).rsplit(': ', 1)[-1]})"
        return None

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
        if os.path.lexists(target):
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            mode = os.lstat(target.parent).st_mode
            if not stat.S_ISDIR(mode):  # never write through a link to somewhere else
                raise LogError(f"{target.parent}: {kind_of(mode)}, not a folder: refused", DAMAGED_HINT)
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


def not_of_log(detail: dict[str, Any], origin: str, vkey: str) -> str | None:
    """Why a record's detail does not name the log of this origin and verifier key (None if it does)."""
    named = detail.get("log")
    if named is None:
        return f"the record names no log, so it is not known to belong to this log {origin!r}"
    if named != origin:
        return f"the record belongs to log {named!r}, not to this log {origin!r}"
    if detail.get("logKey") != vkey:
        return f"the record names log key {detail.get('logKey')!r}, not this log's {vkey!r}"
    return None


def statement_of(data: bytes) -> dict[str, Any]:
    """The govgate decision statement a record bundle holds, decoded (its signature not checked);
    AuditError says what is malformed."""
    return bundle_statement(open_bundle(data))


def bundle_statement(bundle: OpenedBundle) -> dict[str, Any]:
    """The govgate decision statement of an opened bundle; AuditError says what is malformed."""
    try:
        statement = json.loads(bundle.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"signed payload is not JSON ({exc})") from None
    if (
        not isinstance(statement, dict)
        or statement.get("_type") != STATEMENT_TYPE
        or statement.get("predicateType") != PREDICATE_TYPE
        or not isinstance(statement.get("predicate"), dict)
        or not isinstance(statement["predicate"].get(EXTENSION), dict)
    ):
        raise AuditError("signed payload is not a govgate decision statement")
    return statement


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
