"""Attacks on the log by someone who can write its folder but holds no keys.

Each test builds the attack from generated logs and runs the real `gate audit` CLI (or the
writer) against it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.errors import AuditError
from audit.keys import new_log_key
from audit.log import CHECKPOINT, INPUTS, LOG_PUB, RECORDS, AuditLog, Entry, blob_name
from audit.note import NoteSigner
from audit.tiles import MAX_BUNDLE, encode_bundle
from audit.writer import write_record
from tests.audit.logs import Keys, bundle_leaves, bundle_path, cut, document, facts, make_keys, make_log
from tests.helpers import GATE, ROOT, Run, audit_env, run_gate


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def three(log: Path, keys: Keys) -> None:
    """dev pass, prod BLOCK, dev warn."""
    write_record(keys.settings(log), facts(0, outcome="pass", environment="dev"), document(0))
    write_record(keys.settings(log), facts(1, outcome="block", environment="prod"), document(1))
    write_record(keys.settings(log), facts(2, outcome="warn", environment="dev"), document(2))


def bundles(log: Path) -> list[tuple[bytes, str, bytes | None]]:
    """(record bundle, record id, stored input) of every entry, in order."""
    out = []
    audit_log = AuditLog(log)
    for i in range(audit_log.size()):
        entry = audit_log.entry(i)
        stored = audit_log.stored_input(entry.input) if entry.input else None
        out.append((audit_log.record(entry.record), entry.record_id, stored))
    return out


def rebuild(log: Path, items: list[tuple[bytes, str, bytes | None]], tmp: Path) -> None:
    """Replace log with a log of items under a new log key the attacker made (no org key needed)."""
    skey, _ = new_log_key()
    forged = tmp / "forged"
    AuditLog(forged).append_many(items, NoteSigner.from_skey(skey))
    shutil.rmtree(log)
    shutil.copytree(forged, log)


def verify(log: Path, keys: Keys, *extra: str | Path, cwd: Path | None = None) -> Run:
    return run_gate("audit", "verify", "--log", log, "--key", keys.pub, *extra, cwd=cwd)


def pinned(keys: Keys) -> tuple[str, Path]:
    return ("--log-key", keys.log_pub)


# --- 13: the log key is pinned by the auditor -------------------------------------------------


def attack_drop_block(log: Path, tmp: Path) -> None:
    items = bundles(log)
    rebuild(log, [items[0], items[2]], tmp)


def attack_reorder(log: Path, tmp: Path) -> None:
    items = bundles(log)
    rebuild(log, [items[2], items[0], items[1]], tmp)


def attack_splice(log: Path, tmp: Path, keys: Keys) -> None:
    other = tmp / "other"
    make_log(other, Keys(keys.record, new_log_key()[0], keys.pub, keys.log_pub), 2)  # same org key
    rebuild(log, [*bundles(log), bundles(other)[1]], tmp)


@pytest.mark.parametrize("attack", ["drop the prod block record", "reorder", "splice another log's record"])
def test_a_re_signed_log_fails_against_the_pinned_log_key(attack: str, tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    if attack == "reorder":
        attack_reorder(log, tmp_path)
    elif attack == "drop the prod block record":
        attack_drop_block(log, tmp_path)
    else:
        attack_splice(log, tmp_path, keys)

    assert verify(log, keys).code != 0  # said OK before: the folder's own log.pub was trusted
    run = verify(log, keys, *pinned(keys))
    assert run.code == 1, run.stdout + run.stderr
    assert f"FAIL {LOG_PUB}: log key " in run.stdout and "is not the pinned log key" in run.stdout
    assert f"FAIL {CHECKPOINT}: checkpoint signature does not verify" in run.stdout
    # even trusting the folder's key, every record names the log key it was written under
    run = verify(log, keys, "--trust-log-key-in-folder")
    assert run.code == 1, run.stdout
    assert "(spliced in from another log, or the log key replaced)" in run.stdout
    assert "warning: the log key was taken from" in run.stderr and "--trust-log-key-in-folder" in run.stderr


def test_verify_refuses_without_a_pinned_log_key(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    run = verify(log, keys)
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no log key pinned" in run.stderr
    assert "--log-key" in run.stderr and "--trust-log-key-in-folder" in run.stderr
    assert verify(log, keys, *pinned(keys)).code == 0
    run = verify(log, keys, "--trust-log-key-in-folder")
    assert run.code == 0 and "gate: warning: the log key was taken from" in run.stderr


def test_a_log_key_file_that_is_not_a_key_is_a_usage_error(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    run = verify(log, keys, "--log-key", bad)
    assert run.code == 2 and run.stderr.count("\n") == 1 and "not a log key" in run.stderr


def test_verify_takes_no_keys_from_the_working_directory(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    cwd = tmp_path / "cwd"
    (cwd / ".gate" / "keys").mkdir(parents=True)
    shutil.copy(keys.pub, cwd / ".gate" / "keys" / "audit.pub")
    shutil.copy(keys.log_pub, cwd / ".gate" / "keys" / "log.pub")
    run = run_gate("audit", "verify", "--log", log, "--log-key", keys.log_pub, cwd=cwd)
    assert run.code == 2 and "say who may sign records" in run.stderr and run.stderr.count("\n") == 1
    run = run_gate("audit", "verify", "--log", log, "--key", keys.pub, cwd=cwd)
    assert run.code == 2 and "no log key pinned" in run.stderr


def test_show_checks_the_pinned_log_key(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    attack_drop_block(log, tmp_path)
    run = run_gate("audit", "show", "--log", log, "0", "--key", keys.pub, *pinned(keys))
    assert run.code == 1 and "is not the pinned log key" in run.stderr


# --- 14: adoption of a leftover entry --------------------------------------------------------


def plant(log: Path, record: bytes, record_id: str, stored: bytes | None) -> None:
    """An entry past the checkpoint, in a wider entry bundle, pointing at record."""
    from audit.log import sha256_digest

    size = AuditLog(log).size()
    rdigest = sha256_digest(record)
    idigest = sha256_digest(stored) if stored is not None else None
    (log / RECORDS / blob_name(rdigest)).write_bytes(record)
    if stored is not None and idigest is not None:
        (log / INPUTS / blob_name(idigest)).write_bytes(stored)
    leaves = [*bundle_leaves(log), Entry(size, record_id, rdigest, idigest).leaf_data()]
    (bundle_path(log).parent / str(size + 1)).write_bytes(encode_bundle(leaves))


def test_a_planted_entry_with_another_logs_record_is_not_adopted(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    other = tmp_path / "other"
    make_log(other, Keys(keys.record, new_log_key()[0], keys.pub, keys.log_pub), 3)  # same org key
    plant(log, *bundles(other)[1])
    before = (log / CHECKPOINT).read_bytes()
    with pytest.raises(AuditError) as refused:
        write_record(keys.settings(log), facts(9), document(9))
    message = str(refused.value)
    assert "tile/entries/000.p/4: entry 3, a leftover entry past the checkpoint, was not adopted" in message
    assert "belongs to log" in message and "not to this log" in message
    assert (log / CHECKPOINT).read_bytes() == before
    assert sorted(os.listdir(log / "tile" / "entries" / "000.p")) == ["3", "4"]  # nothing appended
    # the planted entry is what verify names
    run = verify(log, keys, *pinned(keys))
    assert run.code == 1 and f"FAIL index 3: {RECORDS}/" in run.stdout and "not to this log" in run.stdout


def test_gate_check_fails_closed_on_a_planted_entry(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    other = tmp_path / "other"
    make_log(other, Keys(keys.record, new_log_key()[0], keys.pub, keys.log_pub), 2)
    plant(log, *bundles(other)[1])
    example = ROOT / "examples" / "payments-api"
    run = run_gate(
        "check", example, "--config", ROOT / "examples" / "gate.yaml", "--env", "prod", env=keys.env(log)
    )
    assert run.code == 3 and "was not adopted" in run.stderr and "Traceback" not in run.stderr


def test_a_leftover_signed_by_another_key_is_not_adopted(tmp_path: Path, keys: Keys) -> None:
    from audit.envelope import bundle_bytes
    from audit.record import build_statement, canonical
    from audit.signer import LocalSigner

    log = tmp_path / "log"
    three(log, keys)
    stranger = make_keys(tmp_path / "stranger")
    verifier = keys.verifier()
    named = facts(5)
    named = type(named)(**{**named.__dict__, "log_origin": verifier.name, "log_key": verifier.vkey})
    record = bundle_bytes(LocalSigner(stranger.record).sign(canonical(build_statement(named))))
    plant(log, record, named.record_id, None)
    with pytest.raises(AuditError, match="its record does not verify"):
        write_record(keys.settings(log), facts(9), document(9))


def test_an_honest_leftover_is_adopted(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    kept = tmp_path / "kept"
    shutil.copytree(log, kept)
    write_record(keys.settings(log), facts(3), document(3))
    # as if the writer was killed before the checkpoint moved: the old checkpoint and partial tiles
    shutil.copytree(kept, log, dirs_exist_ok=True)
    assert write_record(keys.settings(log), facts(4), document(4))["index"] == 4
    assert verify(log, keys, *pinned(keys), "--expect-size", "5").code == 0


# --- 15: links, FIFOs, devices and size bounds -----------------------------------------------


def limited(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`gate ARGS` with its address space capped at 1.5 GiB: an unbounded read fails, not the host."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))

    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    env.update(audit_env())
    return subprocess.run(
        [*GATE, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        check=False,
    )


def test_an_entry_bundle_linked_to_dev_zero_is_refused(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    (log / "tile" / "entries" / "000.p" / "4").symlink_to("/dev/zero")
    run = limited("audit", "list", "--log", log)  # read /dev/zero until out of memory before
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr[-2000:]
    assert "a symbolic link" in run.stderr
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, *pinned(keys))
    assert run.returncode == 1, run.stderr[-2000:]
    assert "FAIL index 0: tile/entries/000.p/4: a symbolic link, not a regular file: refused" in run.stdout
    assert "Traceback" not in run.stderr


def test_a_link_out_of_the_log_is_not_followed(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    outside = tmp_path / "outside.json"
    record = log / RECORDS / blob_name(AuditLog(log).entry(1).record)
    record.rename(outside)
    record.symlink_to(outside)
    run = run_gate("audit", "list", "--log", log)
    assert run.code == 1 and "a symbolic link, not a regular file: refused" in run.stderr
    run = verify(log, keys, *pinned(keys))
    assert run.code == 1 and f"FAIL index 1: {RECORDS}/{record.name}: a symbolic link" in run.stdout


def test_a_fifo_checkpoint_does_not_hang(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    (log / CHECKPOINT).unlink()
    os.mkfifo(log / CHECKPOINT)
    run = limited("audit", "checkpoint", "--log", log, timeout=30)  # hung for ever before
    assert run.returncode == 1 and "a FIFO" in run.stderr and run.stderr.count("\n") == 1
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, *pinned(keys), timeout=30)
    assert run.returncode == 1
    assert f"FAIL {CHECKPOINT}: a FIFO, not a regular file: refused" in run.stdout
    with pytest.raises(AuditError, match="a FIFO"):  # the writer refuses it too
        write_record(keys.settings(log), facts(9), document(9))


def test_an_oversized_entry_bundle_is_refused_without_reading_it(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    with (log / "tile" / "entries" / "000.p" / "4").open("wb") as f:
        f.truncate(2**31)  # sparse: 2 GiB that an unbounded read would load
    run = limited("audit", "list", "--log", log)
    assert run.returncode == 1 and f"over the {MAX_BUNDLE}-byte limit" in run.stderr, run.stderr[-2000:]
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, *pinned(keys))
    assert run.returncode == 1, run.stderr[-2000:]
    assert f"2147483648 bytes, over the {MAX_BUNDLE}-byte limit" in run.stdout


def test_an_oversized_hash_tile_is_refused_without_reading_it(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    with (log / "tile" / "0" / "000.p" / "3").open("r+b") as f:
        f.truncate(2**31)
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, *pinned(keys))
    assert run.returncode == 1, run.stderr[-2000:]
    assert "FAIL tile/0/000.p/3: 2147483648 bytes, over the 8192-byte limit" in run.stdout


def test_a_linked_folder_is_refused(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    elsewhere = tmp_path / "elsewhere"
    (log / INPUTS).rename(elsewhere)
    (log / INPUTS).symlink_to(elsewhere)
    run = verify(log, keys, *pinned(keys))
    assert run.code == 1
    assert "FAIL inputs: unexpected file in the log (a symbolic link)" in run.stdout
    assert f"json: its folder {INPUTS} is a symbolic link: refused" in run.stdout


def test_a_linked_tile_folder_is_refused(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    elsewhere = tmp_path / "elsewhere"
    (log / "tile" / "0").rename(elsewhere)
    (log / "tile" / "0").symlink_to(elsewhere)
    run = verify(log, keys, *pinned(keys))
    assert run.code == 1
    assert "FAIL tile/0: unexpected file in the log (a symbolic link)" in run.stdout
    assert "FAIL tile/0/000.p/3: missing (deleted)" in run.stdout
    with pytest.raises(AuditError, match="its folder tile/0 is a symbolic link: refused"):
        write_record(keys.settings(log), facts(9), document(9))
    assert sorted(os.listdir(elsewhere / "000.p")) == ["3"]


# --- 16: what bounds the log from below ------------------------------------------------------


def test_an_emptied_log_is_not_silently_ok(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    for item in log.iterdir():
        if item.name != LOG_PUB:
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    run = verify(log, keys, *pinned(keys))
    assert run.code == 0 and run.stdout.startswith(f"OK: {log}: 0 records")
    assert "tree size 0, root 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" in run.stdout
    assert f"gate: warning: nothing bounds {log} from below" in run.stderr
    run = verify(log, keys, *pinned(keys), "--expect-size", "3")
    assert run.code == 1
    assert (
        "FAIL --expect-size: log truncated or rolled back: 3 entries expected, the log holds 0" in run.stdout
    )


def test_a_rollback_fails_against_a_saved_checkpoint_or_expected_size(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    fields = make_log(log, keys, 4)
    saved = tmp_path / "saved.checkpoint"
    saved.write_text(str(fields[-1]["checkpoint"]))
    cut(log, 3)
    (log / CHECKPOINT).write_text(str(fields[2]["checkpoint"]))  # an older checkpoint: consistent
    run = verify(log, keys, *pinned(keys))
    assert run.code == 0 and "warning: nothing bounds" in run.stderr
    root = str(fields[2]["checkpoint"]).splitlines()[2]
    assert run.stdout.strip().endswith(f"tree size 3, root {root}")
    run = verify(log, keys, *pinned(keys), "--checkpoint", saved)
    assert (
        run.code == 1
        and "log truncated or rolled back: this checkpoint has 4 entries, the log 3" in run.stdout
    )
    assert run.stderr == ""
    run = verify(log, keys, *pinned(keys), "--expect-size", "4", "--format", "json")
    report = json.loads(run.stdout)
    assert run.code == 1 and report["size"] == 3 and report["root"] == root and not report["ok"]


def test_a_planted_far_entry_or_huge_checkpoint_size_costs_nothing(tmp_path: Path, keys: Keys) -> None:
    from audit.note import Checkpoint, sign_note

    log = tmp_path / "log"
    three(log, keys)
    far = log / "tile" / "entries" / "x999" / "x999" / "999.p"
    far.mkdir(parents=True)
    shutil.copy(bundle_path(log), far / "3")
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, *pinned(keys), timeout=60)
    assert run.returncode == 1, run.stderr[-2000:]
    assert (
        f"FAIL index {999999999 * 256}: tile/entries/x999/x999/999.p/3: an entry bundle past the end of the log"
        in run.stdout
    )
    # a folder key the attacker made, and a checkpoint claiming 2**63 entries
    shutil.rmtree(log / "tile" / "entries" / "x999")
    skey, vkey = new_log_key()
    signer = NoteSigner.from_skey(skey)
    (log / LOG_PUB).write_text(vkey + "\n")
    (log / CHECKPOINT).write_text(sign_note(Checkpoint(signer.name, 2**63, b"\0" * 32).to_text(), [signer]))
    run = limited("audit", "verify", "--log", log, "--key", keys.pub, "--trust-log-key-in-folder", timeout=60)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "FAIL index 0: tile/entries/000: missing (deleted)" in run.stdout
    assert (
        f"FAIL index 256: tile/entries/001: missing (deleted), and the {2**55 - 2} entry bundles after it"
        in (run.stdout)
    )


def test_the_writer_never_writes_through_a_linked_folder(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    three(log, keys)
    elsewhere = tmp_path / "elsewhere"
    (log / RECORDS).rename(elsewhere)
    (log / RECORDS).symlink_to(elsewhere)
    before = set(elsewhere.iterdir())
    with pytest.raises(AuditError, match="a symbolic link"):
        write_record(keys.settings(log), facts(9), document(9))
    assert set(elsewhere.iterdir()) == before
