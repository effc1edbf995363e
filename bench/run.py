"""The benchmark harness: wall time and peak memory of real `gate` processes.

python bench/run.py                 # full run, writes bench/results/latest.json and prints tables
python bench/run.py --quick         # one repetition on small inputs (CI)

Besides the scenarios here, bench/engines.py times each engine (embedded, opa, opa-server) and
the decisions per second of one OPA server under concurrent `gate check` processes. Without
`opa` those that need it are skipped (and the run fails when CI is set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audit_log import audit_table, run_audit  # noqa: E402
from bench.engines import (  # noqa: E402
    concurrency_table,
    engine_table,
    locate_opa,
    run_engines,
    workloads,
)
from bench.gen import write_bom  # noqa: E402
from bench.timing import fresh_dir, gate_cmd, scenario  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
LARGEST_CORPUS_BOM = CORPUS / "cyclonedx/CycloneDX__bom-examples/SBOM/keycloak-10.0.2/bom.json"


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
    ap.add_argument("--workers", type=int, default=8, help="concurrent gate processes against one OPA server")
    ap.add_argument("--per-worker", type=int, help="decisions each worker runs in sequence [25; quick: 2]")
    args = ap.parse_args()
    if args.reps < 1 or args.workers < 1 or (args.per_worker is not None and args.per_worker < 1):
        ap.error("--reps, --workers and --per-worker must be at least 1")
    reps = 1 if args.quick else args.reps
    n_big = 1_000 if args.quick else 10_000
    per_worker = args.per_worker or (2 if args.quick else 25)
    opa = locate_opa()  # before any timing: in CI a missing opa fails the run at once
    load_start = os.getloadavg()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "GATE_"))}
    env["NO_COLOR"] = "1"
    gate = gate_cmd()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        big = write_bom(Path(tmp) / f"bom-{n_big}.cdx.json", n_big)
        runs = Path(tmp) / "runs"  # gate writes its audit log into its working directory
        results.append(scenario("gate --help", [*gate, "--help"], reps, 0.15, env, {0}, fresh_dir(runs)))
        if LARGEST_CORPUS_BOM.exists():
            results.append(
                scenario(
                    "check: largest corpus BOM (keycloak, 2.2 MB, 903 components)",
                    [*gate, "check", str(LARGEST_CORPUS_BOM), "--env", "prod", "--format", "json"],
                    reps,
                    0.5,
                    env,
                    {0, 1},
                    fresh_dir(runs),
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
                fresh_dir(runs),
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
                fresh_dir(runs),
            )
        )
        engines = run_engines(
            gate, env, reps, workloads(ROOT, big, n_big), opa, Path(tmp), args.workers, per_worker
        )
    results += engines["results"]
    audit = run_audit(args.quick, reps)
    report = {
        "machine": machine(),
        # 1/5/15-minute load averages: other work on the machine shows here, and in the spread
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
        "results": results,
        "concurrency": engines["concurrency"],
        "skipped": engines["skipped"],
        "audit": audit,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print("\nPer engine (one `gate check` process per decision):\n")
    print(engine_table(results))
    if engines["concurrency"]:
        print("\nOne OPA server, concurrent `gate check --engine opa-server` processes:\n")
        print(concurrency_table(engines["concurrency"]))
    print("\nThe audit log (one writer; `gate audit verify`):\n")
    print(audit_table(audit))
    for reason in engines["skipped"]:
        print(f"\nskipped: {reason}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
