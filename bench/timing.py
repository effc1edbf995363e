"""Timing primitives shared by the benchmark scenarios: run a real `gate` process, measure it.

`gate check` appends a signed record to the audit log of its working directory (`.gate/audit`,
keys created on first use), so every scenario runs in a fresh directory of its own: nothing is
written into the repository, and no scenario inherits another's log.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def gate_cmd() -> list[str]:
    """The installed `gate` console script beside this interpreter, else `python -m gate`."""
    script = Path(sys.executable).parent / "gate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gate"]


def fresh_dir(parent: Path, prefix: str = "cwd-") -> Path:
    """A new empty directory under `parent`, to run gate processes in."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def measure(
    cmd: list[str], env: dict[str, str], expect: set[int], cwd: Path | None = None
) -> tuple[float, int]:
    """Run once in `cwd`: (wall seconds, peak RSS in bytes) of the child process.

    The peak is the kernel's figure for the child: its own, or that of its largest waited-for
    child process if that was larger (the two are not added up).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    # Reaped here, so Popen must not poll the pid again (it may belong to another process by then).
    proc.returncode = code
    if code not in expect:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{err}")
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_maxrss * 1024


def shown_command(cmd: list[str]) -> str:
    """The command as recorded in the results: the program by its name, the arguments as given."""
    return " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))


def scenario(
    name: str,
    cmd: list[str],
    reps: int,
    goal_s: float | None,
    env: dict[str, str],
    expect: set[int],
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Warm up once, then run `reps` times in `cwd`; report median, spread and peak memory."""
    measure(cmd, env, expect, cwd)
    walls: list[float] = []
    peaks: list[int] = []
    for _ in range(reps):
        w, m = measure(cmd, env, expect, cwd)
        walls.append(w)
        peaks.append(m)
    med = statistics.median(walls)
    return {
        "name": name,
        "command": shown_command(cmd),
        "runs": reps,
        "median_s": round(med, 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "peak_rss_mb": round(max(peaks) / 1e6, 1),
        "goal_s": goal_s,
        "meets_goal": None if goal_s is None else med <= goal_s,
    }


def replace_section(path: Path, begin: str, end: str, section: str) -> None:
    """Write `section` (which starts with `begin` and ends with `end`) into the Markdown file at
    `path` in place of the one between those markers, or at its end when it has none."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
