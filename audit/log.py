"""The append-only decision log: an RFC 6962 Merkle tree served as C2SP tlog-tiles, with signed
checkpoints.

Layout of a log directory (every file holds verified data; `.lock` is the only exemption):

    log.pub                    the log's C2SP verifier key (checkpoints are signed by its key)
    checkpoint                 the latest checkpoint, a C2SP signed note (replaced by rename)
    tile/entries/<N>[.p/<W>]   entry bundles: leaf i is the RFC 8785 encoding of
                               {id, index, input, record}, each as a uint16 length and its bytes
    tile/<L>/<N>[.p/<W>]       hash tiles: the hashes of tree level 8L, 256 to a tile
    records/sha256-<hex>.json  the record bundles, content-addressed, create-only
    inputs/sha256-<hex>.json   the input documents (secrets masked), content-addressed, create-only

Tiles are create-only (see audit/tiles.py). One sequencer at a time holds an exclusive lock on
`.lock`; every file is written to a temporary file first and hard-linked (or, for the checkpoint,
renamed) into place, in the order records and inputs, entry bundles, hash tiles, checkpoint, so a
writer killed at any moment leaves a log that verifies, and the next writer adopts the entries it
left past the checkpoint and removes the partial tiles no longer served.
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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.envelope import OpenedBundle, open_bundle
from audit.errors import AuditError
from audit.merkle import CompactTree, leaf_hash
from audit.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_note, sign_note
from audit.record import EXTENSION, PREDICATE_TYPE, STATEMENT_TYPE, detail_of
from audit.tiles import (
    BUNDLES,
    HEIGHT,
    MAX_BUNDLE,
    MAX_HASH_TILE,
    MAX_LEAF,
    TILE,
    WIDTH,
    TileError,
    appended_tiles,
    decode_bundle,
    decode_hash_tile,
    perfect_root,
    tile_bytes,
    tile_parts,
    tile_width,
)

LOG_PUB = "log.pub"
CHECKPOINT = "checkpoint"
ENTRIES = "entries"  # the layout before tiles: entries/<index>.json
RECORDS = "records"
INPUTS = "inputs"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
LEAF_FIELDS = frozenset({"index", "id", "record", "input"})
HEX64 = re.compile(r"[0-9a-f]{64}")
DAMAGED_HINT = "run `gate audit verify --log DIR` to see what is wrong"
LEGACY_HINT = "the log is in the layout before tiles (entries/<index>.json)"
MIGRATE_HINT = "migrate it with `gate audit migrate --log DIR`"
# The largest file of each kind a reader accepts (and a writer writes): a log folder is written by
# whoever can write to it, so no read may be unbounded.
MAX_BYTES = {
    LOG_PUB: 4096,
    CHECKPOINT: 64 * 1024,
    ENTRIES: 64 * 1024,  # an entry of the layout before tiles, with at most 64 proof hashes
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


def limit_of(parts: Sequence[str]) -> int:
    """The byte limit for the file at parts: a hash tile, an entry bundle, or by its folder."""
    if parts[0] == TILE:
        return MAX_BUNDLE if len(parts) > 1 and parts[1] == BUNDLES else MAX_HASH_TILE
    return MAX_BYTES[parts[0]]


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
    # no folder on the way may be a link either: open each with O_NOFOLLOW, then the file in it
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.path.join(root, parts[0]), flags)
    try:
        for part in parts[1:-1]:
            inner = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], OPEN_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _refusal(path: str, exc: OSError, root: str, parts: Sequence[str]) -> LogError:
    """The one-line error for a file of the log that cannot be opened."""
    if isinstance(exc, FileNotFoundError):
        return MissingFile(f"{path}: missing", DAMAGED_HINT)
    try:
        for depth in range(1, len(parts)):
            mode = os.lstat(os.path.join(root, *parts[:depth])).st_mode
            if not stat.S_ISDIR(mode):
                folder = "/".join(parts[:depth])
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
    """The file name of entry index in the layout before tiles."""
    return f"{index:012d}.json"


def blob_name(digest: str) -> str:
    """The file name of a content-addressed file with digest `sha256:<hex>`."""
    return "sha256-" + digest.removeprefix("sha256:") + ".json"


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of data."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry of the log: the fields of its Merkle leaf."""

    index: int
    record_id: str
    record: str
    input: str | None

    def leaf_data(self) -> bytes:
        """The bytes hashed as this entry's Merkle leaf (RFC 8785), as its entry bundle holds them."""
        return leaf_bytes(self.index, self.record_id, self.record, self.input)

    def leaf_hash(self) -> bytes:
        """RFC 6962 leaf hash of leaf_data()."""
        return leaf_hash(self.leaf_data())

    @classmethod
    def parse(cls, data: bytes) -> Entry:
        """Parse a leaf as an entry bundle holds it; LogError says what is malformed (a leaf that is
        not exactly the RFC 8785 form of its fields is refused: one entry, one encoding)."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LogError(f"entry is not JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.keys() != LEAF_FIELDS:
            raise LogError("entry does not have exactly the fields " + ", ".join(sorted(LEAF_FIELDS)))
        index, rid, record, inp = doc["index"], doc["id"], doc["record"], doc["input"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise LogError("entry index is not a non-negative integer")
        if not isinstance(rid, str) or not rid:
            raise LogError("entry record id is not a string")
        if not _is_digest(record) or not (inp is None or _is_digest(inp)):
            raise LogError("entry record or input digest is not sha256:<64 hex>")
        entry = cls(index, rid, record, inp)
        if entry.leaf_data() != data:
            raise LogError("entry is not in its RFC 8785 form")
        return entry


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
    """Where a record went: its index, digests, and the signed checkpoint the append ended with."""

    index: int
    record: str
    input: str | None
    checkpoint: str


class AuditLog:
    """A log directory: append under the lock, read entries, tiles and files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._bundle: tuple[tuple[str, ...], list[bytes]] | None = None

    # --- reading -------------------------------------------------------------------------------

    def file(self, *parts: str) -> Path:
        """A path inside the log."""
        return self.path.joinpath(*parts)

    def read(self, *parts: str) -> bytes:
        """A file's bytes, bounded by its kind's limit; LogError names the file when it cannot be
        read, is missing (MissingFile), is not a regular file, or is too large."""
        return read_log_file(self.path, parts, limit_of(parts))

    def digest(self, *parts: str) -> str:
        """`sha256:<hex>` of a file, read in chunks; LogError as for read."""
        return digest_log_file(self.path, parts, limit_of(parts))

    def present(self, *parts: str) -> bool:
        """Whether something (of any kind, a dangling link too) is at that path in the log."""
        return os.path.lexists(self.file(*parts))

    def exists(self) -> bool:
        """Whether the directory holds a log."""
        return self.present(LOG_PUB)

    def legacy(self) -> bool:
        """Whether the log is in the layout before tiles (one entries/<index>.json per entry)."""
        return self.present(ENTRIES)

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

    def tile_widths(self, level: int | None, n: int) -> list[int]:
        """The widths present of hash tile (level, N) (entry bundle N when level is None), widest
        first: 256 for the full tile, then its partial tiles."""
        full = tile_parts(level, n, WIDTH)
        widths = [WIDTH] if self.present(*full) else []
        try:
            names = os.listdir(self.file(*full[:-1], full[-1] + ".p"))
        except OSError:
            names = []
        widths += sorted((int(w) for w in names if w.isdigit() and 0 < int(w) < WIDTH), reverse=True)
        return widths

    def _covering(self, level: int | None, n: int, need: int) -> int:
        """The narrowest width present of tile (level, N) holding at least need items."""
        fits = [w for w in self.tile_widths(level, n) if w >= need]
        if not fits:
            if self.legacy():
                raise LogError(f"{self.path}: {LEGACY_HINT}", MIGRATE_HINT)
            raise MissingFile(f"{self.file(*tile_parts(level, n, need))}: missing", DAMAGED_HINT)
        return fits[-1]

    def bundle(self, n: int, width: int) -> list[bytes]:
        """The leaves of entry bundle N of that width (the last one read is kept: tiles are
        create-only, so a path always holds the same bytes)."""
        parts = tile_parts(None, n, width)
        if self._bundle is not None and self._bundle[0] == parts:
            return self._bundle[1]
        try:
            leaves = decode_bundle(self.read(*parts), width)
        except TileError as exc:
            raise LogError(f"{self.file(*parts)}: {exc}", DAMAGED_HINT) from None
        self._bundle = (parts, leaves)
        return leaves

    def hash_tile(self, level: int, n: int, width: int) -> list[bytes]:
        """The hashes of hash tile (level, N) of that width."""
        parts = tile_parts(level, n, width)
        try:
            return decode_hash_tile(self.read(*parts), width)
        except TileError as exc:
            raise LogError(f"{self.file(*parts)}: {exc}", DAMAGED_HINT) from None

    def entry(self, index: int) -> Entry:
        """Entry index, parsed from its entry bundle (MissingFile when there is none)."""
        n, offset = divmod(index, WIDTH)
        width = self._covering(None, n, offset + 1)
        leaf = self.bundle(n, width)[offset]
        where = self.file(*tile_parts(None, n, width))
        try:
            entry = Entry.parse(leaf)
        except LogError as exc:
            raise LogError(f"{where}: entry {index}: {exc}", DAMAGED_HINT) from None
        if entry.index != index:
            raise LogError(f"{where}: entry {index} holds index {entry.index}", DAMAGED_HINT)
        return entry

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The RFC 6962 hash of the complete subtree of 2**level leaves that starts at leaf
        index * 2**level, read from one hash tile (and hashed up from it for a level between
        tile levels); MissingFile when the log does not hold that subtree yet."""
        if level < 0 or index < 0 or level >= 64:
            raise LogError(f"no subtree at level {level}, index {index}")
        tile_level, below = divmod(level, HEIGHT)
        first = index << below  # the subtree's first node at level 8 * tile_level
        n, offset = divmod(first, WIDTH)
        count = 1 << below
        width = self._covering(tile_level, n, offset + count)
        hashes = self.hash_tile(tile_level, n, width)
        return perfect_root(hashes[offset : offset + count])

    def tree(self, size: int) -> CompactTree:
        """The compact tree (perfect-subtree roots) of the first size leaves, from the hash tiles:
        one subtree_hash per bit of size."""
        from audit.proof import compact_tree  # audit.proof reads logs: imported when used

        return compact_tree(self, size)

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

        Records and inputs are written first, then the entry bundles, then the hash tiles, and
        the new files are flushed to disk (one sync for the batch) before the checkpoint moves
        past them. Entries a killed writer left past the checkpoint are adopted first, each only if
        its record is there, names this log and verifies (its signature by `check`, when given);
        otherwise LogError says which entry was refused and nothing is appended.
        """
        for bundle, _, stored_input in items:
            self._check_size(RECORDS, bundle)
            if stored_input is not None:
                self._check_size(INPUTS, stored_input)
        with self.locked():
            if self.legacy():
                raise LogError(f"{self.path}: {LEGACY_HINT}", MIGRATE_HINT)
            self._remove_temporaries()
            verifier = self._ensure_key(key)
            base, tree, leaves = self._recover(verifier, check)
            added: list[tuple[int, str, str | None]] = []
            for bundle, record_id, stored_input in items:
                leaf, record_digest, input_digest = self._add_blobs(
                    tree.size, bundle, record_id, stored_input
                )
                added.append((tree.size, record_digest, input_digest))
                tree.append(leaf_hash(leaf))
                leaves.append(leaf)
            if not added:
                return []
            self.write_tiles(base, leaves)
            os.sync()
            note = self._sign(tree, key)
            # from the tile before: partial tiles a writer killed after its checkpoint left there
            self.remove_stale_partials(max(0, base - 1), tree.size)
        return [Appended(i, record, inp, note) for i, record, inp in added]

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

    def _add_blobs(
        self, index: int, bundle: bytes, record_id: str, stored: bytes | None
    ) -> tuple[bytes, str, str | None]:
        input_digest = None
        if stored is not None:
            input_digest = sha256_digest(stored)
            self._create(stored, INPUTS, blob_name(input_digest))
        record_digest = sha256_digest(bundle)
        leaf = leaf_bytes(index, record_id, record_digest, input_digest)
        if len(leaf) > MAX_LEAF:
            raise LogError(
                f"record id of {len(record_id)} characters: its entry is over the {MAX_LEAF}-byte limit",
                "use a shorter record id",
            )
        self._create(bundle, RECORDS, blob_name(record_digest))
        return leaf, record_digest, input_digest

    def write_tiles(self, base: int, leaves: Sequence[bytes]) -> None:
        """Write the entry bundles, then the hash tiles, of the leaves that follow the first base
        (whose tiles are there); each file is create-only, and one already there must hold the
        same bytes."""
        for level, n, items in appended_tiles(base, leaves, self.bundle, self.hash_tile):
            self._create_tile(tile_bytes(level, items), tile_parts(level, n, len(items)))

    def remove_stale_partials(self, base: int, size: int) -> None:
        """Remove the partial tiles a log of size leaves no longer serves (narrower ones, left by
        earlier appends, and ones an interrupted append left) at the tiles an append from base
        leaves to size wrote."""
        levels: list[int | None] = [None]
        level, count = 0, size
        while count:
            levels.append(level)
            level, count = level + 1, count // WIDTH
        for lv in levels:
            shift = HEIGHT * (lv or 0)
            for n in range((base >> shift) // WIDTH, (size >> shift) // WIDTH + 1):
                keep = tile_width(lv or 0, n, size)
                full = tile_parts(lv, n, WIDTH)
                folder = self.file(*full[:-1], full[-1] + ".p")
                try:
                    names = os.listdir(folder)
                except OSError:
                    continue
                for name in names:
                    if name != str(keep) and (folder / name).is_file():
                        (folder / name).unlink(missing_ok=True)
                with suppress(OSError):
                    folder.rmdir()  # only when it is empty

    def _create_tile(self, data: bytes, parts: tuple[str, ...]) -> None:
        target = self.file(*parts)
        if os.path.lexists(target):
            if self.read(*parts) != data:
                raise LogError(
                    f"{target}: holds other data than the entries before the checkpoint (planted or damaged)",
                    DAMAGED_HINT,
                )
            return
        self._create(data, *parts)

    def _ensure_key(self, key: NoteSigner) -> NoteVerifier:
        mine = key.verifier
        pub = self.file(LOG_PUB)
        if not self.present(LOG_PUB):
            if self.present(CHECKPOINT) or self.present(TILE):
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

    def _recover(
        self, verifier: NoteVerifier, check: RecordCheck | None
    ) -> tuple[int, CompactTree, list[bytes]]:
        """(size the checkpoint covers, the tree as of the last entry, the leaves past the
        checkpoint): entries a killed writer left past the checkpoint in entry bundles are adopted,
        and covered by the next checkpoint this writer signs."""
        base = 0
        tree = CompactTree()
        if self.present(CHECKPOINT):
            cp = self.checkpoint(verifier)
            base = cp.size
            try:
                tree = self.tree(base)
            except LogError as exc:
                raise LogError(f"{exc} (the tiles of the checkpoint)", DAMAGED_HINT) from None
            if tree.root() != cp.root_hash:
                raise LogError(
                    f"{self.file(CHECKPOINT)}: its root is not the root of the log's hash tiles", DAMAGED_HINT
                )
        leaves: list[bytes] = []
        known = self.bundle(base // WIDTH, base % WIDTH) if base % WIDTH else []
        while True:
            n, offset = divmod(tree.size, WIDTH)
            widths = self.tile_widths(None, n)
            if not widths or widths[0] <= offset:
                return base, tree, leaves
            where = self.file(*tile_parts(None, n, widths[0]))
            bundle = self.bundle(n, widths[0])
            if bundle[:offset] != known:
                raise LogError(f"{where}: does not extend the log", DAMAGED_HINT)
            for i in range(offset, widths[0]):
                self._adopt(tree, bundle[i], verifier, check, where)
                leaves.append(bundle[i])
            known = []

    def _adopt(
        self, tree: CompactTree, leaf: bytes, verifier: NoteVerifier, check: RecordCheck | None, where: Path
    ) -> None:
        try:
            entry = Entry.parse(leaf)
        except LogError as exc:
            raise LogError(f"{where}: entry {tree.size}: {exc}", DAMAGED_HINT) from None
        if entry.index != tree.size:
            raise LogError(f"{where}: entry {tree.size} holds index {entry.index}", DAMAGED_HINT)
        refused = self._not_adoptable(entry, verifier, check)
        if refused:
            raise LogError(
                f"{where}: entry {entry.index}, a leftover entry past the checkpoint, was not adopted: {refused}",
                "nothing was appended; see `gate audit verify --log DIR`, and if the entry is not "
                "this log's, move that entry bundle (and the ones after it) out of the log folder",
            )
        tree.append(entry.leaf_hash())

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

    def _create(self, data: bytes, *parts: str) -> None:
        """Create the file at parts holding data, unless it exists (content-addressed or tiles)."""
        target = self.file(*parts)
        if os.path.lexists(target):
            return
        try:
            folder = self.path
            for part in parts[:-1]:
                folder = folder / part
                with suppress(FileExistsError):
                    folder.mkdir()
                mode = os.lstat(folder).st_mode
                if not stat.S_ISDIR(mode):  # never write through a link to somewhere else
                    raise LogError(f"{folder}: {kind_of(mode)}, not a folder: refused", DAMAGED_HINT)
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
