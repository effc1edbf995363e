"""`gate audit witness` and `gate audit verify --witness` against torchwood's litewitness, a real
C2SP tlog-witness, on logs written by `gate check`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.witness import WITNESS, WitnessVerifier
from tests.audit.logs import Keys, make_keys, make_log
from tests.helpers import ROOT, Run, run_gate
from tests.litewitness_fixture import Litewitness, litewitness

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def witness(keys: Keys) -> Iterator[Litewitness]:
    with litewitness() as w:
        verifier = keys.verifier()
        w.add_log(verifier.name, verifier.vkey)
        yield w


def check(log: Path, keys: Keys, env: str = "dev") -> None:
    run = run_gate(
        "check",
        EXAMPLE,
        "--config",
        CONFIG,
        "--env",
        env,
        env={**keys.env(log), "GATE_TIME": "2026-11-23T12:00:00Z"},
    )
    assert run.code in (0, 1), run.stderr


def submit(log: Path, w: Litewitness, *extra: str) -> Run:
    return run_gate("audit", "witness", "--log", log, "--url", w.url, *extra)


def verify(log: Path, keys: Keys, *extra: str | Path) -> Run:
    return run_gate("audit", "verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub, *extra)


def one_line(run: Run) -> str:
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]


def test_litewitness_cosigns_the_log_and_refuses_rollbacks_and_forks(
    tmp_path: Path, keys: Keys, witness: Litewitness
) -> None:
    # its key ID and vkey, computed from the ssh key, are the ones litewitness prints
    assert WitnessVerifier(witness.name, witness.public_key).vkey == witness.vkey
    log = tmp_path / "log"
    check(log, keys, "dev")
    check(log, keys, "prod")

    first = submit(log, witness, "--witness-key", witness.vkey)
    assert first.code == 0, first.stderr
    name, key_id, _ = witness.vkey.split("+", 2)  # the key's base64 may hold a "+" itself
    assert f"cosigned: {name}+{key_id} on " in first.stdout and "size 2" in first.stdout
    stored = sorted((log / WITNESS).iterdir())
    assert [p.name.split(".")[0] for p in stored] == ["2"]
    ok = verify(log, keys, "--witness", witness.vkey, "--witnesses-required", "1")
    assert ok.code == 0, ok.stdout + ok.stderr
    assert f"witness {name}+{key_id}: cosigned up to size 2, 0 entries after it" in ok.stdout

    old_copy = tmp_path / "old-copy"
    shutil.copytree(log, old_copy)

    # appended after the witnessed checkpoint: fail closed, naming the unwitnessed entries
    check(log, keys, "dev")
    check(log, keys, "prod")
    tail = verify(log, keys, "--witness", witness.vkey, "--witnesses-required", "1")
    assert tail.code == 1
    assert "the last 2 of 4 entries are not cosigned by 1 witness(es) (witnessed up to size 2)" in tail.stdout
    # without a requirement the tail is reported, not failed
    told = verify(log, keys, "--witness", witness.vkey)
    assert told.code == 0 and "cosigned up to size 2, 2 entries after it" in told.stdout

    # the second submission carries a consistency proof from 2 to 4
    second = submit(log, witness, "--witness-key", witness.vkey)
    assert second.code == 0, second.stderr
    assert "size 4 (consistency proof from size 2)" in second.stdout
    assert sorted(p.name.split(".")[0] for p in (log / WITNESS).iterdir()) == ["2", "4"]
    ok = verify(log, keys, "--witness", witness.vkey, "--witnesses-required", "1")
    assert ok.code == 0, ok.stdout + ok.stderr

    # without the witness key the witness is asked from size 0, answers 409 with its size, and is
    # asked again from there; the cosignature is kept, unverified, and verify checks it later
    again = submit(log, witness)
    assert again.code == 0, again.stderr
    assert "consistency proof from size 4" in again.stdout and "kept" in again.stdout
    assert "no --witness-key" in one_line(again)

    # rollback: an older copy of the log, whose checkpoint is smaller than what the witness cosigned
    rolled = submit(old_copy, witness, "--witness-key", witness.vkey)
    assert rolled.code == 1
    line = one_line(rolled)
    assert "already cosigned 4 entries" in line and "rolled back" in line

    # fork: another log with the same origin and key, another history
    fork = tmp_path / "fork"
    make_log(fork, keys, 5)
    forked = submit(fork, witness, "--witness-key", witness.vkey)
    assert forked.code == 1
    line = one_line(forked)
    assert "(422)" in line and "fork" in line
    assert not (fork / WITNESS).exists()


def test_verify_requires_distinct_witnesses(tmp_path: Path, witness: Litewitness) -> None:
    keys = make_keys(tmp_path / "keys")
    witness.add_log(keys.verifier().name, keys.verifier().vkey)
    log = tmp_path / "log"
    make_log(log, keys, 3)
    assert submit(log, witness, "--witness-key", witness.vkey).code == 0
    stranger = WitnessVerifier("witness.test/w2", bytes(range(32))).vkey
    two = verify(log, keys, "--witness", witness.vkey, "--witness", stranger, "--witnesses-required", "2")
    assert two.code == 1
    assert (
        "FAIL --witnesses-required: 1 of the given witnesses cosigned a checkpoint of this log, 2 required"
        in (two.stdout)
    )
    # the same witness given twice is one witness
    twice = verify(
        log, keys, "--witness", witness.vkey, "--witness", witness.vkey, "--witnesses-required", "2"
    )
    assert twice.code == 2 and "2 witnesses required, 1 witness key(s) given" in one_line(twice)
    assert verify(log, keys, "--witness", witness.vkey, "--witnesses-required", "1").code == 0
    key_file = tmp_path / "witness.vkey"
    key_file.write_text(witness.vkey + "\n")
    assert verify(log, keys, "--witness", key_file, "--witnesses-required", "1").code == 0


def test_a_checkpoint_the_pinned_log_key_did_not_sign_is_not_submitted(tmp_path: Path) -> None:
    keys, other = make_keys(tmp_path / "keys"), make_keys(tmp_path / "other")
    log = tmp_path / "log"
    make_log(log, keys, 1)
    run = run_gate(
        "audit", "witness", "--log", log, "--url", "http://127.0.0.1:1", "--log-key", other.log_pub
    )
    assert run.code == 1 and "does not verify with the log key" in one_line(run)


def test_an_unknown_log_is_refused_in_one_line(tmp_path: Path, witness: Litewitness) -> None:
    stranger = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    make_log(log, stranger, 1)
    run = submit(log, witness)
    assert run.code == 2
    assert "does not know log" in one_line(run)


def test_a_url_that_is_not_http_is_refused_in_one_line(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    make_log(log, keys, 1)
    run = run_gate("audit", "witness", "--log", log, "--url", "file:///etc/passwd")
    assert run.code == 2 and "is not an http(s) URL" in one_line(run)
    bad_key = run_gate(
        "audit", "witness", "--log", log, "--url", "http://127.0.0.1:1", "--witness-key", "nope"
    )
    assert bad_key.code == 2 and "--witness:" in one_line(bad_key)


def test_a_witness_that_does_not_answer_is_exit_3_in_one_line(tmp_path: Path) -> None:
    from tests.opa_server_fixture import free_port

    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    make_log(log, keys, 1)
    run = run_gate(
        "audit", "witness", "--log", log, "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"
    )
    assert run.code == 3 and "did not answer" in one_line(run)
    assert not (log / WITNESS).exists()


def test_witness_needs_a_log(tmp_path: Path) -> None:
    run = run_gate("audit", "witness", "--log", tmp_path / "nothing", "--url", "http://127.0.0.1:1")
    assert run.code == 2 and "not a govgate audit log" in one_line(run)
