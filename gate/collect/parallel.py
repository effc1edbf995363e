"""Collecting files in forked processes: workers parse and normalise, the parent assembles.

A monorepo check reads a thousand catalog files and a hundred SBOMs; parsing and normalising
them is pure Python, one core's work. Where the platform forks (Linux), `collect_files` deals the
files out by size and kind to one process per core, for PARALLEL_MIN files or more. Workers
hand back, per file, the items collected or the error met, in an in-memory file; the parent goes
through them in the walk's order, so the sections, and the first error reported, are the ones a
sequential walk gives. Only callers without threads of their own use it (`gate check`): forking
a threaded server is not safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.collect.base import CollectError

PARALLEL_MIN = 64
_PER_FILE = 2048  # a file's fixed cost (open, parse set-up, schema look-up), in JSON bytes' worth
_YAML_BYTE = 30  # a byte of YAML takes as long to collect as about 30 bytes of JSON
# One file's outcome: ("ok", items by section, or why a walk skipped the file) or ("error",
# message, remediation, shown path).
Outcome = tuple[Any, ...]
# What collecting one file gives: its items by section, or (a string) why a walk skipped it.
Collected = dict[str, list[Any]] | str
Work = Callable[[Path, bool, str], Collected]

_WORK: Work | None = None


def workers_for(count: int) -> int:
    """How many processes (this one included) collect `count` files: one per core (at most 8) for
    PARALLEL_MIN files or more; else 1, and always 1 on one core or where processes cannot be
    forked."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # Linux only: elsewhere fork is missing or not safe (macOS), and spawning re-imports everything.
    if cores < 2 or not sys.platform.startswith("linux"):
        return 1
    return min(cores, 8) if count >= PARALLEL_MIN else 1


def job_costs(jobs: list[tuple[Path, bool, str]]) -> list[int]:
    """What collecting each job's file takes, roughly, in bytes of JSON (see `deal`)."""
    return [_cost(path) for path, _, _ in jobs]


def _run(jobs: list[tuple[Path, bool, str]]) -> list[Outcome]:
    assert _WORK is not None
    outcomes: list[Outcome] = []
    for path, explicit, shown in jobs:
        try:
            outcomes.append(("ok", _WORK(path, explicit, shown)))
        except CollectError as exc:
            outcomes.append(("error", exc.message, exc.remediation, exc.path))
            break  # a walk stops at its first error: later files do not matter
    return outcomes


def _run_packed(jobs: list[tuple[Path, bool, str]]) -> bytes:
    """`_run` in a worker, its outcomes as JSON (~5x cheaper to hand back than a pickle)."""
    import orjson

    outcomes = _run(jobs)
    try:
        return b"j" + orjson.dumps(outcomes)
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits: pickle them
        import pickle

        return b"p" + pickle.dumps(outcomes)


def _unpacked(data: bytes) -> list[Outcome]:
    import orjson

    if data[:1] == b"j":
        return [tuple(item) for item in orjson.loads(data[1:])]
    import pickle

    outcomes: list[Outcome] = pickle.loads(data[1:])
    return outcomes


def deal(sizes: list[int], workers: int) -> list[list[int]]:
    """Job indexes per process, in walk order within each: each job goes to the process with the
    least work so far (`sizes`: each job's work, to which a fixed cost per file is added)."""
    groups: list[list[int]] = [[] for _ in range(workers)]
    load = [0] * workers
    for i, size in enumerate(sizes):
        k = min(range(workers), key=load.__getitem__)
        groups[k].append(i)
        load[k] += size + _PER_FILE
    return groups


def _cost(path: Path) -> int:
    """What collecting the file takes, roughly, in bytes of JSON."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0  # reported by the collector that reads it
    return size * _YAML_BYTE if path.suffix.lower() in (".yaml", ".yml") else size


def _fork_worker(jobs: list[tuple[Path, bool, str]]) -> tuple[int, int]:
    """Fork a process that collects `jobs` and writes its packed outcomes to an in-memory file;
    returns its pid and the file (read once the process has exited: no pipe to wait on)."""
    fd = os.memfd_create("gate-collect", os.MFD_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            data = memoryview(_run_packed(jobs))
            while data:
                data = data[os.write(fd, data) :]
            code = 0
        except BaseException:  # the parent collects these jobs itself
            pass
        finally:
            os._exit(code)
    return pid, fd


def _gather(pid: int, fd: int) -> bytes | None:
    """All a worker wrote, once it exited; None when it failed."""
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


def collect_files(
    jobs: list[tuple[Path, bool, str]],
    work: Work,
    workers: int,
    costs: list[int],
) -> list[Collected]:
    """`work(path, explicit, shown)` for every job, in order, in this process and `workers - 1`
    forked ones, the jobs dealt out by cost (`deal`, `costs` from job_costs). A worker that
    fails (killed, out of memory) has its jobs collected here instead.

    Raises the CollectError of the first job (in order) that failed.
    """
    global _WORK  # the workers inherit it, and what it holds (the settings), through the fork
    _WORK = work
    groups = deal(costs, workers)
    per_group: list[list[Outcome]] = []
    children: list[tuple[int, int]] = []
    try:
        children = [_fork_worker([jobs[i] for i in group]) for group in groups[1:]]
        per_group.append(_run([jobs[i] for i in groups[0]]))
        while children:
            data = _gather(*children.pop(0))
            group = [jobs[i] for i in groups[len(per_group)]]
            per_group.append(_unpacked(data) if data is not None else _run(group))
    finally:
        _WORK = None
        for pid, fd in children:  # left by an exception here: do not leave them behind
            os.waitpid(pid, 0)
            os.close(fd)
    place: dict[int, tuple[int, int]] = {
        i: (g, at) for g, group in enumerate(groups) for at, i in enumerate(group)
    }
    results: list[Collected] = []
    for i in range(len(jobs)):
        g, at = place[i]
        if at >= len(per_group[g]):
            break  # that process stopped at an error of an earlier job: raised below
        outcome = per_group[g][at]
        if outcome[0] == "error":
            _, message, remediation, path = outcome
            raise CollectError(message, remediation, path=path)
        results.append(outcome[1])
    if len(results) != len(jobs):  # pragma: no cover - an error always comes first
        raise RuntimeError("parallel collection lost a file")
    return results
