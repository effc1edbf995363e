"""govgate against conftest and `opa eval`, on the same generated inputs, in one run.

.venv/bin/python bench/compare.py              # full run: bench/results/compare.json, BENCHMARKS.md
.venv/bin/python bench/compare.py --quick      # small inputs, one repetition (CI)
.venv/bin/python bench/compare.py --against ../other-checkout   # and another version, same rounds

Installs conftest and OPA at their pinned versions first (scripts/install-tools.sh, `go install`,
idempotent). Scenarios, each built by code with planted violations (bench/gen.py BOMs):

  a  one typical service: a catalog file, a scaffolder template, a 500-component SBOM
  b  one 10,000-component SBOM
  c  a monorepo in one invocation: 1,000 catalog files and 100 SBOMs of 500 components
  d  the audit log: appends by one writer, `gate audit verify` of 100,000 records (bench/audit_log.py)
  e  `gate serve` under 8 concurrent clients, each POSTing scenario a's files: requests/s, p99

Per scenario three real processes are timed (a warm-up, then the median of --reps rounds, each
running every tool once in turn, with the spread and peak RSS): `gate check --engine embedded --format json` in a fresh directory of its own
(so each run signs and appends its audit record), `conftest test --output json` with the baseline
policies of bench/conftest/policy over the raw files, and `opa eval` of the project's own policies
over govgate's input document for the scenario. Before anything is timed, each baseline's report
is compared with govgate's: conftest must give the same (check, file, subject) set for the checks
it implements, `opa eval` the same for every finding. A baseline that differs is reported as void
and no ratio is given for it. With --against, another checkout's `gate check` (its own .venv) runs
in the same rounds, so a change between two versions is measured against the same conftest runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audit_log import audit_table  # noqa: E402
from bench.engines import free_port, local_env, percentile  # noqa: E402
from bench.gen import bom  # noqa: E402
from bench.timing import fresh_dir, gate_cmd, shown_command  # noqa: E402
from gate.config import DEFAULT_DATA  # noqa: E402
from gate.tools import find_binary  # noqa: E402
from tests.helpers import stop_process  # noqa: E402

CONFTEST_POLICY = ROOT / "bench/conftest/policy"
INSTALL_SCRIPT = ROOT / "scripts/install-tools.sh"
RESULTS = ROOT / "bench/results/compare.json"
REPORT = ROOT / "BENCHMARKS.md"

# The checks the conftest baseline implements (bench/conftest/policy/baseline.rego).
COMPARED_CHECKS = frozenset(
    {
        "CATALOG-OWNER",
        "CATALOG-LIFECYCLE",
        "CATALOG-DESCRIPTION",
        "TEMPLATE-ACTIONS-ALLOWED",
        "TEMPLATE-OWNER",
        "SBOM-VULN-CRITICAL",
        "SBOM-VULN-HIGH",
        "SBOM-LICENSE-DENIED",
        "SBOM-PURL-MISSING",
    }
)
# Goals: govgate's median wall time over conftest's, measured in the same run.
GOALS = {"a": 1.5, "b": 1.0, "c": 0.5}
_MSG_RE = re.compile(r"^\[([A-Z0-9-]+)\] (\S+) ")

Violation = tuple[str, str, str]  # (check, file relative to the scenario folder, subject ref)


@dataclass(frozen=True)
class Scenario:
    """One generated input tree: the paths handed to each tool, relative to `root`."""

    key: str
    label: str
    root: Path
    paths: tuple[str, ...]


# --------------------------------------------------------------------------- inputs


def catalog_entity(name: str, flaw: str | None) -> dict[str, Any]:
    """A production Component that passes every catalog check, unless `flaw` names one to break.

    Flaws: "owner" (no spec.owner), "lifecycle" (an unknown lifecycle), "description" (none).
    """
    entity: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "description": f"The {name} service.",
            "annotations": {
                "github.com/project-slug": f"acme/{name}",
                "backstage.io/techdocs-ref": "dir:.",
                "pagerduty.com/service-id": "P" + name.upper().replace("-", ""),
            },
        },
        "spec": {
            "type": "service",
            "lifecycle": "production",
            "owner": "group:default/platform",
            "system": "shop",
        },
    }
    if flaw == "owner":
        del entity["spec"]["owner"]
    elif flaw == "lifecycle":
        entity["spec"]["lifecycle"] = "sunset"
    elif flaw == "description":
        del entity["metadata"]["description"]
    return entity


def template_doc() -> dict[str, Any]:
    """A scaffolder template with one action outside allowed_actions (acme:vault:provision)."""
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "service", "title": "Service", "description": "A service on the golden path."},
        "spec": {
            "owner": "group:default/platform",
            "type": "service",
            "parameters": [{"title": "Service", "properties": {"name": {"type": "string", "title": "Name"}}}],
            "steps": [
                {"id": "fetch", "name": "Fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
                {"id": "vault", "name": "Vault", "action": "acme:vault:provision", "input": {"path": "svc"}},
                {"id": "check", "name": "Gate", "action": "govgate:check", "input": {}},
                {"id": "publish", "name": "Publish", "action": "publish:github", "input": {"repoUrl": "x"}},
                {"id": "register", "name": "Register", "action": "catalog:register", "input": {}},
            ],
        },
    }


def planted_bom(n: int, seed: int) -> dict[str, Any]:
    """A bench/gen.py BOM of `n` components with a known set of violations.

    Four vulnerabilities (one open critical, one open high, one high closed by VEX, one open
    medium), one component in 250 under GPL-3.0-only (denied by default), one in 250 without purl.
    """
    doc = bom(n, seed)
    comps = doc["components"]
    for i in range(5, n, 250):
        comps[i]["licenses"] = [{"license": {"id": "GPL-3.0-only"}}]
    for i in range(7, n, 250):
        comps[i].pop("purl", None)
    sev = [
        ("critical", "in_triage"),
        ("high", "exploitable"),
        ("high", "not_affected"),
        ("medium", "in_triage"),
    ]
    doc["vulnerabilities"] = [
        {
            "id": f"CVE-2026-{seed % 1000:03d}{k}",
            "ratings": [{"severity": s}],
            "analysis": {"state": state},
            "affects": [{"ref": f"ref-{(k * 37) % n}"}],
        }
        for k, (s, state) in enumerate(sev)
    ]
    return doc


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")


def _write_yaml(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def build_scenarios(base: Path, quick: bool) -> list[Scenario]:
    """Write the inputs of scenarios a, b, c under `base` (smaller sizes with `quick`)."""
    n_service, n_big = (100, 1_000) if quick else (500, 10_000)
    n_catalog, n_boms, n_bom = (50, 5, 100) if quick else (1_000, 100, 500)
    flaws = ("owner", "lifecycle", "description")

    a = base / "a-service"
    _write_yaml(a / "catalog-info.yaml", catalog_entity("payments", "description"))
    _write_yaml(a / "template.yaml", template_doc())
    _write_json(a / "sbom.cdx.json", planted_bom(n_service, 1))

    b = base / "b-big-bom"
    _write_json(b / "bom.cdx.json", planted_bom(n_big, 2))

    c = base / "c-monorepo"
    for i in range(n_catalog):
        flaw = flaws[(i // 20) % 3] if i % 20 == 0 else None  # one file in 20 has a flaw
        _write_yaml(c / f"services/svc-{i:04d}/catalog-info.yaml", catalog_entity(f"svc-{i:04d}", flaw))
    for j in range(n_boms):
        _write_json(c / f"sboms/app-{j:03d}.cdx.json", planted_bom(n_bom, 100 + j))
    return [
        Scenario("a", f"one service: catalog file, template, {n_service}-component SBOM", a, (".",)),
        Scenario("b", f"one {n_big:,}-component SBOM", b, ("bom.cdx.json",)),
        Scenario(
            "c", f"monorepo: {n_catalog:,} catalog files, {n_boms} SBOMs of {n_bom} components", c, (".",)
        ),
    ]


# --------------------------------------------------------------------------- tools


def install_tools() -> dict[str, str]:
    """Install the pinned conftest and OPA (idempotent) and return their paths."""
    proc = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scripts/install-tools.sh failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    bin_dir = Path(proc.stdout.strip().splitlines()[-1])
    tools: dict[str, str] = {}
    for name in ("conftest", "opa"):
        found = bin_dir / name if (bin_dir / name).exists() else None
        path = str(found) if found else find_binary(name)
        if path is None:
            raise SystemExit(f"{name} is missing after scripts/install-tools.sh")
        tools[name] = path
    return tools


def compile_bytecode() -> None:
    """Compile govgate's modules to bytecode, as `pip install` does for an installed copy: from a
    checkout (an editable install) the first run would write it, and with PYTHONDONTWRITEBYTECODE
    every run would compile the sources again."""
    import compileall

    for package in ("gate", "audit"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"cannot compile {package}/ to bytecode")


def tool_version(binary: str, arg: str) -> str:
    """What `binary arg` says of its version, on one line ("Conftest: 0.71.1, OPA: 1.21.1")."""
    out = subprocess.run([binary, arg], capture_output=True, text=True, check=False).stdout
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    return ", ".join(lines[:2]) if lines else "unknown"


def _relative(path: str, root: Path, cwd: Path) -> str:
    """`path` (absolute, or relative to `cwd` where the tool ran) relative to the scenario's `root`."""
    p = Path(path)
    p = p if p.is_absolute() else (cwd / p)
    return os.path.relpath(p.resolve(), root.resolve())


def gate_command(s: Scenario, gate: list[str] | None = None) -> list[str]:
    """`gate check` of the scenario on the embedded engine, prod, JSON (audit signing stays on),
    by this checkout's `gate` or the one given."""
    return [
        *(gate or gate_cmd()),
        "check",
        *(str(s.root / p) for p in s.paths),
        "--env",
        "prod",
        "--engine",
        "embedded",
        "--format",
        "json",
    ]


def conftest_command(conftest: str, data_file: Path, s: Scenario) -> list[str]:
    """`conftest test` of the baseline policies over the scenario's raw files."""
    return [
        conftest,
        "test",
        "--no-color",
        "--output",
        "json",
        "--policy",
        str(CONFTEST_POLICY),
        "--data",
        str(data_file),
        *(str(s.root / p) for p in s.paths),
    ]


def opa_command(opa: str, policy_dir: Path, data_file: Path, input_file: Path) -> list[str]:
    """`opa eval` of the project's decision over govgate's input document, as the opa engine runs it."""
    return [
        opa,
        "eval",
        "--format",
        "json",
        "--strict-builtin-errors",
        "--data",
        str(policy_dir),
        "--data",
        str(data_file),
        "--input",
        str(input_file),
        "data.gate.main.decision",
    ]


def clean_env() -> dict[str, str]:
    """The environment without CI and GATE_ settings, colour off, the decision time fixed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "GATE_"))}
    env["NO_COLOR"] = "1"
    env["GATE_TIME"] = "2026-06-01T00:00:00Z"
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path | None, expect: set[int]) -> str:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode not in expect:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return proc.stdout


def findings_set(
    findings: Iterable[dict[str, Any]], root: Path, cwd: Path, checks: frozenset[str] | None
) -> set[Violation]:
    """(check, file, ref) of findings in govgate's shape (found in `cwd`), limited to `checks` if given."""
    out: set[Violation] = set()
    for f in findings:
        if checks is not None and f["check"] not in checks:
            continue
        subject = f.get("subject") or {}
        path = subject.get("path")
        out.add((str(f["check"]), _relative(path, root, cwd) if path else "", str(subject.get("ref"))))
    return out


def conftest_set(report: list[dict[str, Any]], root: Path, cwd: Path) -> set[Violation]:
    """(check, file, ref) of conftest's failures and warnings, read from the message prefix."""
    out: set[Violation] = set()
    for result in report:
        for kind in ("failures", "warnings"):
            for item in result.get(kind) or []:
                m = _MSG_RE.match(str(item.get("msg", "")))
                if m is None:
                    raise SystemExit(f"conftest message not in the baseline's form: {item.get('msg')!r}")
                out.add((m.group(1), _relative(str(result["filename"]), root, cwd), m.group(2)))
    return out


def agreement(name: str, gate: set[Violation], other: set[Violation]) -> dict[str, Any]:
    """Whether a baseline reports exactly govgate's violations; the differences, a few of each."""
    missing, extra = sorted(gate - other), sorted(other - gate)
    return {
        "baseline": name,
        "violations": len(gate),
        "same": not missing and not extra,
        "missing_in_baseline": [list(v) for v in missing[:5]],
        "missing_count": len(missing),
        "extra_in_baseline": [list(v) for v in extra[:5]],
        "extra_count": len(extra),
    }


@contextmanager
def in_dir(path: Path) -> Iterator[None]:
    """Run the block with `path` as the working directory."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def policy_tree(work: Path) -> tuple[Path, Path]:
    """The project's policies and default data, written where `opa eval` reads them."""
    from gate.engine.opa import write_modules
    from gate.pipeline import CheckOptions, prepare

    with in_dir(work):  # as `gate check` runs: without a gate.yaml of the caller's folder
        prepared = prepare(CheckOptions(engine="embedded", env=clean_env()))
    policy_dir = work / "opa-policy"
    write_modules(policy_dir, prepared.policy.modules)
    data_file = work / "opa-data.json"
    data_file.write_text(json.dumps(prepared.policy.data), encoding="utf-8")
    return policy_dir, data_file


def input_document(s: Scenario, work: Path) -> Path:
    """govgate's input document for the scenario (gate.pipeline.run_check), written to a file."""
    from gate.pipeline import CheckOptions, run_check

    with in_dir(work):  # as `gate check` runs: without a gate.yaml of the caller's folder
        decision = run_check(
            CheckOptions(
                paths=tuple(s.root / p for p in s.paths),
                environment="prod",
                engine="embedded",
                env=clean_env(),
            )
        )
    target = work / f"input-{s.key}.json"
    target.write_text(json.dumps(decision.document), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- timing

# Runs one command and prints "wall_s max_rss_kb exit_code". The kernel keeps a process's peak RSS
# across exec, so a command started straight from this (large) harness would report the harness's
# memory as its own; started from this small launcher, it reports its own (or the launcher's ~10 MB,
# if that were larger). The launcher's start-up is not in the wall time.
_LAUNCHER = """
import os, sys, time
out = os.open(os.devnull, os.O_WRONLY)
err = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], dict(os.environ),
                      file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(
    cmd: list[str], env: dict[str, str], expect: set[int], cwd: Path | None, errfile: Path
) -> tuple[float, int]:
    """Run `cmd` once through the launcher in `cwd`: (wall seconds, peak RSS in bytes)."""
    proc = subprocess.run(
        [sys.executable, "-S", "-E", "-c", _LAUNCHER, str(errfile), *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        wall, rss_kb, code = proc.stdout.split()
    except ValueError:
        raise SystemExit(f"the timing launcher failed: {proc.stderr[-2000:]}") from None
    if int(code) not in expect:
        err = errfile.read_text(errors="replace")[-3000:] if errfile.exists() else ""
        raise SystemExit(f"benchmark command failed ({code}): {shown_command(cmd)}\n{err}")
    return float(wall), int(rss_kb) * 1024


@dataclass(frozen=True)
class Timed:
    """One command to time: its report name, the command, the exit codes it may end with, where it runs."""

    name: str
    cmd: list[str]
    expect: set[int]
    cwd: Path


def timed_together(
    runs: dict[str, Timed], reps: int, env: dict[str, str], errfile: Path
) -> dict[str, dict[str, Any]]:
    """Warm each command up once, then run them `reps` times in turn (one of each per round, so
    that a change in the machine's load falls on all of them alike): per command, the median,
    spread and peak memory of the process."""
    for run in runs.values():
        measure(run.cmd, env, run.expect, run.cwd, errfile)
    samples: dict[str, list[tuple[float, int]]] = {key: [] for key in runs}
    for _ in range(reps):
        for key, run in runs.items():
            samples[key].append(measure(run.cmd, env, run.expect, run.cwd, errfile))
    out: dict[str, dict[str, Any]] = {}
    for key, run in runs.items():
        walls = [w for w, _ in samples[key]]
        out[key] = {
            "name": run.name,
            "command": shown_command(run.cmd),
            "runs": reps,
            "median_s": round(statistics.median(walls), 4),
            "min_s": round(min(walls), 4),
            "max_s": round(max(walls), 4),
            "peak_rss_mb": round(max(m for _, m in samples[key]) / 1e6, 1),
        }
    return out


# --------------------------------------------------------------------------- gate serve


def _post(url: str, body: bytes, timeout: float = 120.0) -> tuple[int, bytes]:
    """POST JSON to a local URL without proxies: (status, body), also for 4xx/5xx answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"gate serve exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with opener.open(f"{url}/healthz", timeout=2) as resp:
                if int(resp.status) == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit("gate serve did not answer /healthz within 60 s")


@contextmanager
def serving(cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Run `gate serve --env prod --engine embedded` in `cwd` on a free port; yield (url, pid)."""
    log = cwd / "serve.log"
    for _ in range(3):  # another process may take the free port first
        port = free_port()
        cmd = [*gate_cmd(), "serve", "--port", str(port), "--env", "prod", "--engine", "embedded"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_healthy(url, proc, log)
            except SystemExit:
                if "in use" in log.read_text(errors="replace"):
                    continue
                raise
            yield url, proc.pid
            return
        finally:
            stop_process(proc)
    raise SystemExit("gate serve could not bind a free port in three tries")


def load(url: str, body: bytes, status: int, clients: int, per_client: int) -> tuple[list[float], float]:
    """`clients` threads, each POSTing `body` `per_client` times in sequence: (latencies, wall s)."""

    def client() -> list[float]:
        took: list[float] = []
        for _ in range(per_client):
            start = time.perf_counter()
            code, _ = _post(f"{url}/v1/check", body)
            took.append(time.perf_counter() - start)
            if code != status:
                raise SystemExit(f"gate serve answered {code}, expected {status}")
        return took

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client) for _ in range(clients)]
        latencies = [t for f in futures for t in f.result()]
    return latencies, time.perf_counter() - start


def serve_load(
    s: Scenario, work: Path, clients: int, per_client: int, expected: set[Violation]
) -> dict[str, Any]:
    """One `gate serve`, `clients` concurrent clients POSTing the scenario's files `per_client` times
    each: requests per second over the wall time, p50/p99 latency, the server's peak RSS.

    The served decision must hold the same (check, file, ref) set as `gate check` on the same files.
    """
    files = [
        {"path": p.relative_to(s.root).as_posix(), "content": p.read_text(encoding="utf-8")}
        for p in sorted(s.root.rglob("*"))
        if p.is_file()
    ]
    body = json.dumps({"environment": "prod", "files": files}).encode("utf-8")
    with serving(fresh_dir(work / "runs", "serve-"), local_env(clean_env())) as (url, pid):
        status, answer = _post(f"{url}/v1/check", body)  # warm-up, and the correctness check
        if status not in (200, 422):
            raise SystemExit(f"gate serve answered {status}: {answer[:500]!r}")
        served = findings_set(json.loads(answer)["findings"], s.root, s.root, COMPARED_CHECKS)
        latencies, wall = load(url, body, status, clients, per_client)
        peak = _vm_hwm_mb(pid)
    return {
        "name": f"(e) gate serve, {clients} concurrent clients x {per_client} requests, {s.label}",
        "clients": clients,
        "requests": len(latencies),
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(percentile(latencies, 50), 4),
        "p99_s": round(percentile(latencies, 99), 4),
        "max_s": round(max(latencies), 4),
        "server_peak_rss_mb": peak,
        "correctness": agreement("gate serve", expected, served),
    }


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", text, re.MULTILINE)
    return round(int(m.group(1)) * 1024 / 1e6, 1) if m else None


def serve_table(row: dict[str, Any]) -> str:
    """Markdown: the gate serve load run."""
    agree = "yes" if row["correctness"]["same"] else "**no**"
    return "\n".join(
        [
            "| clients | requests | wall s | requests/s | p50 s | p99 s | max s | server peak MB | same findings as gate check |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {row['clients']} | {row['requests']} | {row['wall_s']:.2f} | {row['requests_per_s']:.2f} | "
            f"{row['p50_s']:.3f} | {row['p99_s']:.3f} | {row['max_s']:.3f} | {row['server_peak_rss_mb']} | {agree} |",
        ]
    )


# --------------------------------------------------------------------------- profile


def stage_profile(paths: list[Path], work: Path) -> dict[str, float]:
    """Seconds per stage of one `gate check` of `paths` (embedded engine) in this process, each
    stage the gate.pipeline function `gate check` calls.

    Meant for a fresh interpreter (see `profile_in_subprocess`): imports are the first stage.
    """
    import gc

    gc.disable()  # as the `gate check` console script runs
    stages: dict[str, float] = {}
    start = time.perf_counter()
    from gate import pipeline
    from gate.audit_step import AuditOptions
    from gate.context import build_context
    from gate.report.base import get_reporter

    stages["imports not yet loaded (gate.pipeline, collectors, audit step)"] = round(
        time.perf_counter() - start, 3
    )
    opts = pipeline.CheckOptions(paths=tuple(paths), environment="prod", engine="embedded", env=clean_env())

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = fn()
        stages[name] = round(time.perf_counter() - start, 3)
        return value

    with in_dir(work):
        prepared = stage("config, waivers, policy set, engine", lambda: pipeline.prepare(opts))
        sections = stage(
            "read, parse, validate, normalise (on every core, as the CLI does)",
            lambda: pipeline.collect(prepared, opts.paths, parallel=True),
        )
        context = build_context(prepared.environment, opts.env)
        document = stage(
            "assemble the input document", lambda: pipeline.assemble(prepared, context, sections)
        )
        decision = stage(
            "decide: canonical bytes, schema check, evaluate (Wasm, loaded on first use)",
            lambda: pipeline.decide(prepared, document),
        )
        recorded = stage(
            "the signed audit record (signing, storing record and input)",
            lambda: pipeline.record(prepared, decision, AuditOptions(), opts.env, lambda _: None),
        )
        stage("the JSON report", lambda: get_reporter("json").render(recorded, color=False))
    return stages


def profile_in_subprocess(s: Scenario, work: Path) -> dict[str, float]:
    """`stage_profile` of scenario `s` in a fresh interpreter, so imports and caches start cold."""
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from bench.compare import stage_profile; "
        "print(json.dumps(stage_profile([Path(p) for p in sys.argv[3:]], Path(sys.argv[2]))))"
    )
    args = [str(ROOT), str(work), *(str(s.root / p) for p in s.paths)]
    out = _run([sys.executable, "-c", code, *args], clean_env(), work, {0})
    stages: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return stages


def audit_in_subprocess(quick: bool, reps: int) -> list[dict[str, Any]]:
    """bench/audit_log.py's scenarios in a fresh interpreter.

    Its `gate audit verify` runs are started straight from the process that runs them, and a child
    keeps its parent's peak RSS across exec: from this harness, grown by the large scenarios, they
    would report the harness's memory.
    """
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from bench.audit_log import run_audit; "
        "print(json.dumps(run_audit(sys.argv[2] == '1', int(sys.argv[3]))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), "1" if quick else "0", str(reps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the audit scenarios failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rows: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return rows


# --------------------------------------------------------------------------- run


def compare_scenario(
    s: Scenario,
    tools: dict[str, str],
    work: Path,
    reps: int,
    policy: tuple[Path, Path],
    conftest_data: Path,
    against: list[str] | None = None,
) -> tuple[dict[str, Any], set[Violation]]:
    """Check the baselines against govgate on `s`, then time the three tools (and `against`,
    another checkout's `gate`, when given), in turn.

    Returns the scenario's result row and govgate's violations of the compared checks.
    """
    env = clean_env()
    gate = gate_command(s)
    runs = work / "runs"
    gate_cwd = fresh_dir(runs)
    decision = json.loads(_run(gate, env, gate_cwd, {0, 1}))
    gate_code = 1 if decision["outcome"] == "block" else 0
    gate_all = findings_set(decision["findings"], s.root, gate_cwd, None)
    gate_cmp = findings_set(decision["findings"], s.root, gate_cwd, COMPARED_CHECKS)

    conftest = conftest_command(tools["conftest"], conftest_data, s)
    conf_out = subprocess.run(conftest, env=env, capture_output=True, text=True, check=False)
    conftest_code = conf_out.returncode
    if conftest_code not in (0, 1):
        raise SystemExit(f"conftest failed ({conftest_code}): {conf_out.stderr[-3000:]}")
    conf_check = agreement(
        "conftest", gate_cmp, conftest_set(json.loads(conf_out.stdout), s.root, Path.cwd())
    )

    input_file = input_document(s, work)
    opa = opa_command(tools["opa"], policy[0], policy[1], input_file)
    opa_doc = json.loads(_run(opa, env, None, {0}))
    opa_value = opa_doc["result"][0]["expressions"][0]["value"]
    opa_check = agreement(
        "opa eval", gate_all, findings_set(opa_value.get("findings", []), s.root, work, None)
    )

    to_time = {
        "govgate": Timed(f"{s.key}: gate check (embedded)", gate, {gate_code}, fresh_dir(runs)),
        "conftest": Timed(f"{s.key}: conftest test", conftest, {conftest_code}, work),
        "opa_eval": Timed(f"{s.key}: opa eval", opa, {0}, work),
    }
    other_check: dict[str, Any] | None = None
    if against is not None:
        other = gate_command(s, against)
        other_cwd = fresh_dir(runs)
        other_doc = json.loads(_run(other, env, other_cwd, {0, 1}))
        other_check = agreement(
            "against", gate_all, findings_set(other_doc["findings"], s.root, other_cwd, None)
        )
        to_time["against"] = Timed(f"{s.key}: gate check (against)", other, {gate_code}, fresh_dir(runs))
    timings = timed_together(to_time, reps, env, work / "stderr.txt")
    g, c, o = (timings[k]["median_s"] for k in ("govgate", "conftest", "opa_eval"))
    ratio_conftest = round(g / c, 2) if conf_check["same"] and c > 0 else None
    goal = GOALS.get(s.key)
    row = {
        "key": s.key,
        "label": s.label,
        "engine": decision.get("engine", {}).get("version"),
        "findings": {"govgate_total": len(gate_all), "compared": len(gate_cmp)},
        "correctness": [conf_check, opa_check],
        "timings": timings,
        "ratio_vs_conftest": ratio_conftest,
        "ratio_vs_opa_eval": round(g / o, 2) if opa_check["same"] and o > 0 else None,
        "goal_ratio": goal,
        "meets_goal": None if goal is None or ratio_conftest is None else ratio_conftest <= goal,
    }
    if other_check is not None:
        a = timings["against"]["median_s"]
        row["against"] = {
            "same_findings": other_check["same"],
            "ratio_vs_conftest": round(a / c, 2) if c > 0 else None,
            "change": round(g / a - 1, 3) if other_check["same"] and a > 0 else None,
        }
    return row, gate_cmp


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    mem = None
    try:
        m = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        mem = round(int(m.group(1)) / 1e6, 1) if m else None
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        m2 = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = m2.group(1).strip() if m2 else cpu
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": mem,
    }


def _cell(row: dict[str, Any]) -> str:
    return f"{row['median_s']:.3f} ({row['min_s']:.3f}-{row['max_s']:.3f}), {row['peak_rss_mb']} MB"


def comparison_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per scenario, each tool's median (min-max) and peak MB, the ratio and the goal."""
    lines = [
        "| scenario | govgate s (min-max), peak | conftest s (min-max), peak | opa eval s (min-max), peak "
        "| govgate / conftest | goal | met | baselines agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["timings"]
        ratio = "void" if r["ratio_vs_conftest"] is None else f"{r['ratio_vs_conftest']:.2f}"
        goal = "" if r["goal_ratio"] is None else f"<= {r['goal_ratio']}"
        met = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "**no**")
        agree = ", ".join(
            f"{c['baseline']}: {'yes' if c['same'] else '**no**'} ({c['violations']})"
            for c in r["correctness"]
        )
        lines.append(
            f"| ({r['key']}) {r['label']} | {_cell(t['govgate'])} | {_cell(t['conftest'])} | "
            f"{_cell(t['opa_eval'])} | {ratio} | {goal} | {met} | {agree} |"
        )
    return "\n".join(lines)


def against_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: this checkout's govgate beside the other one (--against), against the same conftest runs."""
    lines = [
        "| scenario | this govgate s | other govgate s | conftest s | this / conftest | other / conftest "
        "| this against other | same findings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t, other = r["timings"], r["against"]
        change = "void" if other["change"] is None else f"{other['change']:+.1%}"
        lines.append(
            f"| ({r['key']}) | {t['govgate']['median_s']:.3f} | {t['against']['median_s']:.3f} | "
            f"{t['conftest']['median_s']:.3f} | {r['ratio_vs_conftest'] or 0:.2f} | "
            f"{other['ratio_vs_conftest'] or 0:.2f} | {change} | {'yes' if other['same_findings'] else '**no**'} |"
        )
    return "\n".join(lines)


def profile_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: the in-process stage profile of govgate for the scenarios that have one."""
    prof = [r for r in rows if r.get("profile")]
    if not prof:
        return ""
    stages = list(dict.fromkeys(k for r in prof for k in r["profile"]))
    lines = [
        "| stage | " + " | ".join(f"({r['key']}) s" for r in prof) + " |",
        "|---" * (len(prof) + 1) + "|",
    ]
    for st in stages:
        lines.append(f"| {st} | " + " | ".join(f"{r['profile'].get(st, 0):.2f}" for r in prof) + " |")
    return "\n".join(lines)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """BENCHMARKS.md: the machine, the date, the comparison and audit tables, the goals."""
    m = report["machine"]
    la = report["load_average"]
    rows = report["scenarios"]
    goals = [
        f"- ({r['key']}) govgate / conftest <= {r['goal_ratio']}: "
        + (
            "void (baseline disagrees)"
            if r["ratio_vs_conftest"] is None
            else f"{r['ratio_vs_conftest']:.2f}, "
        )
        + ("" if r["meets_goal"] is None else ("met" if r["meets_goal"] else "**missed**"))
        for r in rows
        if r["goal_ratio"] is not None
    ]
    text = [
        "# Benchmarks: govgate against conftest and opa eval",
        "",
        "Written by `.venv/bin/python bench/compare.py"
        + (" --quick" if report["quick"] else "")
        + f"` on {report['date']} (raw figures: `bench/results/compare.json`).",
        "",
        f"Machine: {m['cpu_model']}, {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}, "
        f"Python {m['python']}. Load average (1/5/15 min) at the start {la['start']}, at the end {la['end']}.",
        f"Tools: {report['versions']['conftest']} (the OPA conftest embeds); {report['versions']['opa']} "
        f"(opa eval); govgate's embedded engine ({report['versions'].get('govgate_engine', 'embedded')}),"
        " audit signing on. govgate's bytecode is compiled before timing, as `pip install` does.",
        "",
        f"Each figure is the median wall time of {report['reps']} run(s) after one warm-up, with the "
        "min-max spread and the peak RSS of the process. govgate runs `gate check PATH --env prod "
        "--engine embedded --format json` (every shipped check, and a signed audit record appended "
        "per run); conftest runs the baseline policies of `bench/conftest/policy` (the nine checks "
        "listed below) over the raw YAML and CycloneDX files; `opa eval` evaluates the project's own "
        "policies over govgate's input document (the input is prepared beforehand, so its time is "
        "the policy evaluation alone). A baseline whose findings differ from govgate's is void.",
        "",
        comparison_table(rows),
        "",
        "Compared checks (conftest): " + ", ".join(sorted(COMPARED_CHECKS)) + ". `opa eval` is "
        "compared on every finding. The number after each agreement is the number of violations "
        "compared.",
        "",
        "## Goals (govgate / conftest, median wall time)",
        "",
        *goals,
        "",
    ]
    if report.get("against"):
        text += [
            f"## Against {report['against']['checkout']} ({report['against']['commit']})",
            "",
            "The other checkout's `gate check`, timed in the same rounds as the three tools above.",
            "",
            against_table(rows),
            "",
        ]
    prof = profile_table(rows)
    if prof:
        text += [
            "## Where govgate's time goes (scenarios that miss their goal)",
            "",
            "One `gate check` of the scenario, stage by stage, in a fresh interpreter; the last row is "
            "the timed median less the stages above.",
            "",
            prof,
            "",
        ]
    if report["audit"]:
        text += ["## (d) The audit log", "", audit_table(report["audit"]), ""]
    if report["serve"]:
        text += [
            "## (e) gate serve under concurrent clients",
            "",
            "One `gate serve --env prod --engine embedded` (audit signing on); each client POSTs scenario "
            "(a)'s files to `/v1/check` in sequence, after one warm-up request whose findings are "
            "compared with `gate check`'s. Latency is per request, as the client sees it.",
            "",
            serve_table(report["serve"]),
            "",
        ]
    if report["missing"]:
        text += ["## Not measured", "", *(f"- {x}" for x in report["missing"]), ""]
    text += _scale_section(path)
    path.write_text("\n".join(text), encoding="utf-8")


def _scale_section(path: Path) -> list[str]:
    """bench/scale.py's section of the report, kept as it is (it is that script's to rewrite)."""
    from bench.scale import BEGIN, END

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN not in old or END not in old:
        return []
    return [old[old.index(BEGIN) : old.index(END) + len(END)], ""]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the comparison; write the JSON results and the Markdown report; return the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small inputs, one repetition, no audit scenario")
    ap.add_argument(
        "--reps", type=int, default=5, help="timed runs per tool and scenario after a warm-up [5]"
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="the JSON results [bench/results/compare.json]")
    ap.add_argument("--markdown", type=Path, default=REPORT, help="the Markdown report [BENCHMARKS.md]")
    ap.add_argument("--no-audit", action="store_true", help="leave out scenario d (the audit log)")
    ap.add_argument("--no-serve", action="store_true", help="leave out scenario e (gate serve)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent gate serve clients [8]")
    ap.add_argument("--per-client", type=int, help="requests each client sends in sequence [10; quick: 2]")
    ap.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="another govgate checkout (with its .venv) whose gate check is timed in the same rounds",
    )
    args = ap.parse_args(argv)
    against = None
    if args.against is not None:
        against = [str(args.against / ".venv/bin/gate")]
        if not Path(against[0]).is_file():
            ap.error(f"--against: {against[0]} not found (run scripts/dev-env.sh in that checkout)")
    if args.reps < 1 or args.clients < 1 or (args.per_client is not None and args.per_client < 1):
        ap.error("--reps, --clients and --per-client must be at least 1")
    reps = 1 if args.quick else args.reps
    tools = install_tools()
    compile_bytecode()
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    serve: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="govgate-compare-") as tmp:
        work = Path(tmp)
        conftest_data = work / "conftest-data.json"
        conftest_data.write_text(json.dumps({"govgate": DEFAULT_DATA}), encoding="utf-8")
        policy = policy_tree(work)
        for s in build_scenarios(work / "inputs", args.quick):
            print(f"scenario {s.key}: {s.label}", file=sys.stderr)
            row, expected = compare_scenario(s, tools, work, reps, policy, conftest_data, against)
            if s.key == "a" and not args.no_serve:
                print("scenario e: gate serve under concurrent clients", file=sys.stderr)
                per_client = args.per_client or (2 if args.quick else 10)
                serve = serve_load(s, work, args.clients, per_client, expected)
            if row["meets_goal"] is False:
                prof = profile_in_subprocess(s, work)
                help_runs = [
                    measure([*gate_cmd(), "--help"], clean_env(), {0}, work, work / "stderr.txt")
                    for _ in range(3)
                ]
                prof["interpreter start-up and CLI imports (`gate --help`)"] = round(
                    statistics.median(w for w, _ in help_runs), 3
                )
                rest = row["timings"]["govgate"]["median_s"] - sum(prof.values())
                prof["the rest (process start and exit, CLI parsing, timing noise)"] = round(
                    max(rest, 0.0), 3
                )
                row["profile"] = prof
            rows.append(row)
    audit: list[dict[str, Any]] = []
    missing = ["(e) gate serve: left out (--no-serve)"] if args.no_serve else []
    if args.no_audit:
        missing.insert(0, "(d) the audit log: left out (--no-audit)")
    else:
        print("scenario d: the audit log", file=sys.stderr)
        audit = audit_in_subprocess(args.quick, reps)
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
        "reps": reps,
        "versions": {
            "conftest": tool_version(tools["conftest"], "--version"),
            "opa": "OPA " + tool_version(tools["opa"], "version").split(",")[0].replace("Version: ", ""),
            "govgate_engine": next((str(r["engine"]) for r in rows if r.get("engine")), "embedded"),
        },
        "compared_checks": sorted(COMPARED_CHECKS),
        "scenarios": rows,
        "audit": audit,
        "serve": serve,
        "missing": missing,
    }
    if args.against is not None:
        commit = subprocess.run(
            ["git", "-C", str(args.against), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        report["against"] = {"checkout": str(args.against), "commit": commit or "unknown commit"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_markdown(report, args.markdown)
    print(comparison_table(rows))
    if against is not None:
        print()
        print(against_table(rows))
    if audit:
        print()
        print(audit_table(audit))
    if serve:
        print()
        print(serve_table(serve))
    print(f"\nwritten to {args.out} and {args.markdown}")
    return report


if __name__ == "__main__":
    main()
