"""The worker processes of `gate serve`: each decides one request at a time on its own engine.

A native crash in an engine (the Wasm host, regopy, a YAML parser) kills only the worker it happens
in, so it can never take the server down for everyone: the request it was deciding gets an error
decision, and a new worker takes the dead one's place. A request that runs past its time limit has
its worker killed (with the worker's own children, such as `opa eval`) and replaced the same way.
N workers decide N requests at once, so one slow request holds up only itself.

Workers start from a fork server (a clean process that imported the gate once), never by forking
the server itself, whose threads may hold locks; each runs in its own session and process group.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

from gate.errors import ConfigError, EngineError, GateError, InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gate.decision import Decision
    from gate.pipeline import Prepared
    from gate.serve.service import Job, Limits

log = logging.getLogger("gate.serve")

START_TIMEOUT_S = 120.0  # a worker loads the policies and evaluates an empty input in this time
STOP_TIMEOUT_S = 10.0
EXIT_WAIT_S = 2.0
RETRY_MAX_S = 30.0
# Test-only: with this variable set to 1 in the server's environment, a request whose `service`
# is one of TEST_HOOKS makes its worker crash or hang. Never set it outside the test suite.
TEST_HOOKS_ENV = "GATE_SERVE_TEST_HOOKS"
TEST_HOOKS = ("gate-test:abort", "gate-test:segv", "gate-test:hang")


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs besides the prepared policies."""

    tmp: str
    max_findings: int
    warm: bool
    test_hooks: bool


@dataclass(frozen=True)
class Ready:
    """A worker is ready: its engine loaded (when local), with this version."""

    version: str


@dataclass(frozen=True)
class StartFailed:
    """A worker could not ready its engine: the one-line error and the exit code it maps to."""

    error: str
    exit_code: int


@dataclass(frozen=True)
class Decided:
    """The worker decided: the decision, with its input document, not yet recorded."""

    decision: Decision


@dataclass(frozen=True)
class Refused:
    """The request cannot be checked (HTTP 400): a GateError's parts, which pickle apart."""

    config: bool
    message: str
    remediation: str
    path: str | None

    @classmethod
    def of(cls, exc: InputError | ConfigError) -> Refused:
        """The parts of `exc`."""
        return cls(isinstance(exc, ConfigError), exc.message, exc.remediation, exc.path)

    def error(self) -> GateError:
        """The InputError or ConfigError again."""
        kind = ConfigError if self.config else InputError
        return kind(self.message, self.remediation, path=self.path)


@dataclass(frozen=True)
class Lost:
    """No decision came back: one line for the error decision, and a traceback for the log."""

    error: str
    trace: str = ""


Result = Decided | Refused | Lost


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    tmp: Path


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["gate.serve.worker"])
    return ctx


def _status(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class WorkerPool:
    """`limits.workers` worker processes; `run` hands a job to an idle one and waits for its result."""

    def __init__(self, prepared: Prepared, limits: Limits, *, warm: bool, env: Mapping[str, str]) -> None:
        self._prepared = prepared
        self._limits = limits
        self._warm = warm
        self._test_hooks = env.get(TEST_HOOKS_ENV) == "1"
        self._ctx = _context()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._live: dict[int, _Worker] = {}  # by pid: every started worker not yet retired
        self._lock = threading.Lock()
        self._closed = False
        self.engine_version = "unknown"

    def start(self) -> None:
        """Start every worker and wait until each is ready; raise the first one's error if not."""
        started = [self._spawn() for _ in range(self._limits.workers)]
        failure: GateError | None = None
        for worker in started:
            ready = self._await_ready(worker)
            if isinstance(ready, Ready):
                self.engine_version = ready.version
                self._idle.put(worker)
                continue
            self._retire(worker)
            if failure is None:
                kind = EngineError if ready.exit_code == int(EngineError.exit_code) else ConfigError
                failure = kind(ready.error)
        if failure is not None:
            self.close()
            raise failure

    def run(self, job: Job, timeout: float, started: float | None = None) -> Result:
        """Decide `job` in a worker within `timeout` seconds of `started` (time.monotonic(); None:
        now), waiting for a free worker included.

        A worker that dies, or is still at it when the time is up (it is killed), gives Lost and is
        replaced; the other workers go on.
        """
        deadline = (time.monotonic() if started is None else started) + timeout
        busy = Lost(
            f"no worker was free within the server's {timeout:g}-second limit (--request-timeout); "
            f"all {self._limits.workers} are busy. Retry later, or start the server with more --workers"
        )
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return busy
            if time.monotonic() >= deadline:  # the time went by before a worker was free
                self._idle.put(worker)
                return busy
            if worker.process.is_alive():
                break
            # Died while idle (say, the kernel's OOM killer): not this request's doing.
            log.error(
                "a worker %s while idle; starting a new one", self._retire(worker, replace=True, ending=True)
            )
        try:
            worker.conn.send(job)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._retire(worker, replace=True)
                return Lost(
                    f"the check took longer than the server's {timeout:g}-second limit (--request-timeout) "
                    "and was stopped. Split the change into smaller ones, or start the server with a "
                    "larger --request-timeout"
                )
            result: Result = worker.conn.recv()
        except (EOFError, OSError):
            status = self._retire(worker, replace=True, ending=True)
            return Lost(
                f"the worker process checking this request {status}; the request was not decided. "
                "Report the input that caused it; the server goes on"
            )
        except BaseException:
            self._retire(worker, replace=True)
            raise
        self._idle.put(worker)
        return result

    def close(self) -> None:
        """Stop every worker (idle or busy) and remove their temporary folders."""
        with self._lock:
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            self._retire(worker)
        with self._lock:
            busy = list(self._live.items())
        for pid, worker in busy:  # their requests come back Lost
            self._kill(pid)
            shutil.rmtree(worker.tmp, ignore_errors=True)

    def _spawn(self) -> _Worker:
        from gate.serve.worker import main

        tmp = Path(tempfile.mkdtemp(prefix="gate-serve-worker-"))
        settings = WorkerSettings(str(tmp), self._limits.max_findings, self._warm, self._test_hooks)
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=main, args=(child, self._prepared, settings), name="gate-serve-worker", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent, tmp)
        with self._lock:
            if process.pid is not None:
                self._live[process.pid] = worker
        return worker

    def _await_ready(self, worker: _Worker) -> Ready | StartFailed:
        try:
            if worker.conn.poll(START_TIMEOUT_S):
                message = worker.conn.recv()
                if isinstance(message, Ready | StartFailed):
                    return message
                return StartFailed(f"a worker sent {type(message).__name__} at start", 3)
        except (EOFError, OSError):
            worker.process.join(STOP_TIMEOUT_S)
            return StartFailed(f"a worker process {_status(worker.process)} while loading the policies", 3)
        return StartFailed(f"a worker did not load the policies within {START_TIMEOUT_S:g} s", 3)

    def _kill(self, pid: int) -> None:
        # The worker leads its own process group: this also ends what it started (`opa eval`).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _retire(self, worker: _Worker, *, replace: bool = False, ending: bool = False) -> str:
        """Kill the worker and remove its folder (a new one takes its place if `replace`); returns
        how it ended by itself, when `ending` says it closed its end of the pipe."""
        pid = worker.process.pid
        # A dying process closes its files a moment before its exit status can be read.
        worker.process.join(EXIT_WAIT_S if ending else 0)
        status = _status(worker.process)
        if pid is not None:
            self._kill(pid)
        worker.process.join(STOP_TIMEOUT_S)
        worker.conn.close()
        shutil.rmtree(worker.tmp, ignore_errors=True)
        with self._lock:
            self._live.pop(pid or -1, None)
            closed = self._closed
        if worker.process.exitcode is not None:
            worker.process.close()
        if replace and not closed:
            threading.Thread(target=self._replace, name="gate-serve-replace", daemon=True).start()
        return status

    def _is_closed(self) -> bool:
        with self._lock:
            return self._closed

    def _replace(self) -> None:
        """Start a worker in the place of one that was retired; retry (backing off) until one starts."""
        delay = 1.0
        while True:
            if self._is_closed():
                return
            worker = self._spawn()
            ready = self._await_ready(worker)
            if isinstance(ready, Ready):
                if self._is_closed():
                    self._retire(worker)
                else:
                    self._idle.put(worker)
                return
            log.error("a new worker did not start: %s", ready.error)
            self._retire(worker)
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
