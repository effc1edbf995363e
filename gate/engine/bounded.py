"""Run a piece of native evaluation in a forked child process, bounded in time and memory.

regopy (rego-cpp) evaluates in C++ in this process and has no way to be interrupted: a looping
policy would hold the gate, and one that allocates without end would take the machine. The child
inherits the loaded interpreter (fork), runs the evaluation under an RLIMIT_DATA of its current
size plus the bound, and writes the result back through a pipe; the parent waits at most the time
bound and kills it past that. A child that dies (out of memory: the allocator fails, rego-cpp
aborts) takes only itself down.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any

from gate.engine.limits import EvalLimits
from gate.errors import EngineError

_CHILD_FAILED = 70  # the child's exit status when it could not even report
MAX_RESULT_BYTES = 1024 * 1024 * 1024


def can_fork() -> bool:
    """Whether evaluations can run in a child process here (POSIX)."""
    return hasattr(os, "fork")


def _data_size() -> int:
    """This process's data size (VmData) in bytes, or 0 when /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def data_limit(limit_bytes: int, *, relative: bool = True) -> Callable[[], None]:
    """A function that caps the calling process's RLIMIT_DATA at limit_bytes more than its
    current size (`relative`), or at limit_bytes (for a process about to exec another program)."""

    def apply() -> None:
        import resource

        cap = (_data_size() if relative else 0) + limit_bytes
        # A hard limit below ours already bounds the process.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    return apply


def run_bounded(fn: Callable[[], Any], limits: EvalLimits, what: str) -> Any:
    """`fn()` (returning a JSON value, or raising EngineError) in a forked child under `limits`.

    Past the time bound the child is killed; a child that dies or runs out of memory is an
    EngineError, as is what fn raised.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once, running no cleanup of the parent's
        status = _CHILD_FAILED
        try:
            os.close(read_end)
            # What the native code prints as it dies (std::bad_alloc) stays out of the one line.
            # What it prints on stdout (rego-cpp's diagnostics) stays out of the report.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.dup2(devnull, 1)
            data_limit(limits.memory_bytes)()
            try:
                payload: dict[str, Any] = {"value": fn()}
            except EngineError as exc:
                payload = {"error": [exc.message, exc.remediation]}
            except MemoryError:
                payload = {"memory": True}
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        data = _read_until(read_end, pid, limits, what)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0 or not data:
        how = (
            f"signal {signal.Signals(os.WTERMSIG(status)).name}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.WEXITSTATUS(status)}"
        )
        raise limits.memory_exceeded(f"{what} died ({how}): it ran out of memory or crashed")
    payload = json.loads(data)
    if payload.get("memory"):
        raise limits.memory_exceeded(f"{what} ran out of memory")
    if "error" in payload:
        message, remediation = payload["error"]
        raise EngineError(str(message), str(remediation))
    return payload["value"]


def _read_until(fd: int, pid: int, limits: EvalLimits, what: str) -> bytes:
    """Everything the child writes, read until it closes the pipe; killed past the time bound."""
    deadline = time.monotonic() + limits.timeout_seconds
    parts: list[bytes] = []
    total = 0
    while True:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            _kill(pid)
            raise limits.time_exceeded(f"{what} was stopped")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > MAX_RESULT_BYTES:
            _kill(pid)
            raise EngineError(
                f"evaluation failed: the decision is larger than {MAX_RESULT_BYTES // (1024 * 1024)} MB",
                "check the policies and input for runaway findings",
            )
        parts.append(chunk)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
