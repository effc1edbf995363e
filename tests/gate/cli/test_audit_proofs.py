"""`gate audit prove`, `gate audit verify-proof` and `gate audit verify --since`, as real
subprocesses on logs written by real `gate check` runs; the proofs also checked by a Go program
using transparency-dev/merkle and golang.org/x/mod/sumdb/note (tests/go/proofcheck)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.log import AuditLog
from tests.audit.logs import Keys, make_keys
from tests.helpers import GATE, ROOT, audit_env, example_pins, run_gate

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PROOFCHECK = ROOT / "tests" / "go" / "proofcheck"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def _check(log: Path, keys: Keys, env_name: str) -> None:
    code = run_gate("check", EXAMPLE, "--config", CONFIG, "--env", env_name, env=keys.env(log)).code
    assert code == (1 if env_name == "prod" else 0)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> tuple[Path, Path]:
    """A log of five decisions, and the checkpoint saved after the first two."""
    folder = tmp_path_factory.mktemp("walk")
    log = folder / "log"
    for env_name in ("prod", "dev"):
        _check(log, keys, env_name)
    saved = folder / "saved.checkpoint"
    run = run_gate("audit", "checkpoint", "--log", log, "--log-key", keys.log_pub)
    assert run.code == 0
    saved.write_text(run.stdout, encoding="utf-8")
    for env_name in ("dev", "prod", "dev"):
        _check(log, keys, env_name)
    return log, saved


@pytest.fixture(scope="module")
def proofcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go checker, built once from tests/go/proofcheck (else the one install-tools.sh put in
    $(go env GOPATH)/bin)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is not None:
        out = tmp_path_factory.mktemp("go") / "proofcheck"
        build = subprocess.run(
            [go, "build", "-o", str(out), "."], cwd=PROOFCHECK, capture_output=True, text=True, timeout=600
        )
        assert build.returncode == 0, build.stderr
        return out
    from tests.helpers import require_binary

    return Path(require_binary("proofcheck"))


def gate(*args: str | Path) -> tuple[int, str, str]:
    run = run_gate("audit", *args)
    return run.code, run.stdout, run.stderr


def entry(log: Path, index: int) -> dict[str, object]:
    found = AuditLog(log).entry(index)
    assert found.index == index
    return {"index": found.index, "id": found.record_id, "record": found.record, "input": found.input}


def record_path(log: Path, index: int) -> Path:
    return log / "records" / ("sha256-" + str(entry(log, index)["record"])[7:] + ".json")


def go_check(
    proofcheck: Path, keys: Keys, proof: Path, *extra: str | Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(proofcheck), "-log-key", str(keys.log_pub), *map(str, extra), str(proof)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_record_is_proved_by_any_of_its_names_and_verifies_offline(
    walk: tuple[Path, Path], keys: Keys, tmp_path: Path, proofcheck: Path
) -> None:
    log, _ = walk
    doc = entry(log, 3)
    names = ["3", str(doc["id"]), str(doc["record"]), str(doc["record"])[:20], str(record_path(log, 3))]
    texts = set()
    for name in names:
        code, out, err = gate("prove", name, "--log", log)
        assert code == 0, err
        texts.add(out)
    assert len(texts) == 1
    proof = tmp_path / "3.tlog-proof"
    code, out, _ = gate("prove", "3", "--log", log, "--log-key", keys.log_pub, "--out", proof)
    assert code == 0 and out == f"{proof}: proof of entry 3 in the checkpoint of size 5\n"
    assert proof.read_text() == texts.pop()
    assert proof.read_text().endswith("\n\n" + (log / "checkpoint").read_text())

    record = record_path(log, 3)
    code, out, err = gate(
        "verify-proof", proof, "--log-key", keys.log_pub, "--record", record, "--key", keys.pub
    )
    assert code == 0 and err == "", err
    first, second = out.splitlines()
    assert first.startswith(
        f"OK: {proof}: entry 3 (record {doc['id']}, {doc['record']}) is in the checkpoint of "
    )
    assert " of size 5, root " in first and second.startswith(
        f"OK: {record}: its digest is the one the proof names; signed by key "
    )

    checked = go_check(proofcheck, keys, proof, "-record", record)
    assert checked.returncode == 0 and checked.stdout == f"OK index 3 size 5 record {doc['record']}\n", (
        checked.stderr
    )


def test_every_entry_has_a_proof_both_verifiers_accept(
    walk: tuple[Path, Path], keys: Keys, tmp_path: Path, proofcheck: Path
) -> None:
    log, _ = walk
    for i in range(5):
        proof = tmp_path / f"{i}.tlog-proof"
        assert gate("prove", str(i), "--log", log, "--out", proof)[0] == 0
        assert gate("verify-proof", proof, "--log-key", keys.log_pub)[0] == 0
        assert go_check(proofcheck, keys, proof, "-record", record_path(log, i)).returncode == 0


def test_a_proof_in_a_saved_checkpoint(
    walk: tuple[Path, Path], keys: Keys, tmp_path: Path, proofcheck: Path
) -> None:
    log, saved = walk
    proof = tmp_path / "1.tlog-proof"
    code, _, err = gate("prove", "1", "--log", log, "--checkpoint", saved, "--out", proof)
    assert code == 0, err
    assert proof.read_text().endswith("\n\n" + saved.read_text())
    assert gate("verify-proof", proof, "--log-key", keys.log_pub)[1].count(" of size 2, root ") == 1
    assert go_check(proofcheck, keys, proof).stdout.startswith("OK index 1 size 2 ")

    code, _, err = gate("prove", "3", "--log", log, "--checkpoint", saved)
    assert code == 1 and "entry 3 is not in the checkpoint (size 2)" in err and err.count("\n") == 1

    other_keys = make_keys(tmp_path / "other")
    other = tmp_path / "other-log"
    run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "dev", env=other_keys.env(other))
    code, _, err = gate("prove", "0", "--log", log, "--checkpoint", other / "checkpoint")
    assert code == 1 and "signature does not verify with the log key" in err and err.count("\n") == 1
    junk = tmp_path / "junk.checkpoint"
    junk.write_text("no checkpoint here\n")
    code, _, err = gate("prove", "0", "--log", log, "--checkpoint", junk)
    assert code == 2 and err.count("\n") == 1


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _replace_line(text: str, number: int, line: str) -> str:
    lines = _lines(text)
    lines[number] = line
    return "\n".join(lines)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_tampered_proofs_fail_in_both_verifiers(
    walk: tuple[Path, Path], keys: Keys, tmp_path: Path, proofcheck: Path
) -> None:
    log, _ = walk
    text = gate("prove", "2", "--log", log)[1]
    other_leaf = gate("prove", "4", "--log", log)[1].split("\n")[1]
    root_line = text.split("\n\n")[1].split("\n")[2]
    lines = _lines(text)
    tampered = {
        "a proof hash changed": _replace_line(text, 3, _b64(b"\x07" * 32)),
        "a proof hash dropped": "\n".join(lines[:3] + lines[4:]),
        "another entry's leaf": _replace_line(text, 1, other_leaf),
        "the index changed": _replace_line(text, 2, "index 1"),
        "the checkpoint's root changed": text.replace(root_line, _b64(b"\x01" * 32)),
        "the checkpoint's size changed": text.replace("\n5\n", "\n6\n", 1),
    }
    for what, bad in tampered.items():
        proof = tmp_path / "bad.tlog-proof"
        proof.write_text(bad)
        code, out, err = gate("verify-proof", proof, "--log-key", keys.log_pub)
        assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err, (what, err)
        assert err.startswith(f"gate: {proof}: does not verify: "), (what, err)
        assert go_check(proofcheck, keys, proof).returncode == 1, what


HOSTILE = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "not a proof": b"hello\n",
    "no checkpoint": b"c2sp.org/tlog-proof@v1\nindex 0\n",
    "a huge file": b"c2sp.org/tlog-proof@v1\n" + b"A" * (300 * 1024),
    "hashes that are not hashes": b"c2sp.org/tlog-proof@v1\nextra e30=\nindex 0\nAAAA\n\nx\n",
    "an index with leading zeros": b"c2sp.org/tlog-proof@v1\nextra e30=\nindex 007\n\nx\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_proof_files_are_refused_in_one_line(
    name: str, keys: Keys, tmp_path: Path, proofcheck: Path
) -> None:
    proof = tmp_path / "hostile.tlog-proof"
    proof.write_bytes(HOSTILE[name])
    code, out, err = gate("verify-proof", proof, "--log-key", keys.log_pub)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(proof) in err
    assert go_check(proofcheck, keys, proof).returncode != 0


def test_verify_proof_usage_and_record_failures(walk: tuple[Path, Path], keys: Keys, tmp_path: Path) -> None:
    log, _ = walk
    proof = tmp_path / "2.tlog-proof"
    assert gate("prove", "2", "--log", log, "--out", proof)[0] == 0
    record = record_path(log, 2)
    other = make_keys(tmp_path / "other")
    run = run_gate("audit", "verify-proof", proof, cwd=tmp_path)
    assert run.code == 2 and "--log-key" in run.stderr  # no log key pinned
    assert gate("verify-proof", tmp_path, "--log-key", keys.log_pub)[0] == 2  # a folder
    assert gate("verify-proof", tmp_path / "none", "--log-key", keys.log_pub)[0] == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # refused, never waited on
    code, _, err = gate("verify-proof", fifo, "--log-key", keys.log_pub)
    assert code == 2 and "not a regular file" in err
    code, _, err = gate("verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub, "--since", fifo)
    assert code == 2 and "not a regular file" in err
    assert gate("verify-proof", proof, "--log-key", keys.log_pub, "--key", keys.pub)[0] == 2  # no --record
    code, _, err = gate("verify-proof", proof, "--log-key", other.log_pub)
    assert code == 1 and "signature does not verify with the log key" in err
    code, out, err = gate("verify-proof", proof, "--log-key", keys.log_pub, "--record", record_path(log, 1))
    assert code == 1 and out == "" and "is not the record" in err
    code, _, err = gate(
        "verify-proof", proof, "--log-key", keys.log_pub, "--record", record, "--key", other.pub
    )
    assert code == 1 and "not an allowed key" in err
    code, out, err = gate("verify-proof", proof, "--log-key", keys.log_pub, "--record", record)
    assert code == 0 and len(out.splitlines()) == 2 and "signature was not checked" in err


def test_verify_since_checks_the_new_records_only(
    walk: tuple[Path, Path], keys: Keys, tmp_path: Path
) -> None:
    log, saved = walk
    pins = ("--key", keys.pub, "--log-key", keys.log_pub)
    code, out, err = gate("verify", "--log", log, *pins, "--since", saved)
    root = (log / "checkpoint").read_text().split("\n")[2]
    assert code == 0 and err == "", err
    assert out == (
        f"OK: {log}: 3 new records since the checkpoint of size 2: consistency proof, Merkle tree, the "
        f"new records' signatures and files verified; tree size 5, root {root}\n"
    )
    report = json.loads(gate("verify", "--log", log, *pins, "--since", saved, "--format", "json")[1])
    assert report["ok"] and report["since"] == 2 and report["size"] == 5

    copy = tmp_path / "log"
    shutil.copytree(log, copy)
    record = record_path(copy, 3)
    record.write_bytes(record.read_bytes() + b" ")
    code, out, _ = gate("verify", "--log", copy, *pins, "--since", saved)
    assert code == 1
    assert out.splitlines()[0] == (
        f"FAIL index 3: records/{record.name}: record modified: its digest is not the one the entry holds"
    )
    forged = tmp_path / "forged.checkpoint"
    forged.write_text(saved.read_text().replace("\n2\n", "\n3\n", 1))
    code, out, _ = gate("verify", "--log", log, *pins, "--since", forged)
    assert code == 1 and "signature does not verify" in out


def test_the_full_verify_shows_progress_on_a_terminal_only(walk: tuple[Path, Path], keys: Keys) -> None:
    import pty

    log, saved = walk
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))}
    env.update(audit_env())
    env.update(example_pins())
    args = [
        *GATE,
        "audit",
        "verify",
        "--log",
        str(log),
        "--key",
        str(keys.pub),
        "--log-key",
        str(keys.log_pub),
    ]
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*args, "--checkpoint", str(saved)], stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=60) == 0
    os.close(master)
    assert out.startswith(f"OK: {log}: 5 records")
    assert b"\rgate: verified 5 of 5 entries" in seen and seen.endswith(b"\r\x1b[K")
    piped = run_gate(
        "audit", "verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub, "--checkpoint", saved
    )
    assert piped.code == 0 and piped.stderr == ""  # not a terminal: no progress
