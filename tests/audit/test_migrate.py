"""`gate audit migrate`: a log in the layout before tiles becomes the same tree as C2SP tlog-tiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit.log import CHECKPOINT, AuditLog, LogError
from audit.merkle import root
from audit.writer import write_record
from tests.audit.logs import LEGACY_LOG, Keys, document, facts, make_keys, make_log, to_legacy
from tests.helpers import Run, run_gate

AUDIT_PUB = LEGACY_LOG.parent / "legacy-log.audit.pub"
LOG_PUB = LEGACY_LOG.parent / "legacy-log.log.pub"


def verify(log: Path, pub: Path, log_pub: Path, *extra: str | Path) -> Run:
    return run_gate("audit", "verify", "--log", log, "--key", pub, "--log-key", log_pub, *extra)


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A copy of the log written by govgate before tiles."""
    copy = tmp_path / "legacy"
    shutil.copytree(LEGACY_LOG, copy)
    return copy


def test_verify_on_the_old_layout_says_to_migrate(legacy: Path) -> None:
    run = verify(legacy, AUDIT_PUB, LOG_PUB)
    assert run.code == 2 and run.stdout == "" and run.stderr.count("\n") == 1, run.stderr
    assert "layout before tiles" in run.stderr and "gate audit migrate --log DIR" in run.stderr


def test_migrate_in_place_keeps_the_checkpoint_and_the_root(legacy: Path, tmp_path: Path) -> None:
    old_checkpoint = (legacy / CHECKPOINT).read_bytes()
    records = sorted(p.read_bytes() for p in (legacy / "records").iterdir())
    saved = tmp_path / "saved.checkpoint"
    saved.write_bytes(old_checkpoint)
    run = run_gate("audit", "migrate", "--log", legacy, "--log-key", LOG_PUB)
    assert run.code == 0, run.stderr
    b64root = old_checkpoint.decode().splitlines()[2]
    assert run.stdout == (
        f"migrated {legacy}: 3 records, tree size 3, root {b64root} (the checkpoint kept as it was)\n"
    )
    assert (legacy / CHECKPOINT).read_bytes() == old_checkpoint
    assert not (legacy / "entries").exists()
    assert sorted(p.read_bytes() for p in (legacy / "records").iterdir()) == records
    run = verify(legacy, AUDIT_PUB, LOG_PUB, "--checkpoint", saved, "--expect-size", "3")
    assert run.code == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith(f"tree size 3, root {b64root}")
    leaves = [AuditLog(legacy).entry(i).leaf_hash() for i in range(3)]
    assert AuditLog(legacy).checkpoint(AuditLog(legacy).verifier()).root_hash == root(leaves)
    run = run_gate("audit", "migrate", "--log", legacy, "--log-key", LOG_PUB)
    assert run.code == 2 and "already in the tiles layout" in run.stderr


def test_migrate_to_a_new_folder_leaves_the_old_log_as_it_was(legacy: Path, tmp_path: Path) -> None:
    before = {p.relative_to(legacy): p.read_bytes() for p in legacy.rglob("*") if p.is_file()}
    after = before | {Path(".lock"): b""}  # the lock migration held: the one file without data
    new = tmp_path / "tiled"
    run = run_gate("audit", "migrate", "--log", legacy, "--to", new, "--log-key", LOG_PUB)
    assert run.code == 0, run.stderr
    assert {p.relative_to(legacy): p.read_bytes() for p in legacy.rglob("*") if p.is_file()} == after
    assert (new / CHECKPOINT).read_bytes() == before[Path(CHECKPOINT)]
    assert verify(new, AUDIT_PUB, LOG_PUB, "--expect-size", "3").code == 0
    run = run_gate("audit", "list", "--log", new, "--format", "json")
    assert run.code == 0 and run.stdout.count('"index"') == 3
    run = run_gate("audit", "show", "--log", new, "1", "--key", AUDIT_PUB, "--log-key", LOG_PUB)
    assert run.code == 0, run.stderr
    run = run_gate("audit", "migrate", "--log", legacy, "--to", new, "--log-key", LOG_PUB)
    assert run.code == 1 and "not empty" in run.stderr and run.stderr.count("\n") == 1


def test_a_tampered_old_log_is_not_migrated(legacy: Path) -> None:
    entry = legacy / "entries" / "000000000001.json"
    entry.write_bytes(entry.read_bytes().replace(b'"id":"rec-1"', b'"id":"rec-9"'))
    run = run_gate("audit", "migrate", "--log", legacy, "--log-key", LOG_PUB)
    assert run.code == 1 and run.stderr.count("\n") == 1, run.stderr
    assert "000000000001.json: its inclusion proof does not verify (entry modified)" in run.stderr
    assert not (legacy / "tile").exists() and entry.exists()


def test_migrate_refuses_another_log_key(legacy: Path, tmp_path: Path) -> None:
    stranger = make_keys(tmp_path / "stranger")
    run = run_gate("audit", "migrate", "--log", legacy, "--log-key", stranger.log_pub)
    assert run.code == 1 and "is not the pinned log key" in run.stderr
    assert (legacy / "entries").exists() and not (legacy / "tile").exists()


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return make_keys(tmp_path / "keys")


def test_a_migrated_log_is_appended_to(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 4)
    to_legacy(log)
    with pytest.raises(LogError, match="layout before tiles") as refused:
        write_record(keys.settings(log), facts(4), document(4))
    assert "gate audit migrate --log DIR" in refused.value.remediation
    assert run_gate("audit", "migrate", "--log", log, "--log-key", keys.log_pub).code == 0
    assert write_record(keys.settings(log), facts(4), document(4))["index"] == 4
    assert verify(log, keys.pub, keys.log_pub, "--expect-size", "5").code == 0


def test_an_interrupted_migration_is_run_again(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    make_log(log, keys, 3)
    to_legacy(log)
    kept = tmp_path / "entries"
    shutil.copytree(log / "entries", kept)
    assert run_gate("audit", "migrate", "--log", log, "--log-key", keys.log_pub).code == 0
    # killed before the old entries were removed: tiles and entries side by side, still the old log
    shutil.copytree(kept, log / "entries")
    assert verify(log, keys.pub, keys.log_pub).code == 2
    assert run_gate("audit", "migrate", "--log", log, "--log-key", keys.log_pub).code == 0
    assert verify(log, keys.pub, keys.log_pub, "--expect-size", "3").code == 0


def test_entries_past_the_checkpoint_need_the_log_key(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    fields = make_log(log, keys, 3)
    to_legacy(log)
    (log / CHECKPOINT).write_text(str(fields[1]["checkpoint"]))  # an append interrupted
    run = run_gate("audit", "migrate", "--log", log, "--log-key", keys.log_pub)
    assert run.code == 1 and "entries past the checkpoint" in run.stderr and "--log-key log.key" in run.stderr
    log_key = tmp_path / "log.key"
    log_key.write_text(keys.log_skey + "\n")
    run = run_gate("audit", "migrate", "--log", log, "--log-key", log_key)
    assert run.code == 0 and "3 records" in run.stdout and "a new checkpoint signed" in run.stdout
    assert verify(log, keys.pub, keys.log_pub, "--expect-size", "3").code == 0


def test_gate_check_on_a_log_before_tiles_says_to_migrate(tmp_path: Path, keys: Keys) -> None:
    from tests.helpers import ROOT

    log = tmp_path / "log"
    make_log(log, keys, 2)
    to_legacy(log)
    example = ROOT / "examples" / "payments-api"
    run = run_gate(
        "check", example, "--config", ROOT / "examples" / "gate.yaml", "--env", "prod", env=keys.env(log)
    )
    assert run.code == 3 and "Traceback" not in run.stderr, run.stderr
    assert "the log is in the layout before tiles" in run.stderr
    assert "gate audit migrate --log DIR" in run.stderr
    assert not (log / "tile").exists()
