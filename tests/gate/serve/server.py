"""A real `gate serve` for tests: a subprocess on 127.0.0.1 at a free port, stopped afterwards.

Each server gets the throwaway signing keys of tests.helpers.audit_env(), its own audit log, a
pinned decision time and (by default) a bearer token; the runner's CI variables are removed.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import GATE, ROOT, audit_env, stop_process
from tests.opa_server_fixture import free_port

HEALTH_WAIT_S = 60.0  # a deadline for start-up, not an assertion on speed
PINNED_TIME = "2026-11-23T12:00:00Z"
TOKEN = "test-token-5f0c9a7e1b2d4c68"
EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
TEST_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class GateServer:
    """A running `gate serve`: its base URL, token, audit log and output file."""

    url: str
    token: str | None
    audit_log: Path
    output: Path

    def client(self, *, token: str | None = None, authorised: bool = True) -> httpx.Client:
        """An HTTP client for the server; it sends the server's token unless told otherwise."""
        headers: dict[str, str] = {}
        sent = token if token is not None else (self.token if authorised else None)
        if sent is not None:
            headers["Authorization"] = f"Bearer {sent}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, trust_env=False)

    def check(self, body: Any, **kwargs: Any) -> httpx.Response:
        """POST /v1/check with `body` as JSON."""
        with self.client(**kwargs) as client:
            return client.post("/v1/check", json=body)


def server_env(audit_log: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the runner's, less CI and GATE_ variables, plus keys and a pinned time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))}
    env.update(audit_env())
    env["GATE_AUDIT_LOG"] = str(audit_log)
    env["GATE_TIME"] = PINNED_TIME
    env.update(extra or {})
    return env


def _healthy(url: str) -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            return client.get(f"{url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def gate_server(
    workdir: Path,
    *args: str,
    token: str | None = TOKEN,
    env: dict[str, str] | None = None,
    config: Path | None = CONFIG,
    max_request_bytes: int = TEST_LIMIT,
) -> Iterator[GateServer]:
    """Run `gate serve ARGS...` until the block ends (also when it fails); yield where it listens."""
    workdir.mkdir(parents=True, exist_ok=True)
    audit_log = workdir / "audit"
    extra = dict(env or {})
    if token is not None:
        extra["GATE_SERVE_TOKEN"] = token
    full_env = server_env(audit_log, extra)
    output = workdir / "serve.log"
    options = ["--max-request-bytes", str(max_request_bytes)]
    if config is not None:
        options += ["--config", str(config)]
    for _ in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with output.open("wb") as out:
            proc = subprocess.Popen(
                [*GATE, "serve", "--host", "127.0.0.1", "--port", str(port), *options, *args],
                cwd=ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + HEALTH_WAIT_S
            while proc.poll() is None and time.monotonic() < deadline:
                if _healthy(url):
                    break
                time.sleep(0.05)
            else:
                if proc.poll() is None:
                    pytest.fail(
                        f"gate serve did not answer /healthz within {HEALTH_WAIT_S:g} s: {tail(output)}"
                    )
                if "address already in use" in output.read_text(errors="replace"):
                    continue
                pytest.fail(f"gate serve exited with {proc.returncode}: {tail(output)}")
            yield GateServer(url, token, audit_log, output)
            return
        finally:
            stop_process(proc, grace=30)  # uvicorn shuts down gracefully
    pytest.fail("gate serve could not bind a free port in three tries")


def tail(path: Path) -> str:
    """The end of a log file, for failure messages."""
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no output)"


def example_files() -> list[dict[str, str]]:
    """The example service's files, sent by content."""
    return [
        {"path": p.name, "content": p.read_text(encoding="utf-8")}
        for p in sorted(EXAMPLE.iterdir())
        if p.is_file()
    ]
