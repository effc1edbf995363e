"""The log's writer: sequencing, recovery after a killed writer, concurrency, and its guards."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from audit.errors import AuditError
from audit.keys import load_public_key
from audit.log import AuditLog, LogError
from audit.merkle import leaf_hash, root, verify_inclusion
from audit.note import NoteSigner, NoteVerifier
from audit.record import DecisionFacts
from audit.tiles import TILE, inclusion_path
from audit.verify import Trust, verify_log
from audit.writer import write_record
from tests.audit.logs import Keys, document, facts, make_keys, make_log
from tests.helpers import ROOT

T = TypeVar("T")

# A writer process: appends records in a loop (count, or forever when count is 0).
WRITER = textwrap.dedent(
    """
    import sys, uuid
    from pathlib import Path
    from audit.writer import AuditSettings, write_record
    from tests.audit.logs import facts, document
    log, pem, skey, count, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    settings = AuditSettings(log=Path(log), key_pem=pem, log_key_text=skey)
    i = 0
    while count == 0 or i < count:
        write_record(settings, facts(i, record_id=f"{tag}-{i}-{uuid.uuid4()}"), document(i))
        i += 1
    """
)


def writer(log: Path, keys: Keys, count: int, tag: str) -> subprocess.Popen[bytes]:
    """Start a writer process."""
    from audit.keys import record_key_pem

    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(log),
            record_key_pem(keys.record).decode(),
            keys.log_skey,
            str(count),
            tag,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def entry_count(log: Path) -> int:
    """Files in the log's tiles so far (each append adds some)."""
    folder = log / TILE
    return sum(len(files) for _, _, files in os.walk(folder)) if folder.is_dir() else 0


def wait_for_growth(log: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """Block until the log gains an entry (the writers are past start-up), or a writer exits."""
    start = entry_count(log)
    deadline = time.monotonic() + 120  # a bound for a stuck writer, not a speed assertion
    while entry_count(log) == start:
        failed = [p for p in procs if p.poll() is not None]
        assert not failed, failed[0].stderr.read().decode() if failed[0].stderr else "writer exited"
        assert time.monotonic() < deadline, "no writer appended within the bound"
        time.sleep(0.01)


def killed_before_the_checkpoint(log: Path, append: Callable[[], T]) -> T:
    """Run append, then put back the checkpoint and the partial tiles it replaced: the log as a
    writer killed after its tiles, before its checkpoint, leaves it."""
    kept = log.parent / (log.name + ".kept")
    shutil.copytree(log, kept)
    done = append()
    shutil.copytree(kept, log, dirs_exist_ok=True)
    shutil.rmtree(kept)
    return done


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return make_keys(tmp_path / "keys")


def test_append_returns_the_signed_checkpoint_it_ended_with(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    fields = make_log(log, keys, 5)
    assert [f["index"] for f in fields] == [0, 1, 2, 3, 4]
    audit_log = AuditLog(log)
    entry = audit_log.entry(3)
    cp = audit_log.checkpoint(audit_log.verifier())
    assert cp.size == 5 and fields[3]["record"] == entry.record
    from audit.log import open_checkpoint

    own = open_checkpoint(fields[3]["checkpoint"], audit_log.verifier(), "decision 3")
    leaves = [audit_log.entry(i).leaf_hash() for i in range(5)]
    assert own.size == 4 and own.root_hash == root(leaves[:4])
    proof = inclusion_path(audit_log.subtree_hash, 3, 5)
    assert verify_inclusion(entry.leaf_hash(), 3, 5, proof, cp.root_hash)
    assert fields[4]["checkpoint"] == audit_log.checkpoint_text()


def test_subtree_hash_is_every_complete_subtree_of_the_tree(tmp_path: Path, keys: Keys) -> None:
    """Levels 0..10 over 600 leaves: tile levels 0 and 1, the levels between hashed up, partial
    tiles at the end; a subtree the log does not hold yet is missing."""
    from audit.log import MissingFile
    from audit.note import NoteSigner

    log = AuditLog(tmp_path / "log")
    signer = NoteSigner.from_skey(keys.log_skey)
    log.append_many([(f"r{i}".encode(), f"id-{i}", None) for i in range(300)], signer)
    log.append_many([(f"r{i}".encode(), f"id-{i}", None) for i in range(300, 600)], signer)
    leaves = [leaf_hash(log.entry(i).leaf_data()) for i in range(600)]
    for level in range(10):
        for index in range(600 >> level):
            want = root(leaves[index << level : (index + 1) << level])
            assert log.subtree_hash(level, index) == want, (level, index)
    with pytest.raises(MissingFile):
        log.subtree_hash(9, 1)  # leaves 512..1023: not all there
    with pytest.raises(MissingFile):
        log.subtree_hash(0, 600)


def test_a_log_refuses_another_log_key(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 1)
    stranger = make_keys(tmp_path / "k2")
    with pytest.raises(LogError, match="signed by log key"):
        write_record(stranger.settings(log), facts(1), document(1))


def test_missing_log_key_file_with_entries_is_damage(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 1)
    (log / "log.pub").unlink()
    with pytest.raises(LogError, match="missing, but the log has entries"):
        write_record(keys.settings(log), facts(1), document(1))


def test_writer_adopts_an_entry_past_the_checkpoint(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 3)
    make_log_one = killed_before_the_checkpoint(
        log, lambda: write_record(keys.settings(log), facts(3), document(3))
    )
    report = verify_log(log, Trust(keys=(load_public_key(keys.pub),)), log_key=keys.verifier())
    assert report.ok and report.size == 4
    assert any("an append was interrupted" in note for note in report.notes), report.notes
    nxt = write_record(keys.settings(log), facts(4), document(4))
    assert (make_log_one["index"], nxt["index"]) == (3, 4)
    assert AuditLog(log).size() == 5
    assert verify_log(log, Trust(keys=(load_public_key(keys.pub),)), log_key=keys.verifier()).notes == []


def test_a_damaged_log_is_not_appended_to(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 3)
    path = log / "tile" / "0" / "000.p" / "3"
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(AuditError, match="root"):
        write_record(keys.settings(log), facts(3), document(3))


def test_partial_tiles_the_log_no_longer_serves_are_removed(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 3)
    assert sorted(os.listdir(log / "tile" / "entries" / "000.p")) == ["3"]
    assert sorted(os.listdir(log / "tile" / "0" / "000.p")) == ["3"]


def test_a_planted_hash_tile_past_the_checkpoint_stops_the_writer(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 3)
    (log / "tile" / "0" / "000.p" / "4").write_bytes(bytes(4 * 32))
    with pytest.raises(LogError, match="holds other data than the entries"):
        write_record(keys.settings(log), facts(3), document(3))


def test_unwritable_log_is_an_audit_error(tmp_path: Path, keys: Keys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="cannot open the log"):
        write_record(keys.settings(blocker / "log"), facts(0), document(0))


def test_eight_processes_fifty_decisions_each(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    procs = [writer(log, keys, 50, f"w{n}") for n in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    report = verify_log(log, Trust(keys=(load_public_key(keys.pub),)), log_key=keys.verifier())
    assert report.ok, [p.line() for p in report.problems]
    assert report.size == 400 and report.notes == []
    ids = {AuditLog(log).entry(i).record_id.split("-")[0] for i in range(400)}
    assert ids == {f"w{n}" for n in range(8)}


def test_writers_killed_at_random_moments_leave_a_log_that_verifies(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    rng = random.Random(20261123)
    trust = Trust(keys=(load_public_key(keys.pub),))
    kills = interrupted = 0
    for round_ in range(24):
        procs = [writer(log, keys, 0, f"k{round_}-{n}") for n in range(2)]
        wait_for_growth(log, procs)  # the writers are appending: a kill now lands mid-stream
        time.sleep(rng.random() * 0.2)
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            kills += p.returncode == -signal.SIGKILL
        report = verify_log(log, trust, log_key=keys.verifier())
        assert report.ok, (round_, [p.line() for p in report.problems])
        interrupted += any("interrupted" in note for note in report.notes)
    assert kills >= 20
    assert interrupted > 0  # some kills landed in the middle of an append
    size = verify_log(log, trust, log_key=keys.verifier()).size
    nxt = write_record(keys.settings(log), facts(0, record_id="after-the-crashes"), document(0))
    assert nxt["index"] == size
    final = verify_log(log, trust, log_key=keys.verifier())
    assert final.ok and final.size == size + 1
    assert not list(log.glob(".tmp-*"))  # the next append cleared what the killed writers left


def test_log_key_round_trip(keys: Keys) -> None:
    signer = NoteSigner.from_skey(keys.log_skey)
    assert signer.name.startswith("govgate.local/audit/")
    assert NoteVerifier.from_vkey(signer.verifier.vkey) == signer.verifier


def test_append_many_sequences_a_batch_under_one_lock(tmp_path: Path, keys: Keys) -> None:
    from audit.envelope import bundle_bytes
    from audit.record import build_statement, canonical
    from audit.signer import LocalSigner

    def named(f: DecisionFacts) -> DecisionFacts:
        return dataclasses.replace(f, log_origin=keys.verifier().name, log_key=keys.verifier().vkey)

    log = tmp_path / "log"
    make_log(log, keys, 2)
    signer = LocalSigner(keys.record)
    items = [
        (bundle_bytes(signer.sign(canonical(build_statement(named(facts(i)))))), f"rec-{i}", None)
        for i in range(2, 7)
    ]
    done = AuditLog(log).append_many(items, NoteSigner.from_skey(keys.log_skey))
    assert [a.index for a in done] == [2, 3, 4, 5, 6]
    assert AuditLog(log).checkpoint_text() == done[-1].checkpoint
    report = verify_log(log, Trust(keys=(load_public_key(keys.pub),)), log_key=keys.verifier())
    assert report.ok and report.size == 7


def test_partial_tiles_a_writer_killed_after_its_checkpoint_left_are_removed(
    tmp_path: Path, keys: Keys
) -> None:
    """Killed after its checkpoint filled tile 0 (256 entries), before it removed tile 0's partial
    tiles: they are noted by verify, and the next append removes them."""
    from audit.note import NoteSigner

    log = AuditLog(tmp_path / "log")
    signer = NoteSigner.from_skey(keys.log_skey)
    log.append_many([(f"r{i}".encode(), f"id-{i}", None) for i in range(200)], signer)
    kept = {p: p.read_bytes() for p in (log.path / "tile").rglob("*") if p.is_file() and ".p" in str(p)}
    log.append_many([(f"r{i}".encode(), f"id-{i}", None) for i in range(200, 256)], signer)
    for path, data in kept.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    log.append_many([(b"r256", "id-256", None)], signer)
    assert not (log.path / "tile" / "0" / "000.p").exists()
    assert not (log.path / "tile" / "entries" / "000.p").exists()
    assert sorted(os.listdir(log.path / "tile" / "0" / "001.p")) == ["1"]


class Killed(BaseException):
    """The writer dies here (not an error anything catches)."""


def test_a_writer_killed_at_each_file_it_writes_leaves_a_log_that_verifies(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append that fills tile 0 (255 -> 257 entries: records, a full and a partial entry bundle,
    level 0 and level 1 hash tiles, the checkpoint) killed before each file it links or renames
    into place: the log verifies, and the next append adopts what it left and verifies."""
    from audit.envelope import bundle_bytes
    from audit.record import build_statement, canonical
    from audit.signer import LocalSigner
    from audit.writer import adoption_check

    signer = LocalSigner(keys.record)
    verifier = keys.verifier()

    def item(i: int) -> tuple[bytes, str, None]:
        f = dataclasses.replace(facts(i), log_origin=verifier.name, log_key=verifier.vkey)
        return bundle_bytes(signer.sign(canonical(build_statement(f)))), f.record_id, None

    base = tmp_path / "base"
    log_key = NoteSigner.from_skey(keys.log_skey)
    AuditLog(base).append_many([item(i) for i in range(255)], log_key)
    new = [item(i) for i in range(255, 258)]
    trust = Trust(keys=(load_public_key(keys.pub),))
    real_link, real_replace = os.link, os.replace
    kill_at = 0
    while True:
        work = tmp_path / f"k{kill_at}"
        shutil.copytree(base, work)
        budget = [kill_at]  # file operations left before the writer dies

        def counted(real: Callable[..., None], budget: list[int] = budget) -> Callable[..., None]:
            def op(*args: object) -> None:
                if budget[0] == 0:
                    raise Killed
                budget[0] -= 1
                real(*args)

            return op

        monkeypatch.setattr(os, "link", counted(real_link))
        monkeypatch.setattr(os, "replace", counted(real_replace))
        try:
            AuditLog(work).append_many(new[:2], log_key)
            died = False
        except Killed:
            died = True
        monkeypatch.setattr(os, "link", real_link)
        monkeypatch.setattr(os, "replace", real_replace)
        report = verify_log(work, trust, log_key=verifier)
        assert report.ok, (kill_at, [p.line() for p in report.problems])
        if not died:
            assert report.size == 257
            break
        done = AuditLog(work).append_many([new[2]], log_key, adoption_check(signer))
        report = verify_log(work, trust, log_key=verifier)
        assert report.ok and report.size == done[0].index + 1, (kill_at, [p.line() for p in report.problems])
        assert done[0].index in (255, 256, 257)
        shutil.rmtree(work)
        kill_at += 1
    assert kill_at >= 8  # records, bundles, hash tiles and the checkpoint were each a moment to die
