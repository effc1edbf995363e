"""Tamper tests: every change to a log that an auditor must catch is found and named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.keys import load_public_key
from audit.log import CHECKPOINT, INPUTS, LOG_PUB, RECORDS, AuditLog, blob_name
from audit.verify import Report, Trust, UsageError, verify_log
from audit.writer import write_record
from tests.audit.logs import (
    Keys,
    bundle_leaves,
    bundle_path,
    cut,
    document,
    facts,
    make_keys,
    make_log,
    write_bundle,
)

SIZE = 6


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> tuple[Path, list[str]]:
    """A log of SIZE records, and the signed checkpoint after each of them."""
    log = tmp_path_factory.mktemp("pristine") / "log"
    fields = make_log(log, keys, SIZE)
    return log, [str(f["checkpoint"]) for f in fields]


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


def plant_far_bundle(log: Path) -> None:
    far = log / "tile" / "entries" / "x001" / "000.p"
    far.mkdir(parents=True)
    shutil.copy(bundle_path(log), far / str(SIZE))


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def record_file(log: Path, i: int) -> Path:
    return log / RECORDS / blob_name(str(entry_doc(log, i)["record"]))


def test_intact_log_verifies(log: Path, keys: Keys) -> None:
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert report.ok, lines(report)
    assert report.size == SIZE and report.notes == []
    assert report.checkpoint is not None and report.checkpoint.size == SIZE


def test_intact_log_verifies_in_worker_processes(
    log: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audit.verify as verify

    monkeypatch.setattr(verify, "PARALLEL_FROM", 2)
    monkeypatch.setattr(verify, "CHUNK", 2)
    assert verify_log(log, trust(keys), workers=2, log_key=keys.verifier()).ok
    record_file(log, 4).write_bytes(record_file(log, 4).read_bytes().replace(b'"sig":"', b'"sig":"A'))
    assert [p.index for p in verify_log(log, trust(keys), workers=2, log_key=keys.verifier()).problems] == [4]


def flip(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


TAMPERINGS: dict[str, tuple[Callable[[Path], object], int | None, str]] = {
    "record modified": (
        lambda log: flip(record_file(log, 2), b'"payloadType"', b'"payloadtype"'),
        2,
        "record modified: its digest is not the one the entry holds",
    ),
    "record file deleted": (lambda log: record_file(log, 3).unlink(), 3, "record file missing (deleted)"),
    "leaf modified": (
        lambda log: edit_leaf(log, 1, b'"id":"rec-1"', b'"id":"rec-9"'),
        None,
        "its hashes are not those of the entries (modified or planted)",
    ),
    "leaf modified, its record no longer its own": (
        lambda log: edit_leaf(log, 1, b'"id":"rec-1"', b'"id":"rec-9"'),
        1,
        "record id 'rec-1' is not the entry's 'rec-9'",
    ),
    "leaf modified, the checkpoint's root no longer the tree's": (
        lambda log: edit_leaf(log, 1, b'"id":"rec-1"', b'"id":"rec-9"'),
        None,
        "its root is not the root of the entries it covers",
    ),
    "entry bundle deleted": (lambda log: bundle_path(log).unlink(), 0, "missing (deleted)"),
    "leaf deleted, the bundle renamed": (lambda log: drop_leaf(log, 4, SIZE - 1), 0, "missing (deleted)"),
    "leaf deleted, the bundle's name kept": (
        lambda log: drop_leaf(log, 4, None),
        0,
        f"holds {SIZE - 1} entries, not {SIZE}",
    ),
    "leaves reordered": (
        lambda log: swap_leaves(log, 2, 3),
        2,
        "entry 2 holds index 3 (entries reordered or swapped)",
    ),
    "entry bundle cut short": (
        lambda log: bundle_path(log).write_bytes(bundle_path(log).read_bytes()[:-3]),
        0,
        "is cut short",
    ),
    "hash tile modified": (
        lambda log: flip_byte(log / LEAF_TILE, 70),
        None,
        "its hashes are not those of the entries (modified or planted)",
    ),
    "hash tile deleted": (lambda log: (log / LEAF_TILE).unlink(), None, "missing (deleted)"),
    "hash tile cut short": (
        lambda log: (log / LEAF_TILE).write_bytes((log / LEAF_TILE).read_bytes()[:-1]),
        None,
        f"{SIZE * 32 - 1} bytes, not the {SIZE * 32} of {SIZE} hashes",
    ),
    "narrower partial tile planted": (
        lambda log: (log / LEAF_TILE.parent / "2").write_bytes(bytes(64)),
        None,
        "its hashes are not those of the entries (modified or planted)",
    ),
    "narrower partial entry bundle planted": (
        lambda log: (bundle_path(log).parent / "2").write_bytes(
            b"".join(len(x).to_bytes(2, "big") + x for x in reversed(bundle_leaves(log)[:2]))
        ),
        0,
        "holds other entries than the log (modified or planted)",
    ),
    "hash tile planted past the end": (
        lambda log: (log / "tile" / "0" / "001").write_bytes(bytes(8192)),
        None,
        "a tile past the end of the log (planted)",
    ),
    "entry bundle planted past the end": (
        lambda log: plant_far_bundle(log),
        256000,
        "an entry bundle past the end of the log",
    ),
    "tile with a name not of the layout": (
        lambda log: shutil.copy(log / LEAF_TILE, log / "tile" / "0" / "000.p" / "06"),
        None,
        "unexpected file in the log",
    ),
    "input modified": (
        lambda log: flip(log / INPUTS / blob_name(str(entry_doc(log, 0)["input"])), b'"n":0', b'"n":7'),
        0,
        "stored input modified: its digest is not its name",
    ),
    "input deleted": (
        lambda log: (log / INPUTS / blob_name(str(entry_doc(log, 5)["input"]))).unlink(),
        5,
        "stored input missing (deleted)",
    ),
    "checkpoint forged": (lambda log: _forge(log / CHECKPOINT), None, "checkpoint signature does not verify"),
    "file planted": (
        lambda log: (log / RECORDS / "notes.txt").write_text("x"),
        None,
        "unexpected file in the log",
    ),
}


def _forge(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    head, sig = text.rsplit(" ", 1)
    path.write_text(head + " " + ("A" if sig[0] != "A" else "B") + sig[1:], encoding="utf-8")


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_is_found_and_named(name: str, log: Path, keys: Keys) -> None:
    tamper, index, message = TAMPERINGS[name]
    tamper(log)
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert not report.ok
    found = [p for p in report.problems if message in p.what]
    assert found, lines(report)
    assert found[0].index == index, lines(report)


def test_records_swapped_between_entries(log: Path, keys: Keys) -> None:
    a, b = entry_doc(log, 1), entry_doc(log, 2)
    leaves = bundle_leaves(log)
    leaves[1] = leaves[1].replace(str(a["record"]).encode(), str(b["record"]).encode())
    leaves[2] = leaves[2].replace(str(b["record"]).encode(), str(a["record"]).encode())
    write_bundle(log, leaves)
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert {p.index for p in report.problems} >= {1, 2}, lines(report)
    assert any("its hashes are not those of the entries" in p.what for p in report.problems)


def test_entry_from_another_log_breaks_the_tree(log: Path, keys: Keys, tmp_path: Path) -> None:
    # leaf 3 replaced by leaf 3 of another log (its record signed by another key)
    other = tmp_path / "other"
    make_log(other, make_keys(tmp_path / "k2"), SIZE)
    leaves = bundle_leaves(log)
    leaves[3] = bundle_leaves(other)[3]
    write_bundle(log, leaves)
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert [p.index for p in report.problems if p.index is not None][:1] == [3], lines(report)
    assert any("its hashes are not those of the entries" in p.what for p in report.problems)


def test_a_consistent_forgery_of_leaves_and_tiles_fails_at_the_checkpoint(log: Path, keys: Keys) -> None:
    """Leaves and every hash tile rewritten to agree (all an attacker without keys can do): the
    signed checkpoint's root is not the tree's."""
    from audit.merkle import leaf_hash

    swap_leaves(log, 2, 3)
    (log / LEAF_TILE).write_bytes(b"".join(leaf_hash(x) for x in bundle_leaves(log)))
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert f"{CHECKPOINT}: its root is not the root of the entries it covers" in lines(report)


def test_truncation_behind_a_saved_checkpoint(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    saved = (log / CHECKPOINT).read_text(encoding="utf-8")
    old = checkpoints[3]
    cut(log, 4)
    (log / CHECKPOINT).write_text(str(old), encoding="utf-8")
    assert verify_log(
        log, trust(keys), log_key=keys.verifier()
    ).ok  # without the auditor's checkpoint a cut log is consistent
    report = verify_log(log, trust(keys), [("saved.checkpoint", saved)], log_key=keys.verifier())
    assert lines(report) == [
        "saved.checkpoint: log truncated or rolled back: this checkpoint has 6 entries, the log 4"
    ]


def test_rollback_and_new_history_is_a_fork(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    saved = (log / CHECKPOINT).read_text(encoding="utf-8")
    old = checkpoints[3]
    cut(log, 4)
    (log / CHECKPOINT).write_text(str(old), encoding="utf-8")
    for i in (40, 50):
        write_record(keys.settings(log), facts(i), document(i))
    report = verify_log(log, trust(keys), [("saved.checkpoint", saved)], log_key=keys.verifier())
    assert any(p.where == "saved.checkpoint" and p.what.startswith("fork:") for p in report.problems), lines(
        report
    )


def test_history_rewritten_before_a_saved_checkpoint(
    log: Path, keys: Keys, tmp_path: Path, checkpoints: list[str]
) -> None:
    rewritten = tmp_path / "rewritten"
    shutil.copytree(log, rewritten)
    saved_small = checkpoints[2]
    cut(rewritten, 2)
    (rewritten / CHECKPOINT).write_text(checkpoints[1], encoding="utf-8")
    for i in range(20, 25):
        write_record(keys.settings(rewritten), facts(i), document(i))
    report = verify_log(
        rewritten, trust(keys), [("at-3.checkpoint", str(saved_small))], log_key=keys.verifier()
    )
    assert any("history rewritten (fork)" in p.what for p in report.problems), lines(report)


def test_two_saved_checkpoints_of_one_size_are_a_fork(log: Path, keys: Keys, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(log, twin)
    write_record(keys.settings(log), facts(7), document(7))
    write_record(keys.settings(twin), facts(8), document(8))
    mine, theirs = (log / CHECKPOINT).read_text("utf-8"), (twin / CHECKPOINT).read_text("utf-8")
    report = verify_log(log, trust(keys), [("mine", mine), ("theirs", theirs)], log_key=keys.verifier())
    assert [p.where for p in report.problems] == ["theirs", "theirs"], lines(report)
    assert report.problems[0].what.startswith("fork: mine has the same size 7")


def test_saved_checkpoint_signed_by_another_key_is_forged(log: Path, keys: Keys, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_log(other, make_keys(tmp_path / "k2"), 2)
    report = verify_log(
        log,
        trust(keys),
        [("other.checkpoint", (other / CHECKPOINT).read_text("utf-8"))],
        log_key=keys.verifier(),
    )
    assert len(report.problems) == 1 and "forged, or of another log" in report.problems[0].what


def test_record_signed_by_a_key_not_allowed(log: Path, keys: Keys, tmp_path: Path) -> None:
    stranger = make_keys(tmp_path / "stranger")
    report = verify_log(log, trust(stranger), log_key=keys.verifier())
    assert [p.index for p in report.problems] == list(range(SIZE))
    assert all("which is not an allowed key" in p.what for p in report.problems)


def test_record_signed_by_an_allowed_key_with_a_bad_signature(log: Path, keys: Keys) -> None:
    path = record_file(log, 1)
    doc = json.loads(path.read_bytes())
    sig = doc["dsseEnvelope"]["signatures"][0]["sig"]
    doc["dsseEnvelope"]["signatures"][0]["sig"] = ("B" if sig[0] == "A" else "A") + sig[1:]
    path.write_text(json.dumps(doc))
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert any(p.index == 1 and "record modified" in p.what for p in report.problems)


def test_duplicate_record_id(log: Path, keys: Keys) -> None:
    write_record(keys.settings(log), facts(99, record_id="rec-2"), document(99))
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert lines(report) == [
        f"index {SIZE}: tile/entries/000.p/{SIZE + 1}: duplicate record id rec-2 (also at index 2)"
    ]


def test_log_key_replaced(log: Path, keys: Keys, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_log(other, make_keys(tmp_path / "k2"), 1)
    shutil.copy(other / LOG_PUB, log / LOG_PUB)
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert [p.where for p in report.problems] == [LOG_PUB]
    assert "is not the pinned log key" in report.problems[0].what
    # trusting the folder's key, the checkpoint no longer verifies with it
    report = verify_log(log, trust(keys), log_key=None)
    assert report.problems[0].where == CHECKPOINT
    assert "checkpoint signature does not verify with the log key" in report.problems[0].what
    assert all("not to this log" in p.what for p in report.problems[1:]), lines(report)
    assert any("--trust-log-key-in-folder" in w for w in report.warnings)


def test_checkpoint_deleted(log: Path, keys: Keys) -> None:
    (log / CHECKPOINT).unlink()
    assert lines(verify_log(log, trust(keys), log_key=keys.verifier())) == [
        f"{CHECKPOINT}: missing (deleted)"
    ]


def test_interrupted_append_leaves_notes_not_problems(log: Path, keys: Keys) -> None:
    (log / ".tmp-0123").write_bytes(b"half")
    (log / RECORDS / blob_name("sha256:" + "0" * 64)).unlink(missing_ok=True)
    orphan = b'{"orphan": true}'
    import hashlib

    (log / RECORDS / blob_name("sha256:" + hashlib.sha256(orphan).hexdigest())).write_bytes(orphan)
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert report.ok, lines(report)
    assert len(report.notes) == 2


def test_not_a_log_is_a_usage_error(tmp_path: Path, keys: Keys) -> None:
    with pytest.raises(UsageError):
        verify_log(tmp_path / "nowhere", trust(keys), log_key=keys.verifier())
    with pytest.raises(UsageError):
        verify_log(tmp_path, trust(keys), log_key=None)
    # with the log key pinned, an empty folder is a log whose every file was deleted
    report = verify_log(tmp_path, trust(keys), log_key=keys.verifier())
    assert lines(report) == [f"{LOG_PUB}: missing (deleted)"]


def test_secrets_are_masked_in_stored_inputs(log: Path) -> None:
    stored = AuditLog(log).stored_input(str(entry_doc(log, 0)["input"]))
    assert b"s3cret" not in stored and b'"token":"[masked]"' in stored


def test_records_written_before_records_named_their_log_still_verify(tmp_path: Path) -> None:
    """Logs already written are not rewritten: their records, which name no log, verify (bound to
    the log by its signed checkpoint), with a note saying so; a foreign record is still caught."""
    from audit.envelope import bundle_bytes
    from audit.record import build_statement, canonical
    from audit.signer import KeyChoice, make_signer
    from audit.writer import adoption_check, load_log_key

    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    settings = keys.settings(log)
    signer = make_signer("local", KeyChoice(None, settings.key_pem), {}, [])
    log_key = load_log_key(settings, [])
    for n in range(3):
        old = facts(n)  # no log_origin: as records were written before
        assert old.log_origin is None
        payload = canonical(build_statement(old))
        AuditLog(log).append(
            bundle_bytes(signer.sign(payload)), old.record_id, None, log_key, adoption_check(signer)
        )
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert report.ok, lines(report)
    assert report.size == 3
    assert any("3 record(s) predate records naming their log" in n for n in report.notes)
    write_record(keys.settings(log), facts(3), document(3))  # a new record names its log
    report = verify_log(log, trust(keys), log_key=keys.verifier())
    assert report.ok and any("3 record(s)" in n for n in report.notes)
