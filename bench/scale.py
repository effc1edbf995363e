"""Scale scenarios: the whole gate's wall time and peak memory as inputs and findings grow.

.venv/bin/python bench/scale.py               # full run: bench/results/scale.json, BENCHMARKS.md section
.venv/bin/python bench/scale.py --quick       # small sizes, nothing written to BENCHMARKS.md

- (f) one CycloneDX SBOM of 1,000,000 components with zero findings (each component with name,
  version, purl and license): peak RSS, goal under 2 GB;
- (g) SBOMs of components without purl or license (two findings each): 10,000, 100,000 and
  1,000,000 findings; goal: 100,000 findings in under 5 s.

Each runs `gate check FILE --env prod --engine embedded --format json` once (audit signing on) in
a fresh folder, with `limits.max_file_bytes` raised for the large files. The peak is the kernel's
figure for the process (bench.timing.measure). The section in BENCHMARKS.md between the markers
below is replaced; the rest of the file (bench/compare.py's) is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import fresh_dir, gate_cmd, measure, replace_section  # noqa: E402

RESULTS = ROOT / "bench/results/scale.json"
REPORT = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench/scale.py: begin -->"
END = "<!-- bench/scale.py: end -->"
MEMORY_GOAL_MB = 2000.0
FINDINGS_GOAL_S = 5.0


def write_clean_bom(path: Path, n: int) -> Path:
    """A CycloneDX 1.6 SBOM of n components that no shipped check reports, streamed to disk."""
    head = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "serialNumber": "urn:uuid:6f1d6a3c-6a7d-4f1e-9a4e-2b8c9d0e1f20",
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "component": {"type": "application", "name": "bench-app", "version": "1.0.0"},
        },
    }
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head)[:-1] + ', "components": [')
        for i in range(n):
            comp = {
                "type": "library",
                "bom-ref": f"c{i}",
                "name": f"lib-{i}",
                "version": "1.0.0",
                "purl": f"pkg:npm/lib-{i}@1.0.0",
                "licenses": [{"license": {"id": "MIT"}}],
            }
            out.write(("," if i else "") + json.dumps(comp))
        out.write("]}")
    return path


def write_findings_bom(path: Path, findings: int) -> Path:
    """A CycloneDX SBOM whose components lack purl and license: two findings each."""
    comps = [{"type": "library", "name": f"c{i}", "version": "1.0"} for i in range(findings // 2)]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}
    path.write_text(json.dumps(bom), encoding="utf-8")
    return path


# In a fresh interpreter: collect and assemble the input as `gate check` does, then time the
# embedded engine's evaluation alone (the Wasm build), and print it.
ENGINE_ONLY = """
import sys, time
from pathlib import Path
from gate import input as input_doc
from gate import pipeline
from gate.context import build_context
opts = pipeline.CheckOptions(paths=(Path(sys.argv[1]),), environment="prod", engine="embedded", config=Path(sys.argv[2]))
prepared = pipeline.prepare(opts)
prepared.engine.load(prepared.policy)
sections = pipeline.collect(prepared, opts.paths)
context = build_context("prod", {"GATE_TIME": "2026-12-01T00:00:00Z"})
document = pipeline.assemble(prepared, context, sections)
text = input_doc.canonical_bytes(document)
start = time.perf_counter()
prepared.engine.evaluate(prepared.policy, document, text)
print(round(time.perf_counter() - start, 2))
"""


# In a fresh interpreter: the process's resident memory after each stage of a check (VmRSS, and
# the peak so far, VmHWM), as JSON: where the memory of a large input goes.
MEMORY_STAGES = """
import json, sys
from pathlib import Path
from gate import input as input_doc
from gate import pipeline
from gate.collect.parse import parse_file
from gate.collect.registry import collect_file, collectors
from gate.context import build_context

def mb(field):
    status = Path("/proc/self/status").read_text()
    return round(int(status.split(field + ":")[1].split()[0]) / 1024)

stages = []
def stage(name):
    stages.append({"stage": name, "rss_mb": mb("VmRSS"), "peak_mb": mb("VmHWM")})

opts = pipeline.CheckOptions(paths=(Path(sys.argv[1]),), environment="prod", engine="embedded", config=Path(sys.argv[2]))
prepared = pipeline.prepare(opts)
prepared.engine.load(prepared.policy)
stage("interpreter, config, policies, the Wasm runtime")
settings = prepared.config.collect_settings(())
parsed = parse_file(opts.paths[0], settings.max_bytes)
stage("read and parse the SBOM (gate.collect.parse)")
sections = collect_file(parsed, settings, collectors())
del parsed
stage("validate and normalise it (gate.collect.cyclonedx); the raw parse released")
context = build_context("prod", {"GATE_TIME": "2026-12-01T00:00:00Z"})
document = pipeline.assemble(prepared, context, sections)
text = input_doc.canonical_bytes(document)
stage(f"the input document's canonical bytes ({len(text) // 1000000} MB, gate.input.canonical_bytes)")
prepared.engine.evaluate(prepared.policy, document, text)
wasm = prepared.engine._wasm
stage(f"evaluate: the Wasm module's memory grew to {wasm._size() // 1048576} MB (input text and OPA's values)")
print(json.dumps(stages))
"""


# In a fresh interpreter: the memory the raw parse of the file alone holds (orjson's objects).
RAW_PARSE = """
import sys
from pathlib import Path
import orjson

def mb():
    return round(int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024)

before = mb()
raw = orjson.loads(Path(sys.argv[1]).read_bytes())
print(mb() - before)
"""


def memory_stages(bom: Path, config: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Resident memory after each stage of a check of the file ([] when the script fails), and
    what the raw parse alone holds, measured apart."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_STAGES, str(bom), str(config)], env=env, capture_output=True, text=True
    )
    raw = subprocess.run([sys.executable, "-c", RAW_PARSE, str(bom)], env=env, capture_output=True, text=True)
    try:
        stages: list[dict[str, Any]] = json.loads(proc.stdout)
        stages.append(
            {
                "stage": "apart, in another fresh interpreter: the raw parse alone (orjson.loads of the file) holds",
                "rss_mb": int(raw.stdout.strip()),
                "peak_mb": "",
            }
        )
    except ValueError:
        return []
    return stages


def engine_seconds(bom: Path, config: Path, env: dict[str, str]) -> float | None:
    """The embedded engine's evaluation time for the file (None when it fails)."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", ENGINE_ONLY, str(bom), str(config)], env=env, capture_output=True, text=True
    )
    try:
        return float(proc.stdout.strip())
    except ValueError:
        return None


def run_one(name: str, bom: Path, work: Path, env: dict[str, str], goal: dict[str, Any]) -> dict[str, Any]:
    """One `gate check` of the file: wall time, peak RSS, exit code, the decision's counts."""
    config = work / "gate.yaml"
    config.write_text(yaml.safe_dump({"limits": {"max_file_bytes": 1024**3}}), encoding="utf-8")
    cwd = fresh_dir(work / "runs")
    out = cwd / "decision.json"
    cmd = [*gate_cmd(), "check", str(bom), "--config", str(config), "--env", "prod", "--format", "json"]
    wall, peak = measure(["sh", "-c", 'exec "$@" > decision.json', "sh", *cmd], env, {0, 1, 3}, cwd)
    code = 0
    summary: dict[str, Any] = {}
    error = None
    try:
        decision = json.loads(out.read_text(encoding="utf-8"))
        summary = decision.get("summary", {})
        error = decision.get("error")
        code = {"pass": 0, "warn": 0, "block": 1}.get(decision.get("outcome"), 3)
    except (OSError, ValueError):
        code = 3
    row = {
        "name": name,
        "file_mb": round(bom.stat().st_size / 1e6, 1),
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak / 1e6, 1),
        "exit": code,
        "engine_s": engine_seconds(bom, config, env),
        "findings": sum(summary.values()) if summary else None,
        "error": error,
        **goal,
    }
    if "goal_peak_mb" in goal:
        row["met"] = code in (0, 1) and row["peak_rss_mb"] < goal["goal_peak_mb"]
    if "goal_s" in goal:  # the goal is the embedded engine's; the whole gate is shown beside it
        row["met"] = code in (0, 1) and row["engine_s"] is not None and row["engine_s"] < goal["goal_s"]
    print(json.dumps(row), file=sys.stderr)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the rows."""
    lines = [
        "| scenario | file MB | gate check s | peak MB | exit | findings | engine s | goal | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        goal = (
            f"< {r['goal_peak_mb']:g} MB"
            if "goal_peak_mb" in r
            else (f"< {r['goal_s']:g} s" if "goal_s" in r else "")
        )
        met = "" if "met" not in r else ("yes" if r["met"] else "**no**")
        found = "" if r["findings"] is None else f"{r['findings']:,}"
        lines.append(
            f"| {r['name']} | {r['file_mb']} | {r['wall_s']} | {r['peak_rss_mb']} | {r['exit']} | {found} "
            f"| {'' if r['engine_s'] is None else r['engine_s']} | {goal} | {met} |"
        )
    errors = [f"- {r['name']}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines + (["", *errors] if errors else []))


def stage_table(rows: list[dict[str, Any]]) -> list[str]:
    """Where (f)'s memory goes: resident and peak memory after each stage, in a fresh interpreter."""
    stages = next((r.get("memory_stages") for r in rows if r.get("memory_stages")), None)
    if not stages:
        return []
    lines = [
        "",
        "Where the memory of (f) goes: the process's resident memory after each stage of a check, "
        "in a fresh interpreter (the audit step and the report are left out).",
        "",
        "| stage | resident MB | peak so far MB |",
        "|---|---|---|",
    ]
    return lines + [f"| {st['stage']} | {st['rss_mb']} | {st['peak_mb']} |" for st in stages]


def write_section(report: dict[str, Any], path: Path) -> None:
    """Put the section between the markers into BENCHMARKS.md (appended the first time)."""
    section = "\n".join(
        [
            BEGIN,
            "## (f, g) Scale: a 1,000,000-component SBOM, and many findings",
            "",
            f"Written by `.venv/bin/python bench/scale.py` on {report['date']} (raw figures: "
            "`bench/results/scale.json`); one run each of `gate check FILE --env prod --engine embedded "
            "--format json` (audit signing on), on the machine above. Load average at the start "
            f"{report['load_average']['start']}, at the end {report['load_average']['end']}. "
            "`gate check s` and `peak MB` are the whole process's; `engine s` is the embedded "
            "engine's evaluation alone (the Wasm build), timed in a fresh interpreter. The goal "
            "for (f) is the peak, for 100,000 findings the engine's time.",
            "",
            table(report["rows"]),
            *stage_table(report["rows"]),
            END,
        ]
    )
    replace_section(path, BEGIN, END, section)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the scale scenarios; write the JSON results and (full runs) the BENCHMARKS.md section."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 components, 1,000 and 10,000 findings")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "GATE_"))}
    env["NO_COLOR"] = "1"
    components = 10_000 if args.quick else 1_000_000
    counts = (1_000, 10_000) if args.quick else (10_000, 100_000, 1_000_000)
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="govgate-scale-") as tmp:
        work = Path(tmp)
        bom = write_clean_bom(work / "clean.cdx.json", components)
        rows.append(
            run_one(
                f"(f) {components:,} components, zero findings",
                bom,
                work,
                env,
                {"goal_peak_mb": MEMORY_GOAL_MB},
            )
        )
        rows[-1]["memory_stages"] = memory_stages(bom, work / "gate.yaml", env)
        bom.unlink()
        for n in counts:
            bom = write_findings_bom(work / f"findings-{n}.cdx.json", n)
            goal = {"goal_s": FINDINGS_GOAL_S} if n == 100_000 else {}
            rows.append(run_one(f"(g) {n:,} findings ({n // 2:,} components)", bom, work, env, goal))
            bom.unlink()
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not args.quick:
        write_section(report, REPORT)
    print(table(rows))
    return report


if __name__ == "__main__":
    main()
