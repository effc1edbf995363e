"""Incremental verification (verify_log(since=...)): consistency with a saved checkpoint, and the
entries appended after it only."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.keys import load_public_key
from audit.log import CHECKPOINT, INPUTS, RECORDS, AuditLog, blob_name
from audit.verify import Report, Trust, UsageError, verify_log
from audit.writer import write_record
from tests.audit.logs import (
    Keys,
    bundle_leaves,
    cut,
    document,
    facts,
    make_keys,
    make_log,
    write_bundle,
)

SIZE = 8


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> tuple[Path, list[str]]:
    log = tmp_path_factory.mktemp("pristine") / "log"
    return log, [str(f["checkpoint"]) for f in make_log(log, keys, SIZE)]


@pytest.fixture
def log(pristine: tuple[Path, list[str]], tmp_path: Path) -> Path:
    copy = tmp_path / "log"
    shutil.copytree(pristine[0], copy)
    return copy


@pytest.fixture
def checkpoints(pristine: tuple[Path, list[str]]) -> list[str]:
    """checkpoints[i]: the signed checkpoint of the first i + 1 records."""
    return pristine[1]


def trust(keys: Keys) -> Trust:
    return Trust(keys=(load_public_key(keys.pub),))


def since(log: Path, keys: Keys, checkpoint: str, **kw: object) -> Report:
    return verify_log(log, trust(keys), log_key=keys.verifier(), since=("saved.checkpoint", checkpoint), **kw)  # type: ignore[arg-type]


def lines(report: Report) -> list[str]:
    return [p.line() for p in report.problems]


LEAF_TILE = Path("tile") / "0" / "000.p" / str(SIZE)


def entry_doc(log: Path, i: int) -> dict[str, object]:
    doc = json.loads(bundle_leaves(log)[i])
    assert isinstance(doc, dict)
    return doc


def edit_leaf(log: Path, i: int, old: bytes, new: bytes) -> None:
    leaves = bundle_leaves(log)
    assert old in leaves[i]
    leaves[i] = leaves[i].replace(old, new, 1)
    write_bundle(log, leaves)


def swap_leaves(log: Path, i: int, j: int) -> None:
    leaves = bundle_leaves(log)
    leaves[i], leaves[j] = leaves[j], leaves[i]
    write_bundle(log, leaves)


def drop_leaf(log: Path, i: int, width: int | None) -> None:
    leaves = bundle_leaves(log)
    del leaves[i]
    write_bundle(log, leaves, width)


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def record_file(log: Path, i: int) -> Path:
    return log / RECORDS / blob_name(str(entry_doc(log, i)["record"]))


def flip(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def test_an_intact_log_verifies_since_each_of_its_checkpoints(
    log: Path, keys: Keys, checkpoints: list[str]
) -> None:
    full = verify_log(log, trust(keys), log_key=keys.verifier())
    for i, checkpoint in enumerate(checkpoints):
        report = since(log, keys, checkpoint)
        assert report.ok, (i, lines(report))
        assert (report.since, report.size, report.root) == (i + 1, SIZE, full.root)
        assert report.warnings == []  # bounded from below by the checkpoint


TAMPERED_NEW: dict[str, tuple[Callable[[Path], object], int, str]] = {
    "record modified": (
        lambda log: flip(record_file(log, 5), b'"payloadType"', b'"payloadtype"'),
        5,
        "record modified: its digest is not the one the entry holds",
    ),
    "record deleted": (lambda log: record_file(log, 4).unlink(), 4, "record file missing (deleted)"),
    "leaf modified": (
        lambda log: edit_leaf(log, 6, b'"id":"rec-6"', b'"id":"rec-9"'),
        6,
        "record id 'rec-6' is not the entry's 'rec-9'",
    ),
    "entry deleted": (lambda log: drop_leaf(log, 7, None), 0, f"holds {SIZE - 1} entries, not {SIZE}"),
    "input modified": (
        lambda log: flip(log / INPUTS / blob_name(str(entry_doc(log, 4)["input"])), b'"n":4', b'"n":7'),
        4,
        "stored input modified: its digest is not its name",
    ),
    "entries reordered": (
        lambda log: swap_leaves(log, 5, 6),
        5,
        "entry 5 holds index 6 (entries reordered or swapped)",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERED_NEW))
def test_tampering_with_a_new_entry_is_found_and_named(
    name: str, log: Path, keys: Keys, checkpoints: list[str]
) -> None:
    tamper, index, message = TAMPERED_NEW[name]
    tamper(log)
    report = since(log, keys, checkpoints[3])
    found = [p for p in report.problems if message in p.what]
    assert found and found[0].index == index, lines(report)


def test_a_latest_checkpoint_forged_is_found(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    text = (log / CHECKPOINT).read_text("utf-8")
    head, sig = text.rsplit(" ", 1)
    (log / CHECKPOINT).write_text(head + " " + ("A" if sig[0] != "A" else "B") + sig[1:], "utf-8")
    report = since(log, keys, checkpoints[3])
    assert [p.where for p in report.problems] == [CHECKPOINT], lines(report)


@pytest.mark.parametrize("leaf", [0, 3])
def test_a_hash_tile_changed_before_the_checkpoint_is_found(
    leaf: int, log: Path, keys: Keys, checkpoints: list[str]
) -> None:
    # the tree of size 4 is read from the leaf hash tile: one bit flipped in the hash of leaf 0 or 3
    flip_byte(log / LEAF_TILE, leaf * 32 + 5)
    report = since(log, keys, checkpoints[3])
    assert [p.where for p in report.problems] == ["saved.checkpoint"], lines(report)


def test_a_checkpoint_of_a_larger_log_is_truncation(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    cut(log, 6)
    (log / CHECKPOINT).write_text(checkpoints[5], encoding="utf-8")
    report = since(log, keys, checkpoints[7])
    assert lines(report) == [
        "saved.checkpoint: log truncated or rolled back: the checkpoint has 8 entries, the log 6"
    ]


def test_rollback_and_new_history_is_a_fork(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    cut(log, 6)
    (log / CHECKPOINT).write_text(checkpoints[5], encoding="utf-8")
    for i in (60, 70):
        write_record(keys.settings(log), facts(i), document(i))
    report = since(log, keys, checkpoints[7])
    assert [p.what.split(":")[0] for p in report.problems] == ["fork"], lines(report)
    rewritten = since(log, keys, checkpoints[6])
    assert [p.what.split(":")[0] for p in rewritten.problems] == ["history rewritten (fork)"], lines(
        rewritten
    )


def test_a_checkpoint_of_another_log_is_forged(log: Path, keys: Keys, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_log(other, make_keys(tmp_path / "k2"), 2)
    report = since(log, keys, (other / CHECKPOINT).read_text("utf-8"))
    assert len(report.problems) == 1 and "forged, or of another log" in report.problems[0].what
    assert since(log, keys, "not a checkpoint\n").problems[0].where == "saved.checkpoint"


def test_record_ids_are_unique_among_the_new_entries(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    write_record(keys.settings(log), facts(99, record_id="rec-6"), document(99))
    report = since(log, keys, checkpoints[3])
    assert lines(report) == [
        f"index {SIZE}: tile/entries/000.p/{SIZE + 1}: duplicate record id rec-6 (also at index 6)"
    ]


def test_saved_checkpoints_are_checked_by_consistency_proofs(
    log: Path, keys: Keys, checkpoints: list[str], tmp_path: Path
) -> None:
    saved = [("a", checkpoints[1]), ("b", checkpoints[5])]
    assert since(log, keys, checkpoints[3], saved=saved).ok
    twin = tmp_path / "twin"
    make_log(twin, keys, 3)
    report = since(
        log,
        keys,
        checkpoints[3],
        saved=[("a", checkpoints[2]), ("twin", (twin / CHECKPOINT).read_text("utf-8"))],
    )
    assert [p.where for p in report.problems] == ["twin", "twin"], lines(report)
    assert report.problems[0].what.startswith("fork: a has the same size 3")


def test_expect_size_still_applies(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    assert lines(since(log, keys, checkpoints[3], expect_size=SIZE + 1)) == [
        f"--expect-size: log truncated or rolled back: {SIZE + 1} entries expected, the log holds {SIZE}"
    ]


def test_progress_is_told_as_entries_are_checked(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    told: list[tuple[int, int]] = []
    assert since(log, keys, checkpoints[1], progress=lambda done, total: told.append((done, total))).ok
    assert told[-1] == (SIZE - 2, SIZE - 2)
    told.clear()
    assert verify_log(log, trust(keys), log_key=keys.verifier(), progress=lambda d, t: told.append((d, t))).ok
    assert told[-1] == (SIZE, SIZE)


def test_not_a_log_is_a_usage_error(tmp_path: Path, keys: Keys, checkpoints: list[str]) -> None:
    with pytest.raises(UsageError):
        since(tmp_path / "none", keys, checkpoints[0])


def test_only_the_new_entries_and_log_n_others_are_read(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "big"
    n, new = 300, 5
    fields = make_log(folder, keys, n)
    bundles: list[int] = []
    tiles: list[tuple[str, ...]] = []
    real = AuditLog.read

    def counting(self: AuditLog, *parts: str) -> bytes:
        if parts[:2] == ("tile", "entries"):
            bundles.append(int(parts[2].split(".")[0]))
        elif parts[0] == "tile":
            tiles.append(parts)
        return real(self, *parts)

    monkeypatch.setattr(AuditLog, "read", counting)
    for start in (n - new, 1, 255, 256, 257):
        bundles.clear()
        tiles.clear()
        report = since(folder, keys, str(fields[start - 1]["checkpoint"]))
        assert report.ok, lines(report)
        # each entry bundle holding a new entry, once, and no other
        assert bundles == list(range(start // 256, -(-n // 256))), (start, bundles)
        assert len(tiles) <= 4 * math.ceil(math.log2(n)), (start, tiles)  # the subtree hashes
