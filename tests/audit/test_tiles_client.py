"""Outside tlog-tiles clients read govgate logs: tests/go/tilesclient, a Go program that checks a
log folder with golang.org/x/mod/sumdb/note and sumdb/tlog (the checkpoint with the log's verifier
key, every hash tile against its root, every entry bundle's leaves by inclusion proofs) and with
torchwood's tiles client (the folder served on 127.0.0.1), runs on logs real `gate check` runs
wrote, on a log of several tiles and levels, on a migrated log, and must refuse tampered ones."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.keys import new_log_key
from audit.log import CHECKPOINT, AuditLog
from audit.note import NoteSigner
from tests.audit.logs import LEGACY_LOG, Keys, make_keys
from tests.helpers import ROOT, run_gate

SOURCE = ROOT / "tests" / "go" / "tilesclient"
NAME = "govgate-tilesclient"


def source_digest() -> str:
    """The digest scripts/install-tools.sh stamps into its build of the client."""
    data = b"".join((SOURCE / name).read_bytes() for name in ("main.go", "go.mod", "go.sum"))
    return hashlib.sha256(data).hexdigest()[:16]


def _go_bin() -> Path | None:
    go = shutil.which("go")
    if go is None:
        return None
    out = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, check=False).stdout.strip()
    return Path(out.split(os.pathsep)[0]) / "bin" if out else None


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client as scripts/install-tools.sh built it, or built here once when that build is
    missing or stale (Go required: CI fails without it, a laptop skips)."""
    digest = source_digest()
    bin_dir = _go_bin()
    if bin_dir is not None:
        built = bin_dir / NAME
        if built.is_file():
            found = subprocess.run([built, "-source"], capture_output=True, text=True, check=False)
            if found.stdout.strip() == digest:
                return built
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"go not found: CI must run scripts/install-tools.sh to build {NAME}")
        pytest.skip(f"go not found: run scripts/install-tools.sh to build {NAME}")
    out = tmp_path_factory.mktemp("tilesclient") / NAME
    subprocess.run(
        [go, "build", "-ldflags", f"-X main.source={digest}", "-o", str(out), "."],
        cwd=SOURCE,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def read(client: Path, log: Path, vkey: Path, which: str = "both") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [client, "-vkey", vkey, "-client", which, log],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    """A log of three decisions by real `gate check` runs on the example service."""
    log = tmp_path_factory.mktemp("checked") / "log"
    example = ROOT / "examples" / "payments-api"
    for env in ("dev", "staging", "prod"):
        run = run_gate(
            "check", example, "--config", ROOT / "examples" / "gate.yaml", "--env", env, env=keys.env(log)
        )
        assert run.code in (0, 1), run.stderr
    assert AuditLog(log).size() == 3
    return log


def test_the_client_reads_a_log_gate_check_wrote(client: Path, checked: Path, keys: Keys) -> None:
    run = read(client, checked, keys.log_pub)
    assert run.returncode == 0 and run.stdout == "OK: 3 leaves\n", run.stdout + run.stderr


@pytest.mark.parametrize("which", ["xmod", "torchwood"])
@pytest.mark.parametrize(
    "tamper",
    ["an entry's byte", "a leaf hash", "the checkpoint's signature", "another log key"],
)
def test_the_client_refuses_a_tampered_log(
    tamper: str, which: str, client: Path, checked: Path, keys: Keys, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    shutil.copytree(checked, log)
    vkey = keys.log_pub
    if tamper == "an entry's byte":
        flip(log / "tile" / "entries" / "000.p" / "3", 40)
    elif tamper == "a leaf hash":
        flip(log / "tile" / "0" / "000.p" / "3", 33)
    elif tamper == "the checkpoint's signature":
        text = (log / CHECKPOINT).read_text()
        head, sig = text.rsplit(" ", 1)
        (log / CHECKPOINT).write_text(head + " " + ("A" if sig[0] != "A" else "B") + sig[1:])
    else:
        vkey = make_keys(tmp_path / "stranger").log_pub
    run = read(client, log, vkey, which)
    assert run.returncode == 1 and run.stdout.startswith("FAIL: "), run.stdout + run.stderr


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def test_the_client_reads_a_log_of_several_tiles_and_levels(client: Path, tmp_path: Path) -> None:
    """600 leaves appended in batches: full and partial tiles, a level-1 tile, stale partial tiles
    removed between appends; then a leaf changed in a full entry bundle is refused."""
    skey, _ = new_log_key()
    signer = NoteSigner.from_skey(skey)
    log = AuditLog(tmp_path / "log")
    for lo, hi in ((0, 1), (1, 255), (255, 257), (257, 600)):
        log.append_many([(f"record {i}".encode(), f"rec-{i}", None) for i in range(lo, hi)], signer)
        run = read(client, log.path, log.file("log.pub"))
        assert run.returncode == 0 and run.stdout == f"OK: {hi} leaves\n", run.stdout
    assert (log.path / "tile" / "1" / "000.p" / "2").is_file()
    flip(log.path / "tile" / "entries" / "001", 100)
    run = read(client, log.path, log.file("log.pub"), "xmod")
    assert run.returncode == 1 and "leaf 256" in run.stdout, run.stdout
    run = read(client, log.path, log.file("log.pub"), "torchwood")
    assert run.returncode == 1 and "hash mismatch for entry 256" in run.stdout, run.stdout


def test_the_client_reads_a_migrated_log(client: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    shutil.copytree(LEGACY_LOG, log)
    log_pub = LEGACY_LOG.parent / "legacy-log.log.pub"
    assert run_gate("audit", "migrate", "--log", log, "--log-key", log_pub).code == 0
    run = read(client, log, log_pub)
    assert run.returncode == 0 and run.stdout == "OK: 3 leaves\n", run.stdout + run.stderr
