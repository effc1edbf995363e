"""The benchmark harness: wall time and peak memory of real `gate` processes.

python bench/run.py                 # full run, writes bench/results/latest.json and prints a table
python bench/run.py --quick         # one repetition on small inputs (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gen import write_bom  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
LARGEST_CORPUS_BOM = CORPUS / "cyclonedx/CycloneDX__bom-examples/SBOM/keycloak-10.0.2/bom.json"


def gate_cmd() -> list[str]:
    """The installed `gate` console script beside this interpreter, else `python -m gate`."""
    script = Path(sys.executable).parent / "gate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gate"]


def measure(cmd: list[str], env: dict[str, str], expect: set[int]) -> tuple[float, int]:
    """Run once: (wall seconds, peak RSS in bytes) of the child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{err}")
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_maxrss * 1024


def scenario(
    name: str, cmd: list[str], reps: int, goal_s: float | None, env: dict[str, str], expect: set[int]
) -> dict[str, Any]:
    """Warm up once, then run `reps` times; report median, spread and peak memory."""
    measure(cmd, env, expect)
    walls: list[float] = []
    peaks: list[int] = []
    for _ in range(reps):
        w, m = measure(cmd, env, expect)
        walls.append(w)
        peaks.append(m)
    med = statistics.median(walls)
    return {
        "name": name,
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        "runs": reps,
        "median_s": round(med, 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "peak_rss_mb": round(max(peaks) / 1e6, 1),
        "goal_s": goal_s,
        "meets_goal": None if goal_s is None else med <= goal_s,
    }


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the results."""
    rows = ["| scenario | median s | min-max s | peak MB | goal s | met |", "|---|---|---|---|---|---|"]
    for r in results:
        met = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "**no**")
        goal = "" if r["goal_s"] is None else f"{r['goal_s']}"
        rows.append(
            f"| {r['name']} | {r['median_s']:.3f} | {r['min_s']:.3f}-{r['max_s']:.3f} | {r['peak_rss_mb']} | {goal} | {met} |"
        )
    return "\n".join(rows)


def main() -> None:
    """Run the scenarios and write the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repetition, small generated inputs")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/latest.json")
    args = ap.parse_args()
    reps = 1 if args.quick else args.reps
    n_big = 1_000 if args.quick else 10_000
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "GATE_"))}
    env["NO_COLOR"] = "1"
    gate = gate_cmd()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        big = write_bom(Path(tmp) / f"bom-{n_big}.cdx.json", n_big)
        results.append(scenario("gate --help", [*gate, "--help"], reps, 0.15, env, {0}))
        if LARGEST_CORPUS_BOM.exists():
            results.append(
                scenario(
                    "check: largest corpus BOM (keycloak, 2.2 MB, 903 components)",
                    [*gate, "check", str(LARGEST_CORPUS_BOM), "--env", "prod", "--format", "json"],
                    reps,
                    0.5,
                    env,
                    {0, 1},
                )
            )
        results.append(
            scenario(
                f"check: generated {n_big:,}-component BOM",
                [*gate, "check", str(big), "--env", "prod", "--format", "json"],
                reps,
                2.0 if n_big == 10_000 else None,
                env,
                {0, 1},
            )
        )
        results.append(
            scenario(
                "check: examples/payments-api (dev)",
                [
                    *gate,
                    "check",
                    str(ROOT / "examples/payments-api"),
                    "--config",
                    str(ROOT / "examples/gate.yaml"),
                    "--env",
                    "dev",
                ],
                reps,
                None,
                env,
                {0},
            )
        )
    report = {"machine": machine(), "quick": args.quick, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
