"""`gate check --audit-log URL` against a real `gate audit serve` on a real PostgreSQL.

The service runs as a subprocess on a free port of 127.0.0.1; tokens are made with `gate audit
token create`; `gate check` runs as a subprocess too. Where the environment blocks, a log that does
not take the record (down, refusing) is exit 3; in dev it is a warning.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit.keys import record_key_pem
from tests.audit.logs import Keys, make_keys
from tests.helpers import GATE, ROOT, run_gate, stop_process
from tests.opa_server_fixture import free_port

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
START_WAIT_S = 60.0  # a deadline for start-up, not an assertion on speed


@dataclass
class Service:
    """A running `gate audit serve`."""

    url: str
    dsn: str
    keys: Keys
    proc: subprocess.Popen[bytes]
    log: Path


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))}
    env.update(extra or {})
    return env


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"gate audit serve exited {proc.returncode}: {log.read_text(errors='replace')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"gate audit serve did not listen: {log.read_text(errors='replace')}")


def start_service(dsn: str, keys: Keys, folder: Path) -> Service:
    config = folder / "log-service.yaml"
    config.write_text(f"keys: [{keys.pub}]\n", encoding="utf-8")
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *GATE,
                "audit",
                "serve",
                "--db",
                dsn,
                "--listen",
                f"127.0.0.1:{port}",
                "--config",
                str(config),
                "--migrate",
            ],
            env=_env({"GATE_LOG_KEY": keys.log_skey}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait(port, proc, log)
    return Service(f"http://127.0.0.1:{port}", dsn, keys, proc, log)


@pytest.fixture
def service(postgres_dsn: str, tmp_path: Path) -> Iterator[Service]:
    keys = make_keys(tmp_path / "keys")
    running = start_service(postgres_dsn, keys, tmp_path)
    try:
        yield running
    finally:
        stop_process(running.proc)


def token(service: Service, *scopes: str) -> str:
    args = [arg for s in scopes for arg in ("--scope", s)]
    proc = subprocess.run(
        [*GATE, "audit", "token", "create", "--db", service.dsn, *args, "--name", "ci"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def check(
    service: Service, env: str, token_text: str | None, url: str | None = None
) -> tuple[int, dict[str, object], str]:
    extra = {
        "GATE_SIGNING_KEY": record_key_pem(service.keys.record).decode(),
        "GATE_AUDIT_LOG": url or service.url,
        "GATE_AUDIT_LOG_PUB": str(service.keys.log_pub),
    }
    if token_text:
        extra["GATE_AUDIT_TOKEN"] = token_text
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", env, "--format", "json", env=extra, timeout=180
    )
    return run.code, (json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}), run.stderr


def test_gate_check_appends_to_the_central_log_and_names_its_index(service: Service) -> None:
    append = token(service, "append")
    code, decision, err = check(service, "prod", append)
    assert code == 1, err  # the example blocks in prod; its record is in the central log
    audit = decision["audit"]
    assert isinstance(audit, dict)
    assert audit["log"] == service.url and audit["index"] == 0
    assert str(audit["checkpoint"]).startswith("govgate.local/audit/")
    code, decision, err = check(service, "dev", append)
    assert code == 0, err
    assert isinstance(decision["audit"], dict) and decision["audit"]["index"] == 1
    import requests

    read = token(service, "read")
    listed = requests.get(
        f"{service.url}/v1/decisions",
        params={"environment": "prod"},
        headers={"authorization": f"Bearer {read}"},
        timeout=10,
    ).json()
    assert [d["index"] for d in listed["decisions"]] == [0]
    assert listed["decisions"][0]["outcome"] == "block"


def test_a_central_log_that_refuses_or_is_down_fails_closed_where_the_environment_blocks(
    service: Service,
) -> None:
    code, decision, err = check(service, "prod", None)  # no token: 401
    assert code == 3, err
    assert "refused the record (401" in str(decision.get("error")), decision
    read_only = token(service, "read")
    code, decision, err = check(service, "prod", read_only)
    assert code == 3 and "refused the record (403" in str(decision.get("error"))
    code, decision, err = check(service, "dev", None)
    assert code == 0 and "audit record not written" in err
    down = f"http://127.0.0.1:{free_port()}"
    code, decision, err = check(service, "prod", read_only, url=down)
    assert code == 3 and "is unreachable" in str(decision.get("error")), decision


def test_token_create_refuses_a_database_that_is_not_there(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            *GATE,
            "audit",
            "token",
            "create",
            "--db",
            f"postgresql://x@127.0.0.1:{free_port()}/none",
            "--scope",
            "read",
            "--name",
            "a",
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert len(proc.stderr.strip().splitlines()) <= 2 and "unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr
