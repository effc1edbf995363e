"""Offline verification of a decision log, and of single records.

`verify_log` checks everything the log directory holds: the latest checkpoint's signature; every
entry (its own signed checkpoint, its inclusion proof, the Merkle root recomputed from all leaves
before it, so a changed, deleted, inserted or reordered entry is found); every record (its digest,
its signature by an allowed key or sigstore identity, its id, unique across the log); every stored
input (its digest); that every record names this log; checkpoints an auditor saved earlier
(truncation, rollback, forks); and files that do not belong. Checkpoints are verified with the log
key the auditor pinned: the folder's own log.pub is only trusted when asked to, since whoever can
write the folder can replace it. Every file is opened without following links and read within a
limit per kind. Per-entry work runs in worker processes on large logs.

`verify_since` is the incremental check: consistency with a checkpoint verified earlier (by a
consistency proof, in O(log n) subtree hashes), and the entries appended after it only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.envelope import OpenedBundle, open_bundle, pae
from audit.errors import AuditError
from audit.keys import PublicKey
from audit.log import (
    CHECKPOINT,
    INPUTS,
    LEGACY_HINT,
    LOCK,
    LOG_PUB,
    MIGRATE_HINT,
    RECORDS,
    TMP_PREFIX,
    AuditLog,
    Entry,
    LogError,
    MissingFile,
    blob_name,
    bundle_statement,
    kind_of,
    not_of_log,
    open_checkpoint,
    sha256_digest,
)
from audit.merkle import HASH_SIZE, CompactTree, leaf_hash
from audit.note import Checkpoint, NoteVerifier
from audit.record import EXTENSION, PAYLOAD_TYPE
from audit.tiles import TILE, WIDTH, parse_tile_parts, tile_parts, tile_root, tile_width
from audit.trust import keyless_identity, verify_keyless_dsse
from audit.witness import WITNESS, Witnessed, WitnessVerifier, read_witnessed

BLOB_RE = re.compile(r"^sha256-[0-9a-f]{64}\.json$")
CHUNK = 10  # entry bundles per task
PARALLEL_FROM = 4000
# Told (entries checked, entries to check) after each chunk of entries is checked.
Progress = Callable[[int, int], None]


class UsageError(AuditError):
    """The verification was asked wrongly (no log there, an unreadable key or checkpoint file)."""


@dataclass(frozen=True)
class Identity:
    """An allowed sigstore identity: the OIDC issuer, and a regex the certificate SAN must match."""

    issuer: str
    san_regex: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """ISSUER=SAN_REGEX (the issuer is a URL, so split at the first '=' after its host)."""
        issuer, sep, regex = text.partition("=")
        if not sep or not issuer or not regex:
            raise UsageError(f"--identity {text!r}: expected ISSUER=SAN_REGEX")
        try:
            re.compile(regex)
        except re.error as exc:
            raise UsageError(f"--identity {text!r}: bad regex ({exc})") from None
        return cls(issuer, regex)


@dataclass(frozen=True)
class Trust:
    """Who may sign records: local public keys and sigstore identities (with the trust root)."""

    keys: tuple[PublicKey, ...] = ()
    identities: tuple[Identity, ...] = ()
    trust_root: str = "production"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the log: where (file, and index when it is about an entry), and what."""

    where: str
    what: str
    index: int | None = None

    def line(self) -> str:
        """`index 41: entries/000000000041.json: what` (or without the index)."""
        head = f"index {self.index}: " if self.index is not None else ""
        return f"{head}{self.where}: {self.what}"


@dataclass
class Report:
    """The result of verifying a log."""

    size: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    root: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    # The size of the checkpoint an incremental verification started from (None: the whole log).
    since: int | None = None

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True)
class VerifiedRecord:
    """A record whose digest and signature verified: its statement and who signed it."""

    statement: dict[str, Any]
    signer: str


def verify_record(data: bytes, trust: Trust) -> VerifiedRecord:
    """Verify a record bundle's signature against the allowed keys or identities; AuditError if not."""
    bundle = open_bundle(data)
    if bundle.payload_type != PAYLOAD_TYPE:
        raise AuditError(f"payload type {bundle.payload_type!r} is not {PAYLOAD_TYPE}")
    signer = _verify_keyless(bundle, data, trust) if bundle.keyless else _verify_key(bundle, trust)
    return VerifiedRecord(bundle_statement(bundle), signer)


def _verify_key(bundle: OpenedBundle, trust: Trust) -> str:
    candidates = [k for k in trust.keys if k.named_by(bundle.keyid)] or list(trust.keys)
    message = pae(bundle.payload_type, bundle.payload)
    for key in candidates:
        if key.verifies(bundle.signature, message):
            return f"key {key.keyid[:16]} ({key.source})"
    if not any(k.named_by(bundle.keyid) for k in trust.keys):
        raise AuditError(f"signed by key {bundle.keyid[:16] or '(no id)'}, which is not an allowed key")
    raise AuditError("signature does not verify")


def _verify_keyless(bundle: OpenedBundle, data: bytes, trust: Trust) -> str:
    san, issuer = keyless_identity(bundle.material)
    allowed = [i for i in trust.identities if i.issuer == issuer and san and re.search(i.san_regex, san)]
    if not allowed:
        raise AuditError(f"signed by sigstore identity {san} ({issuer}), which is not an allowed identity")
    error = verify_keyless_dsse(data, trust.trust_root, bundle.payload)
    if error:
        raise AuditError(error)
    return f"sigstore {san} ({issuer})"


@dataclass(frozen=True)
class _EntryResult:
    index: int
    where: str
    leaf: bytes | None
    record_id: str | None
    record: str | None
    input: str | None
    problems: tuple[Problem, ...]
    # The record predates records naming their log: its membership rests on the signed tree alone.
    unnamed: bool = False


def _bundle_path(n: int, width: int) -> str:
    return "/".join(tile_parts(None, n, width))


def _tile_path(level: int, n: int, width: int) -> str:
    return "/".join(tile_parts(level, n, width))


def _check_bundle(
    log: AuditLog, n: int, width: int, trust: Trust, origin: tuple[str, str] | None
) -> list[_EntryResult]:
    """The entries of entry bundle N as the log of this size serves it (width entries)."""
    where = _bundle_path(n, width)
    first = n * WIDTH
    try:
        leaves = log.bundle(n, width)
    except MissingFile:
        return [
            _EntryResult(first, where, None, None, None, None, (Problem(where, "missing (deleted)", first),))
        ]
    except LogError as exc:
        return [_EntryResult(first, where, None, None, None, None, (Problem(where, _what(exc), first),))]
    return [_check_entry(log, first + i, where, leaf, trust, origin) for i, leaf in enumerate(leaves)]


def _check_entry(
    log: AuditLog, index: int, where: str, leaf: bytes, trust: Trust, origin: tuple[str, str] | None
) -> _EntryResult:
    problems: list[Problem] = []
    try:
        entry = Entry.parse(leaf)
    except LogError as exc:
        problems.append(Problem(where, f"entry {index}: {exc}", index))
        return _EntryResult(index, where, leaf_hash(leaf), None, None, None, tuple(problems))
    if entry.index != index:
        problems.append(
            Problem(where, f"entry {index} holds index {entry.index} (entries reordered or swapped)", index)
        )
    record_problems, unnamed = _check_record(log, entry, index, trust, origin)
    problems += record_problems
    return _EntryResult(
        index, where, leaf_hash(leaf), entry.record_id, entry.record, entry.input, tuple(problems), unnamed
    )


def _what(exc: LogError) -> str:
    """A LogError's message without the path it starts with (the problem names the file)."""
    return str(exc).split(": ", 1)[-1]


def _check_record(
    log: AuditLog, entry: Entry, index: int, trust: Trust, origin: tuple[str, str] | None
) -> tuple[list[Problem], bool]:
    """The record's problems, and whether it names no log (written before records did)."""
    where = f"{RECORDS}/{blob_name(entry.record)}"
    try:
        data = log.record(entry.record)
    except MissingFile:
        return [Problem(where, "record file missing (deleted)", index)], False
    except LogError as exc:
        return [Problem(where, _what(exc), index)], False
    if sha256_digest(data) != entry.record:
        return [Problem(where, "record modified: its digest is not the one the entry holds", index)], False
    try:
        record = verify_record(data, trust)
    except AuditError as exc:
        return [Problem(where, str(exc), index)], False
    detail = record.statement["predicate"][EXTENSION]
    problems = []
    if detail.get("recordId") != entry.record_id:
        problems.append(
            Problem(
                where,
                f"record id {detail.get('recordId')!r} is not the entry's {entry.record_id!r}",
                index,
            )
        )
    if detail.get("storedInput") != entry.input:
        problems.append(Problem(where, "the stored input it names is not the entry's", index))
    # A record from before records named their log is checked by the signed tree alone, which
    # a writer without the pinned log key cannot forge; the writer never adopts one.
    unnamed = "log" not in detail and "logKey" not in detail
    foreign = not_of_log(detail, *origin) if origin is not None and not unnamed else None
    if foreign:
        problems.append(
            Problem(where, f"{foreign} (spliced in from another log, or the log key replaced)", index)
        )
    return problems, unnamed


def _check_chunk(
    path: str, bundles: Sequence[tuple[int, int]], trust: Trust, origin: tuple[str, str] | None
) -> list[_EntryResult]:
    log = AuditLog(Path(path))
    return [r for n, width in bundles for r in _check_bundle(log, n, width, trust, origin)]


# What forked workers check against: set by the parent before it forks (keys do not pickle).
_FORKED: tuple[str, Trust, tuple[str, str] | None] | None = None


def _check_forked(bundles: Sequence[tuple[int, int]]) -> list[_EntryResult]:
    assert _FORKED is not None
    path, trust, origin = _FORKED
    return _check_chunk(path, bundles, trust, origin)


@dataclass
class _Listing:
    """What the log folder holds: widths present of each entry bundle and hash tile, blob names."""

    bundles: dict[int, set[int]] = field(default_factory=dict)
    tiles: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    records: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)


def _listing(log: AuditLog, report: Report) -> _Listing:
    """Tiles and blob names present (links and other non-regular files included: reading them
    reports them); unexpected files become problems. Links are never followed."""
    found = _Listing()
    blobs: dict[str, set[str]] = {RECORDS: found.records, INPUTS: found.inputs}
    with os.scandir(log.path) as top:
        items = sorted(top, key=lambda d: d.name)
    for item in items:
        name = item.name
        if name in (LOG_PUB, CHECKPOINT):
            continue  # read (and refused if not a regular file) below
        if name == LOCK and item.is_file(follow_symlinks=False):
            continue
        if name == WITNESS and item.is_dir(follow_symlinks=False):
            continue  # each file is checked by audit.witness.read_witnessed
        if name.startswith(TMP_PREFIX) and item.is_file(follow_symlinks=False):
            report.notes.append(
                f"{name}: a temporary file left by an interrupted append; the next append removes it"
            )
            continue
        if name == TILE and item.is_dir(follow_symlinks=False):
            _walk_tiles(item.path, [TILE], found, report)
            continue
        if name in blobs and item.is_dir(follow_symlinks=False):
            for child in _children(item.path):
                if BLOB_RE.match(child.name):
                    blobs[name].add(child.name)
                else:
                    report.problems.append(Problem(f"{name}/{child.name}", "unexpected file in the log"))
            continue
        kind = "" if item.is_file(follow_symlinks=False) else f" ({_kind(item)})"
        report.problems.append(Problem(name, f"unexpected file in the log{kind}"))
    return found


def _walk_tiles(path: str, parts: list[str], found: _Listing, report: Report) -> None:
    for child in sorted(_children(path), key=lambda d: d.name):
        here = [*parts, child.name]
        if child.is_dir(follow_symlinks=False):
            _walk_tiles(child.path, here, found, report)
            continue
        tile = parse_tile_parts(here)
        if tile is None:
            kind = "" if child.is_file(follow_symlinks=False) else f" ({_kind(child)})"
            report.problems.append(Problem("/".join(here), f"unexpected file in the log{kind}"))
        elif tile[0] is None:
            found.bundles.setdefault(tile[1], set()).add(tile[2])
        else:
            found.tiles.setdefault((tile[0], tile[1]), set()).add(tile[2])


def _kind(item: os.DirEntry[str]) -> str:
    try:
        return kind_of(item.stat(follow_symlinks=False).st_mode)
    except OSError:
        return "unreadable"


def _children(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return list(it)


def _extent(found: _Listing, size: int) -> int:
    """The size the log reaches: its checkpoint's, or more where entry bundles an interrupted
    append left follow on (linear in the files present, never in a size someone wrote)."""
    while True:
        n, offset = divmod(size, WIDTH)
        widest = max(found.bundles.get(n, ()), default=0)
        if widest <= offset:
            return size
        size = n * WIDTH + widest


def verify_log(
    path: Path,
    trust: Trust,
    saved: Sequence[tuple[str, str]] = (),
    workers: int | None = None,
    *,
    log_key: NoteVerifier | None,
    expect_size: int | None = None,
    witnesses: Sequence[WitnessVerifier] = (),
    witnesses_required: int = 0,
    since: tuple[str, str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Verify the log at path; saved holds (file name, text) of checkpoints an auditor kept.

    log_key is the log's verifier key as the auditor pinned it: checkpoints are verified with it,
    and a log.pub in the folder that differs from it is a problem. None trusts the folder's own
    log.pub (and says so in the report's warnings). expect_size: the log must hold at least that
    many entries. Without saved checkpoints or expect_size nothing bounds the log from below (a
    warning says so). The files of the witness folder are checked against the log (each a
    checkpoint the log key signed, a prefix of the log); cosignatures by the ``witnesses`` keys must
    verify, and ``witnesses_required`` of them must have cosigned the whole log.

    since: (file name, text) of a checkpoint verified earlier; only what was appended after it is
    checked (see verify_since). progress is told how many entries were checked, as they are.
    """
    if witnesses_required > len(witnesses):
        raise UsageError(
            f"{witnesses_required} witnesses required, {len(witnesses)} witness key(s) given",
            "pass a --witness VKEY for each witness whose cosignature you require",
        )
    if since is not None:
        return verify_since(
            path,
            trust,
            since,
            saved,
            workers,
            log_key=log_key,
            expect_size=expect_size,
            progress=progress,
            witnesses=witnesses,
            witnesses_required=witnesses_required,
        )
    log = AuditLog(path)
    if not path.is_dir():
        raise UsageError(
            f"{path}: no such log directory", "pass the folder given to `gate check --audit-log`"
        )
    if log.legacy():
        raise UsageError(f"{path}: {LEGACY_HINT}", MIGRATE_HINT)
    report = Report()
    found = _listing(log, report)
    has_entries = bool(found.bundles or found.tiles)
    if log_key is None and not log.present(LOG_PUB) and not has_entries and not log.present(CHECKPOINT):
        raise UsageError(
            f"{path}: not a govgate audit log (no {LOG_PUB})",
            "pass the folder given to `gate check --audit-log`",
        )
    verifier = _log_verifier(log, log_key, report)
    cp = _latest(log, verifier, has_entries, report)
    report.checkpoint = cp
    signed = cp.size if cp is not None else 0
    size = _extent(found, signed)
    report.size = size
    count = -(-size // WIDTH)
    for n in sorted(n for n in found.bundles if n >= count):
        for width in sorted(found.bundles[n]):
            report.problems.append(
                Problem(
                    _bundle_path(n, width),
                    "an entry bundle past the end of the log, after a missing one "
                    "(planted, or the ones before it deleted)",
                    n * WIDTH,
                )
            )
    origin = (verifier.name, verifier.vkey) if verifier is not None else None
    present = [(n, tile_width(0, n, size)) for n in sorted(found.bundles) if n < count]
    results = _with_gaps(_run_entries(log, present, trust, origin, workers, progress), size)
    witnessed = read_witnessed(log, verifier)
    wanted = {c.size for _, c in _saved(saved, verifier, report)} | witnessed.sizes
    leaves, roots = _tree(results, report, wanted, size)
    report.root = roots.get(size)
    _check_partial_bundles(log, found, results, signed, size, report)
    _check_hash_tiles(log, found, leaves, signed, size, report)
    _final(cp, roots, size, report)
    _compare_saved(saved, verifier, roots, size, report)
    _witness(witnessed, roots, size, witnesses, witnesses_required, report)
    if expect_size is not None and size < expect_size:
        report.problems.append(
            Problem(
                "--expect-size",
                f"log truncated or rolled back: {expect_size} entries expected, the log holds {size}",
            )
        )
    if not saved and expect_size is None:
        report.warnings.append(
            f"nothing bounds {path} from below (no --checkpoint saved earlier, no --expect-size): "
            "a log cut back to an earlier state, or emptied, verifies as well"
        )
    _entry_notes(results, report)
    referenced_records = {blob_name(r.record) for r in results if r.record is not None}
    referenced_inputs = _check_inputs(log, results, report)
    _orphans(log, RECORDS, found.records - referenced_records, report)
    _orphans(log, INPUTS, found.inputs - referenced_inputs, report)
    report.problems.sort(key=lambda p: (p.index if p.index is not None else -1, p.where))
    return report


def _witness(
    witnessed: Witnessed,
    roots: dict[int, bytes],
    size: int,
    witnesses: Sequence[WitnessVerifier],
    required: int,
    report: Report,
) -> None:
    problems, notes = witnessed.check(roots, size, witnesses, required)
    report.problems += [Problem(where, what) for where, what in problems]
    report.notes += notes


def _check_partial_bundles(
    log: AuditLog, found: _Listing, results: Sequence[_EntryResult], signed: int, size: int, report: Report
) -> None:
    """Every other width of an entry bundle present must be a prefix of the one served."""
    by_index = {r.index: r for r in results}
    for n, widths in sorted(found.bundles.items()):
        served = tile_width(0, n, size)
        for width in sorted(widths - {served}):
            where = _bundle_path(n, width)
            if width > served or served == 0:
                continue  # past the end: reported with the listing
            try:
                leaves = log.bundle(n, width)
            except LogError as exc:
                report.problems.append(Problem(where, _what(exc), n * WIDTH))
                continue
            hashes = [by_index.get(n * WIDTH + i) for i in range(width)]
            if any(r is None or r.leaf != leaf_hash(leaf) for r, leaf in zip(hashes, leaves, strict=True)):
                report.problems.append(
                    Problem(where, "holds other entries than the log (modified or planted)", n * WIDTH)
                )
            elif width != tile_width(0, n, signed):
                report.notes.append(
                    f"{where}: a partial entry bundle the log no longer serves (left by an interrupted append)"
                )


def _check_hash_tiles(
    log: AuditLog, found: _Listing, leaves: list[bytes], signed: int, size: int, report: Report
) -> None:
    """Recompute every hash tile from the leaves and compare it byte for byte with the file: the
    tiles of the signed size must be there; tiles of entries past it may be (an interrupted
    append), and every other width present must hold a prefix of the same hashes."""
    row = leaves
    level = 0
    checked: set[tuple[int, int]] = set()
    while row:
        for n in range(-(-len(row) // WIDTH)):
            checked.add((level, n))
            expected = row[n * WIDTH : (n + 1) * WIDTH]
            present = found.tiles.get((level, n), set())
            need = tile_width(level, n, signed)
            if need and len(expected) >= need and need not in present:
                report.problems.append(Problem(_tile_path(level, n, need), "missing (deleted)", None))
            for width in sorted(present):
                where = _tile_path(level, n, width)
                if width > len(expected):
                    report.problems.append(Problem(where, "a tile past the end of the log (planted)"))
                    continue
                try:
                    data = log.read(*tile_parts(level, n, width))
                except LogError as exc:
                    report.problems.append(Problem(where, _what(exc)))
                    continue
                if len(data) != width * HASH_SIZE:
                    report.problems.append(
                        Problem(where, f"{len(data)} bytes, not the {width * HASH_SIZE} of {width} hashes")
                    )
                elif data != b"".join(expected[:width]):
                    report.problems.append(
                        Problem(where, "its hashes are not those of the entries (modified or planted)")
                    )
                elif width not in (need, tile_width(level, n, size)):
                    report.notes.append(
                        f"{where}: a partial tile the log no longer serves (left by an interrupted append)"
                    )
        row = [tile_root(row[i : i + WIDTH]) for i in range(0, len(row) - WIDTH + 1, WIDTH)]
        level += 1
    for key in sorted(set(found.tiles) - checked):
        for width in sorted(found.tiles[key]):
            report.problems.append(
                Problem(_tile_path(key[0], key[1], width), "a tile past the end of the log (planted)")
            )


def _log_verifier(log: AuditLog, pinned: NoteVerifier | None, report: Report) -> NoteVerifier | None:
    try:
        found = log.verifier()
    except MissingFile:
        if pinned is None:
            report.problems.append(Problem(LOG_PUB, "missing (deleted)"))
            return None
        report.problems.append(Problem(LOG_PUB, "missing (deleted)"))
        return pinned
    except LogError as exc:
        report.problems.append(Problem(LOG_PUB, _what(exc)))
        return pinned
    if pinned is None:
        report.warnings.append(
            f"the log key was taken from {log.file(LOG_PUB)} itself (--trust-log-key-in-folder): "
            "whoever can write the folder can replace it and re-sign the log"
        )
        return found
    if found.vkey != pinned.vkey:
        report.problems.append(
            Problem(
                LOG_PUB,
                f"log key {found.name!r} is not the pinned log key {pinned.name!r} "
                "(replaced: checkpoints are checked with the pinned key)",
            )
        )
    return pinned


def _latest(
    log: AuditLog, verifier: NoteVerifier | None, has_entries: bool, report: Report
) -> Checkpoint | None:
    if verifier is None:
        return None
    try:
        return log.checkpoint(verifier)
    except MissingFile:
        if has_entries:
            report.problems.append(Problem(CHECKPOINT, "missing (deleted)"))
        return None
    except LogError as exc:
        report.problems.append(Problem(CHECKPOINT, _what(exc)))
        return None


def _with_gaps(results: Sequence[_EntryResult], size: int) -> list[_EntryResult]:
    """results (in index order) with one missing-bundle result for each run of absent bundles."""
    out: list[_EntryResult] = []
    expected = 0
    for r in results:
        if r.index > expected:
            out.append(_gap(expected, r.index, size))
        out.append(r)
        expected = r.index + 1 if r.leaf is not None else (r.index // WIDTH + 1) * WIDTH
    if expected < size:
        out.append(_gap(expected, size, size))
    return out


def _gap(first: int, end: int, size: int) -> _EntryResult:
    """The entry bundles holding leaves first..end-1 are not there."""
    n, last = first // WIDTH, (end - 1) // WIDTH
    where = _bundle_path(n, tile_width(0, n, size))
    what = "missing (deleted)"
    if last > n:
        what += f", and the {last - n} entry bundles after it, up to {_bundle_path(last, tile_width(0, last, size))}"
    return _EntryResult(first, where, None, None, None, None, (Problem(where, what, first),))


def _run_entries(
    log: AuditLog,
    bundles: Sequence[tuple[int, int]],
    trust: Trust,
    origin: tuple[str, str] | None,
    workers: int | None,
    progress: Progress | None = None,
    start: int = 0,
) -> list[_EntryResult]:
    """The entries of the bundles checked; progress counts those from index start on."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    skip = start - bundles[0][0] * WIDTH if bundles else 0
    total = sum(width for _, width in bundles) - skip
    chunks = [bundles[i : i + CHUNK] for i in range(0, len(bundles), CHUNK)]
    out: list[_EntryResult] = []
    if total < PARALLEL_FROM or count <= 1:
        for chunk in chunks:
            out.extend(_check_chunk(str(log.path), chunk, trust, origin))
            _tell(progress, max(len(out) - skip, 0), total)
        return out
    import multiprocessing

    global _FORKED
    _FORKED = (str(log.path), trust, origin)
    try:
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
            for part in pool.map(_check_forked, chunks):
                out.extend(part)
                _tell(progress, max(len(out) - skip, 0), total)
    finally:
        _FORKED = None
    return out


def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _tree(
    results: Sequence[_EntryResult], report: Report, wanted: set[int], size: int
) -> tuple[list[bytes], dict[int, bytes]]:
    """The leaf hashes in order, up to the first one missing, and the roots at the wanted sizes."""
    tree = CompactTree()
    leaves: list[bytes] = []
    roots: dict[int, bytes] = {0: tree.root()}
    broken = False
    for r in results:
        report.problems.extend(r.problems)
        if r.leaf is None or broken:
            broken = True
            continue
        tree.append(r.leaf)
        leaves.append(r.leaf)
        if tree.size in wanted or tree.size == size:
            roots[tree.size] = tree.root()
    return leaves, roots


def _final(cp: Checkpoint | None, roots: dict[int, bytes], size: int, report: Report) -> None:
    if cp is None:
        return
    if cp.size in roots and roots[cp.size] != cp.root_hash:
        report.problems.append(Problem(CHECKPOINT, "its root is not the root of the entries it covers"))
    if size > cp.size:
        report.notes.append(
            f"{CHECKPOINT}: covers {cp.size} entries, the log holds {size} (an append was interrupted; "
            "the next append updates it)"
        )


def _saved(
    saved: Sequence[tuple[str, str]], verifier: NoteVerifier | None, report: Report
) -> Iterable[tuple[str, Checkpoint]]:
    for name, text in saved:
        if verifier is None:
            continue
        try:
            yield name, open_checkpoint(text, verifier, name)
        except LogError:
            continue


def _compare_saved(
    saved: Sequence[tuple[str, str]],
    verifier: NoteVerifier | None,
    roots: dict[int, bytes],
    size: int,
    report: Report,
) -> None:
    seen: dict[int, tuple[str, bytes]] = {}
    for name, text in saved:
        if verifier is None:
            report.problems.append(Problem(name, "cannot be checked: the log key is unreadable"))
            continue
        try:
            cp = open_checkpoint(text, verifier, name)
        except LogError as exc:
            report.problems.append(
                Problem(
                    name,
                    "signature does not verify with this log's key (forged, or of another log): "
                    + str(exc).split(": ", 1)[-1],
                )
            )
            continue
        if cp.size in seen and seen[cp.size][1] != cp.root_hash:
            report.problems.append(
                Problem(name, f"fork: {seen[cp.size][0]} has the same size {cp.size} with another root")
            )
        seen.setdefault(cp.size, (name, cp.root_hash))
        if cp.size > size:
            report.problems.append(
                Problem(
                    name,
                    f"log truncated or rolled back: this checkpoint has {cp.size} entries, the log {size}",
                )
            )
        elif cp.size in roots and roots[cp.size] != cp.root_hash:
            kind = "fork" if cp.size == size else "history rewritten (fork)"
            report.problems.append(
                Problem(
                    name,
                    f"{kind}: the log's first {cp.size} entries hash to another root than this checkpoint's",
                )
            )


def _entry_notes(results: Sequence[_EntryResult], report: Report) -> None:
    """What the checked entries say beyond their own problems: records that do not name their log
    (a note), and record ids that repeat (problems)."""
    unnamed = sum(r.unnamed for r in results)
    if unnamed:
        report.notes.append(
            f"{unnamed} record(s) predate records naming their log: they are bound to it by the signed"
            " checkpoint alone"
        )
    _unique_ids(results, report)


def _unique_ids(results: Sequence[_EntryResult], report: Report) -> None:
    first: dict[str, int] = {}
    for r in results:
        if r.record_id is None:
            continue
        if r.record_id in first:
            report.problems.append(
                Problem(
                    r.where,
                    f"duplicate record id {r.record_id} (also at index {first[r.record_id]})",
                    r.index,
                )
            )
        else:
            first[r.record_id] = r.index


def _check_inputs(log: AuditLog, results: Sequence[_EntryResult], report: Report) -> set[str]:
    names: dict[str, int] = {}
    for r in results:
        if r.input is not None:
            names.setdefault(r.input, r.index)
    for digest, index in names.items():
        where = f"{INPUTS}/{blob_name(digest)}"
        try:
            found = log.digest(INPUTS, blob_name(digest))
        except MissingFile:
            report.problems.append(Problem(where, "stored input missing (deleted)", index))
            continue
        except LogError as exc:
            report.problems.append(Problem(where, _what(exc), index))
            continue
        if found != digest:
            report.problems.append(Problem(where, "stored input modified: its digest is not its name", index))
    return {blob_name(d) for d in names}


def _orphans(log: AuditLog, folder: str, names: set[str], report: Report) -> None:
    for name in sorted(names):
        try:
            digest = log.digest(folder, name)
        except LogError as exc:
            report.problems.append(Problem(f"{folder}/{name}", _what(exc)))
            continue
        if blob_name(digest) != name:
            report.problems.append(Problem(f"{folder}/{name}", "modified: its digest is not its name"))
        else:
            report.notes.append(f"{folder}/{name}: belongs to no entry (left by an interrupted append)")


# --- incremental verification -----------------------------------------------------------------


def verify_since(
    path: Path,
    trust: Trust,
    since: tuple[str, str],
    saved: Sequence[tuple[str, str]] = (),
    workers: int | None = None,
    *,
    log_key: NoteVerifier | None,
    expect_size: int | None = None,
    progress: Progress | None = None,
    witnesses: Sequence[WitnessVerifier] = (),
    witnesses_required: int = 0,
) -> Report:
    """Verify what was appended to the log at path after the checkpoint since = (file name, text).

    The checkpoint must verify with the log key and be contained in the latest one (a consistency
    proof, O(log n) subtree hashes); the tree of its size, read as O(log n) subtree hashes, must
    hash to its root, and with the new entries appended to the latest checkpoint's root. Only the
    new entries are read, each checked as the full verification checks it (its record's digest,
    signature, id and log, its stored input's digest), and their record ids must be unique among
    them. Saved checkpoints and the witnessed ones are checked by consistency proofs too, and
    ``witnesses_required`` of the ``witnesses`` must have cosigned the whole log. The folder is not
    listed: files that belong to no entry are the full verification's to find.
    """
    log = AuditLog(path)
    if not path.is_dir():
        raise UsageError(
            f"{path}: no such log directory", "pass the folder given to `gate check --audit-log`"
        )
    if log_key is None and not log.present(LOG_PUB):
        raise UsageError(
            f"{path}: not a govgate audit log (no {LOG_PUB})",
            "pass the folder given to `gate check --audit-log`",
        )
    report = Report()
    verifier = _log_verifier(log, log_key, report)
    name, text = since
    if verifier is None:
        return report
    try:
        old = open_checkpoint(text, verifier, name)
    except LogError as exc:
        report.problems.append(
            Problem(
                name,
                "signature does not verify with this log's key (forged, or of another log): " + _what(exc),
            )
        )
        return report
    report.since = old.size
    cp = _latest(log, verifier, True, report)
    report.checkpoint = cp
    if cp is None:
        return report
    if log.legacy():
        raise UsageError(f"{path}: {LEGACY_HINT}", MIGRATE_HINT)
    tree = _prefix(log, old, cp, name, report)
    # Entries an interrupted append left past the checkpoint are not signed yet: the full
    # verification and the next append deal with them.
    size = cp.size
    report.size = size
    origin = (verifier.name, verifier.vkey)
    bundles = [(n, tile_width(0, n, size)) for n in range(old.size // WIDTH, -(-size // WIDTH))]
    # A bundle that cannot be read is one result at its first index, before old.size or not.
    checked = _run_entries(log, bundles, trust, origin, workers, progress, old.size)
    results = [r for r in checked if r.index >= old.size or r.leaf is None]
    if tree is not None:
        report.root = _extend(tree, results, cp, report)
    else:
        for r in results:
            report.problems.extend(r.problems)
    _saved_by_proof(log, saved, verifier, cp, report)
    witnessed = read_witnessed(log, verifier)
    roots = _witnessed_roots(log, witnessed, cp, report)
    _witness(witnessed, roots, size, witnesses, witnesses_required, report)
    if expect_size is not None and size < expect_size:
        report.problems.append(
            Problem(
                "--expect-size",
                f"log truncated or rolled back: {expect_size} entries expected, the log holds {size}",
            )
        )
    _entry_notes(results, report)
    _check_inputs(log, results, report)
    report.problems.sort(key=lambda p: (p.index if p.index is not None else -1, p.where))
    return report


def _prefix(log: AuditLog, old: Checkpoint, cp: Checkpoint, name: str, report: Report) -> CompactTree | None:
    """The compact tree of the saved checkpoint's size, once it is shown to be that checkpoint's
    and contained in the latest (None, with the problem, when not)."""
    from audit.proof import ProofError, check_consistent, compact_tree, log_subtrees

    subtrees = log_subtrees(log)
    try:
        check_consistent(subtrees, old, cp)
        tree = compact_tree(subtrees, old.size)
    except ProofError as exc:
        report.problems.append(Problem(name, str(exc)))
        return None
    except LogError as exc:
        report.problems.append(Problem(name, f"cannot prove the log still contains it: {_in_log(log, exc)}"))
        return None
    if tree.root() != old.root_hash:
        report.problems.append(
            Problem(
                name,
                f"history rewritten (fork): the log's first {old.size} entries hash to another root "
                "than this checkpoint's",
            )
        )
        return None
    return tree


def _extend(
    tree: CompactTree, results: Sequence[_EntryResult], cp: Checkpoint, report: Report
) -> bytes | None:
    """Append the new entries' leaves; the latest checkpoint's root must match.
    Returns the root of all of them (None when the tree broke)."""
    if tree.size == cp.size and tree.root() != cp.root_hash:
        report.problems.append(Problem(CHECKPOINT, "its root is not the root of the entries it covers"))
    for r in results:
        report.problems.extend(r.problems)
        if r.leaf is None:
            return None
        tree.append(r.leaf)
        if tree.size == cp.size and tree.root() != cp.root_hash:
            report.problems.append(Problem(CHECKPOINT, "its root is not the root of the entries it covers"))
            return None
    return tree.root()


def _witnessed_roots(log: AuditLog, witnessed: Witnessed, cp: Checkpoint, report: Report) -> dict[int, bytes]:
    """The log's root at each size a witness cosigned, as far as consistency proofs show it: a
    witnessed checkpoint the latest one is shown to contain gives its root; at a size where none
    is, no root matches (each one there is then a fork)."""
    from audit.proof import ProofError, check_consistent, log_subtrees

    subtrees = log_subtrees(log)
    roots: dict[int, bytes] = {}
    for f in witnessed.files:
        old = f.checkpoint
        if old.size > cp.size or roots.get(old.size) == old.root_hash:
            continue  # a rollback, which the witness check names; or shown already
        try:
            check_consistent(subtrees, old, cp)
        except ProofError:
            roots.setdefault(old.size, b"")
            continue
        except LogError as exc:
            report.problems.append(
                Problem(f.where, f"cannot prove the log still contains it: {_in_log(log, exc)}")
            )
            roots.setdefault(old.size, b"")
            continue
        roots[old.size] = old.root_hash
    return roots


def _saved_by_proof(
    log: AuditLog, saved: Sequence[tuple[str, str]], verifier: NoteVerifier, cp: Checkpoint, report: Report
) -> None:
    """Each saved checkpoint verifies and is contained in the latest (by a consistency proof)."""
    from audit.proof import ProofError, check_consistent, log_subtrees

    seen: dict[int, tuple[str, bytes]] = {}
    for name, text in saved:
        try:
            old = open_checkpoint(text, verifier, name)
        except LogError as exc:
            report.problems.append(
                Problem(
                    name,
                    "signature does not verify with this log's key (forged, or of another log): "
                    + _what(exc),
                )
            )
            continue
        if old.size in seen and seen[old.size][1] != old.root_hash:
            report.problems.append(
                Problem(name, f"fork: {seen[old.size][0]} has the same size {old.size} with another root")
            )
        seen.setdefault(old.size, (name, old.root_hash))
        try:
            check_consistent(log_subtrees(log), old, cp)
        except ProofError as exc:
            report.problems.append(Problem(name, str(exc)))
        except LogError as exc:
            report.problems.append(
                Problem(name, f"cannot prove the log still contains it: {_in_log(log, exc)}")
            )


def _in_log(log: AuditLog, exc: LogError) -> str:
    """A LogError's message with the log folder's path left out of the file it names."""
    return str(exc).replace(str(log.path) + os.sep, "")
