"""Collecting many files on every core: forked workers parse and normalise, the parent assembles.

A monorepo check reads a thousand catalog files and a hundred SBOMs; parsing and normalising
them is pure Python, one core's work. With more than PARALLEL_MIN files, where the platform forks
(Linux), `collect_files` deals the files out to one process per core: the parent collects its
share while forked workers collect theirs. Each returns, per file, the items it collected or the
error it met, and the parent goes through them in the walk's order, so the sections, and the first
error reported, are the ones a sequential walk gives. Only callers
without threads of their own use it (`gate check`): forking a threaded server is not safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.collect.base import CollectError

PARALLEL_MIN = 64
# One file's outcome: ("ok", items by section) or ("error", message, remediation, shown path).
Outcome = tuple[Any, ...]
Work = Callable[[Path, bool, str], dict[str, list[Any]]]

_WORK: Work | None = None


def workers_for(count: int) -> int:
    """How many worker processes `count` files get: 1 (no workers) below PARALLEL_MIN, on one
    core, or where processes cannot be forked."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # Linux only: elsewhere fork is missing or not safe (macOS), and spawning re-imports everything.
    if count < PARALLEL_MIN or cores < 2 or not sys.platform.startswith("linux"):
        return 1
    return min(cores, 8)


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


def collect_files(jobs: list[tuple[Path, bool, str]], work: Work, workers: int) -> list[dict[str, list[Any]]]:
    """`work(path, explicit, shown)` for every job, in order, in this process and `workers - 1`
    forked ones; job i goes to process i mod `workers` (so catalog files and SBOMs spread evenly).

    Raises the CollectError of the first job (in order) that failed.
    """
    import multiprocessing

    global _WORK  # the workers inherit it, and what it holds (the settings), through the fork
    _WORK = work
    groups = [jobs[k::workers] for k in range(workers)]
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers - 1) as pool:
            pending = [pool.apply_async(_run_packed, (group,)) for group in groups[1:]]
            per_group = [_run(groups[0])]
            per_group += [_unpacked(result.get()) for result in pending]
    finally:
        _WORK = None
    results: list[dict[str, list[Any]]] = []
    for i in range(len(jobs)):
        group, at = per_group[i % workers], i // workers
        if at >= len(group):
            break  # that process stopped at an error of an earlier job: raised below
        outcome = group[at]
        if outcome[0] == "error":
            _, message, remediation, path = outcome
            raise CollectError(message, remediation, path=path)
        results.append(outcome[1])
    if len(results) != len(jobs):  # pragma: no cover - an error always comes first
        raise RuntimeError("parallel collection lost a file")
    return results
