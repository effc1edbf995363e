"""A real C2SP tlog-witness for tests: torchwood's litewitness on 127.0.0.1, a free port.

litewitness signs with an Ed25519 key held by an ssh-agent: the fixture makes a key with
ssh-keygen, starts a dedicated `ssh-agent -D` holding it, and starts litewitness with a fresh
SQLite database; `witnessctl add-log` / `add-key` tell it which logs it cosigns. Every process is
stopped afterwards. litewitness and witnessctl come from scripts/install-tools.sh: missing, the
test fails in CI and is skipped on a laptop.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import require_binary, stop_process
from tests.opa_server_fixture import free_port

START_WAIT_S = 30.0  # a deadline for start-up, not an assertion on speed


@dataclass(frozen=True)
class Litewitness:
    """A running litewitness: its URL, the verifier key it printed, and its database."""

    url: str
    vkey: str
    name: str
    public_key: bytes
    db: Path
    witnessctl: str

    def add_log(self, origin: str, log_vkey: str) -> None:
        """Have the witness cosign the log of this origin, signed by this key (it starts at size 0)."""
        for args in (["add-log", "-origin", origin], ["add-key", "-origin", origin, "-key", log_vkey]):
            subprocess.run(
                [self.witnessctl, args[0], "-db", str(self.db), *args[1:]],
                check=True,
                capture_output=True,
                timeout=30,
            )


def _ssh_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        hint = f"{name} (OpenSSH) not found: litewitness's key is held by an ssh-agent"
        if os.environ.get("CI") == "true":
            pytest.fail(hint)
        pytest.skip(hint)
    return found


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"litewitness exited {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(
        f"litewitness did not listen within {START_WAIT_S} s: {log.read_text(errors='replace')}"
    )


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"ssh-agent did not create {path}")
        time.sleep(0.02)


@contextmanager
def litewitness(name: str = "witness.test/w1") -> Iterator[Litewitness]:
    """Start litewitness (and its ssh-agent) named ``name``; stop both afterwards."""
    binary = require_binary("litewitness")
    witnessctl = require_binary("witnessctl")
    keygen, agent_bin, add = _ssh_tool("ssh-keygen"), _ssh_tool("ssh-agent"), _ssh_tool("ssh-add")
    # a short folder: the agent's socket path must fit in sun_path (108 bytes)
    folder = Path(tempfile.mkdtemp(prefix="lw-"))
    agent: subprocess.Popen[bytes] | None = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        key = folder / "key"
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "w", "-f", str(key)], check=True, timeout=30
        )
        sock = folder / "agent.sock"
        agent = subprocess.Popen(
            [agent_bin, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for_file(sock, agent)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run([add, "-q", str(key)], check=True, env=env, capture_output=True, timeout=30)
        listed = subprocess.run(
            [keygen, "-l", "-E", "sha256", "-f", f"{key}.pub"], check=True, capture_output=True, text=True
        )
        fingerprint = listed.stdout.split()[1]
        port = free_port()
        db = folder / "witness.db"
        log = folder / "litewitness.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    "-db",
                    str(db),
                    "-name",
                    name,
                    "-key",
                    fingerprint,
                    "-ssh-agent",
                    str(sock),
                    "-listen",
                    f"127.0.0.1:{port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_for_port(port, proc, log)
        m = re.search(r"vkey=(\S+)", log.read_text(errors="replace"))
        assert m, log.read_text(errors="replace")
        blob = base64.b64decode((folder / "key.pub").read_text().split()[1])
        yield Litewitness(f"http://127.0.0.1:{port}", m.group(1), name, blob[-32:], db, witnessctl)
    finally:
        if proc is not None:
            stop_process(proc)
        if agent is not None:
            stop_process(agent)
        shutil.rmtree(folder, ignore_errors=True)
