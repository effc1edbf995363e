"""Migration of a log from the layout before tiles (entries/<index>.json) to C2SP tlog-tiles.

The leaves are the same bytes, so the migrated log is the same tree with the same root, and the
signed checkpoint stays valid as it is. Migration first verifies the old log as its own layout
defines it (every entry's inclusion proof and root, the checkpoint's root, every record's and
input's digest), writes the tiles, then proves the new log equal to the old: same size, same
root read back from the hash tiles, the same entry at every index, the same records and inputs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from audit.errors import AuditError
from audit.log import (
    CHECKPOINT,
    ENTRIES,
    HEX64,
    INPUTS,
    LOG_PUB,
    RECORDS,
    TMP_PREFIX,
    AuditLog,
    Entry,
    LogError,
    MissingFile,
    blob_name,
    entry_name,
    sha256_digest,
)
from audit.merkle import CompactTree, verify_inclusion
from audit.note import Checkpoint, NoteSigner, NoteVerifier, sign_note

LEGACY_FIELDS = frozenset({"index", "id", "record", "input", "root", "proof"})


class MigrateError(AuditError):
    """The log cannot be migrated (it is not in the old layout, or does not verify)."""


@dataclass(frozen=True)
class Migrated:
    """What a migration did: where the tiled log is, its size and root, and whether the old
    checkpoint was kept as it was (else re-signed, to cover entries an interrupted append left)."""

    path: Path
    size: int
    root: bytes
    checkpoint_kept: bool


def _legacy_entry(log: AuditLog, index: int) -> tuple[Entry, bytes, tuple[bytes, ...]]:
    """Entry index of the old layout: its leaf fields, the root it holds and its proof."""
    where = log.file(ENTRIES, entry_name(index))
    try:
        doc = json.loads(log.read(ENTRIES, entry_name(index)))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MigrateError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.keys() != LEGACY_FIELDS:
        raise MigrateError(f"{where}: not an entry of the layout before tiles")
    leaf = {k: doc[k] for k in ("index", "id", "record", "input")}
    try:
        entry = Entry.parse(
            json.dumps(leaf, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        )
    except LogError as exc:
        raise MigrateError(f"{where}: {exc}") from None
    root, proof = doc["root"], doc["proof"]
    if not isinstance(root, str) or not HEX64.fullmatch(root):
        raise MigrateError(f"{where}: its root is not a hash")
    if not isinstance(proof, list) or not all(isinstance(p, str) and HEX64.fullmatch(p) for p in proof):
        raise MigrateError(f"{where}: its proof is not a list of hashes")
    return entry, bytes.fromhex(root), tuple(bytes.fromhex(p) for p in proof)


def _present_entries(log: AuditLog) -> int:
    """How many entries 0, 1, ... the old layout holds; MigrateError for any other file there."""
    try:
        names = os.listdir(log.file(ENTRIES))
    except OSError as exc:
        raise MigrateError(f"{log.file(ENTRIES)}: cannot list ({exc.strerror})") from None
    expected = {entry_name(i) for i in range(len(names))}
    stray = sorted(set(names) - expected)
    if stray:
        raise MigrateError(
            f"{log.file(ENTRIES, stray[0])}: not the next entry of the log (a gap, or a file that does "
            "not belong)",
            "run the version of govgate that wrote the log: `gate audit verify` names what is wrong",
        )
    return len(names)


def _check_old(log: AuditLog, verifier: NoteVerifier) -> tuple[Checkpoint, list[Entry], CompactTree]:
    """The old log, verified as its layout defines it: its checkpoint, entries and tree."""
    cp = log.checkpoint(verifier)
    count = _present_entries(log)
    if count < cp.size:
        raise MigrateError(f"{log.file(ENTRIES, entry_name(count))}: missing (deleted)")
    tree = CompactTree()
    entries: list[Entry] = []
    for index in range(count):
        entry, root, proof = _legacy_entry(log, index)
        where = log.file(ENTRIES, entry_name(index))
        if entry.index != index:
            raise MigrateError(f"{where}: holds index {entry.index}")
        if not verify_inclusion(entry.leaf_hash(), index, index + 1, list(proof), root):
            raise MigrateError(f"{where}: its inclusion proof does not verify (entry modified)")
        tree.append(entry.leaf_hash())
        if tree.root() != root:
            raise MigrateError(f"{where}: the entries up to here no longer hash to the root it holds")
        if tree.size == cp.size and tree.root() != cp.root_hash:
            raise MigrateError(f"{log.file(CHECKPOINT)}: its root is not the root of the entries it covers")
        if log.digest(RECORDS, blob_name(entry.record)) != entry.record:
            raise MigrateError(
                f"{log.file(RECORDS, blob_name(entry.record))}: modified: its digest is not its name"
            )
        if entry.input is not None and log.digest(INPUTS, blob_name(entry.input)) != entry.input:
            raise MigrateError(
                f"{log.file(INPUTS, blob_name(entry.input))}: modified: its digest is not its name"
            )
        entries.append(entry)
    if cp.size == 0 and tree.root() != cp.root_hash:
        raise MigrateError(f"{log.file(CHECKPOINT)}: its root is not the root of the entries it covers")
    return cp, entries, tree


def migrate(
    source: Path, target: Path | None, verifier: NoteVerifier | None, signer: NoteSigner | None = None
) -> Migrated:
    """Migrate the old-layout log at source into tiles: in place (target None: the tiles are
    written beside the old entries, which are removed once the new log is proved equal), or into
    the new folder target. verifier: the pinned log key (None: the folder's log.pub). Entries an
    interrupted append left past the checkpoint are carried over only with signer (the log key),
    which signs a checkpoint covering them; otherwise the old checkpoint is kept byte for byte."""
    old = AuditLog(source)
    if not source.is_dir() or not old.exists():
        raise MigrateError(f"{source}: not a govgate audit log (no {LOG_PUB})")
    if not old.legacy():
        raise MigrateError(f"{source}: already in the tiles layout", "nothing to migrate")
    found = old.verifier()
    verifier = verifier or found
    if found.vkey != verifier.vkey:
        raise MigrateError(
            f"{old.file(LOG_PUB)}: log key {found.name!r} is not the pinned log key {verifier.name!r}"
        )
    if signer is not None and signer.verifier.vkey != verifier.vkey:
        raise MigrateError("the log key given is not this log's key")
    with old.locked():
        cp, entries, tree = _check_old(old, verifier)
        leftovers = entries[cp.size :]
        if leftovers and signer is None:
            raise MigrateError(
                f"{old.file(ENTRIES, entry_name(cp.size))}: entries past the checkpoint (an interrupted append)",
                "pass the log key (--log-key log.key) to carry them over under a new checkpoint",
            )
        for entry in leftovers:
            refused = old._not_adoptable(entry, verifier, None)
            if refused:
                raise MigrateError(f"{old.file(ENTRIES, entry_name(entry.index))}: not adopted: {refused}")
        new = AuditLog(target) if target is not None else old
        if target is not None:
            if target.exists() and any(target.iterdir()):
                raise MigrateError(f"{target}: not empty", "name a new folder for the migrated log")
            target.mkdir(parents=True, exist_ok=True)
            _copy_blobs(old, new, entries)
        new.write_tiles(0, [e.leaf_data() for e in entries])
        _prove_equal(new, entries, tree)
        os.sync()
        if leftovers:
            assert signer is not None
            text = sign_note(Checkpoint(signer.name, tree.size, tree.root()).to_text(), [signer])
        else:
            text = old.checkpoint_text()
        if target is not None or leftovers:
            new._replace(text.encode("utf-8"), CHECKPOINT)
        if target is None:
            # the old entries go last, in one rename: until then the folder is still the old log
            retired = old.file(TMP_PREFIX + "entries-" + secrets.token_hex(8))
            os.rename(old.file(ENTRIES), retired)
            shutil.rmtree(retired)
        return Migrated(new.path, tree.size, tree.root(), not leftovers)


def _copy_blobs(old: AuditLog, new: AuditLog, entries: list[Entry]) -> None:
    new._replace(old.read(LOG_PUB), LOG_PUB)
    for entry in entries:
        new._create(old.record(entry.record), RECORDS, blob_name(entry.record))
        if entry.input is not None:
            new._create(old.stored_input(entry.input), INPUTS, blob_name(entry.input))


def _prove_equal(new: AuditLog, entries: list[Entry], tree: CompactTree) -> None:
    """The new log holds the old one: the same root from its hash tiles, the same entries, the
    same records and inputs."""
    try:
        if new.tree(tree.size).root() != tree.root():
            raise MigrateError(f"{new.path}: the migrated hash tiles do not hash to the old root")
        for entry in entries:
            if new.entry(entry.index) != entry:
                raise MigrateError(f"{new.path}: entry {entry.index} differs after migration")
            if sha256_digest(new.record(entry.record)) != entry.record:
                raise MigrateError(f"{new.path}: record of entry {entry.index} differs after migration")
            if entry.input is not None and new.digest(INPUTS, blob_name(entry.input)) != entry.input:
                raise MigrateError(f"{new.path}: stored input of entry {entry.index} differs after migration")
    except MissingFile as exc:
        raise MigrateError(f"the migrated log is incomplete: {exc}") from None
