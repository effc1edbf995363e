"""What a `gate serve` worker process runs: ready the engine, then decide jobs until the pipe closes.

Imported by the fork server before any worker starts, so what a request needs is loaded once.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
import time
import traceback
from multiprocessing.connection import Connection

from gate.errors import ConfigError, ExitCode, GateError, InputError
from gate.pipeline import Prepared
from gate.serve.pool import TEST_HOOKS, Decided, Lost, Ready, Refused, Result, StartFailed, WorkerSettings
from gate.serve.service import Decider, Job

MAX_ERROR_CHARS = 300


def main(conn: Connection, prepared: Prepared, settings: WorkerSettings) -> None:
    """The worker's life: its own process group, its own temporary folder, one job at a time."""
    os.setsid()  # the server kills the group: this process and what it starts (`opa eval`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping is the server's call
    # Temporary folders go into the worker's own, which the server removes when the worker dies.
    tempfile.tempdir = settings.tmp
    decider = Decider(prepared, settings.max_findings)
    try:
        version = decider.warm_up() if settings.warm else "unknown"
    except GateError as exc:
        conn.send(StartFailed(exc.one_line(), int(exc.exit_code)))
        return
    except Exception as exc:  # the server reports it and stops
        conn.send(StartFailed(_one_line(exc), int(ExitCode.ENGINE)))
        return
    conn.send(Ready(version))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the server is gone, or stopped this worker
            shutil.rmtree(settings.tmp, ignore_errors=True)
            return
        conn.send(handle(decider, job, settings))


def handle(decider: Decider, job: Job, settings: WorkerSettings) -> Result:
    """Decide one job; an unexpected exception fails this request closed, with its traceback."""
    if settings.test_hooks and job.request.service in TEST_HOOKS:
        _test_hook(job.request.service)
    try:
        return Decided(decider.decide(job))
    except (InputError, ConfigError) as exc:
        return Refused.of(exc)
    except Exception as exc:  # a defect: this request fails closed, the log gets it
        return Lost(f"the gate failed on this request ({_one_line(exc)})", traceback.format_exc())


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _test_hook(name: str | None) -> None:
    """Test-only (GATE_SERVE_TEST_HOOKS=1): crash or hang this worker as a native failure would."""
    if name == "gate-test:abort":
        os.abort()
    if name == "gate-test:segv":  # as the Wasm host's unchecked ctypes.string_at once did
        ctypes.string_at(0)
    while name == "gate-test:hang":
        time.sleep(3600)
