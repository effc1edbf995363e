"""Engine benchmarks: the same decisions on `embedded`, `opa` (`opa eval`) and `opa-server`.

Latency: wall time and peak RSS of one `gate check` process per decision, for each engine, on the
example service (`--env prod`, a block: exit 1) and on a generated BOM. The engines must agree on
each decision (outcome, summary, findings) before anything is timed.

Throughput: W workers at once, each running `gate check --engine opa-server` processes one after
another against one OPA server; decisions per second over the whole wall time, p50/p99 of the
per-decision times, and OPA's own time per decision from its /metrics.

The OPA server is started here (`opa run --server` on 127.0.0.1 at a free port, version check
off), loaded with `gate policy push`, and stopped when the benchmark ends, also on error.

Each scenario, and each worker of the concurrency run, has a working directory of its own, so
every decision signs and appends its audit record as a CI job in its own workspace would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.timing import fresh_dir, measure, scenario, shown_command
from gate.config import ENGINES
from gate.tools import find_binary
from tests.helpers import stop_process

HEALTH_WAIT_S = 30.0  # a deadline for the server's start-up, not a benchmark figure
INSTALL_HINT = "opa not found on PATH or in $(go env GOPATH)/bin: run `bash scripts/install-tools.sh`"
# OPA's request histogram: http_request_duration_seconds_sum{code="200",handler="v1/data",...} 0.12
_METRIC_RE = re.compile(r"^http_request_duration_seconds_(sum|count)\{([^}]*)\}\s+(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Workload:
    """An input every engine decides on: its `gate check` arguments and the config pushed for it."""

    key: str
    label: str
    args: tuple[str, ...]
    config: Path | None


@dataclass(frozen=True)
class OpaServer:
    """A running `opa run --server`: its base URL, process id and log file."""

    url: str
    pid: int
    log: Path


def in_ci() -> bool:
    """Whether the CI environment variable is set (to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def locate_opa() -> str | None:
    """The opa binary, found as the gate finds it; missing: exit in CI, else say so and return None."""
    found = find_binary("opa")
    if found is None:
        if in_ci():
            raise SystemExit(f"engine benchmarks: {INSTALL_HINT}")
        print(
            f"engine benchmarks: skipping the opa and opa-server scenarios: {INSTALL_HINT}", file=sys.stderr
        )
    return found


def _sha256(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def workloads(root: Path, big_bom: Path, n_big: int) -> list[Workload]:
    """The example service in prod (with its config, whose digests are pinned as a reviewed
    config's are: it lies in this checkout) and the generated BOM (default config)."""
    example = root / "examples/payments-api"
    config = root / "examples/gate.yaml"
    pins = ("--config-digest", _sha256(config), "--waivers-digest", _sha256(example / "waivers.yaml"))
    return [
        Workload(
            "example",
            "examples/payments-api (prod)",
            (str(example), "--config", str(config), *pins, "--env", "prod", "--format", "json"),
            config,
        ),
        Workload(
            "bom",
            f"generated {n_big:,}-component BOM",
            (str(big_bom), "--env", "prod", "--format", "json"),
            None,
        ),
    ]


def engine_args(engine: str, opa: str | None, server: OpaServer | None) -> list[str]:
    """The `gate check` options that pick `engine` (the opa binary found here, the server started here)."""
    if engine == "opa" and opa is not None:
        return ["--engine", "opa", "--opa-path", opa]
    if engine == "opa-server" and server is not None:
        return ["--engine", "opa-server", "--opa-url", server.url]
    if engine == "embedded":
        return ["--engine", "embedded"]
    raise ValueError(f"engine {engine} needs {'a server' if engine == 'opa-server' else 'the opa binary'}")


def local_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with 127.0.0.1 exempt from any HTTP proxy, so traffic to the server stays local."""
    out = dict(env)
    for key in ("NO_PROXY", "no_proxy"):
        current = [h for h in out.get(key, "").split(",") if h.strip()]
        out[key] = ",".join([*current, "127.0.0.1", "localhost"])
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> str | None:
    """GET a local URL without proxies; None when it cannot be fetched."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            if int(resp.status) != 200:
                return None
            return bytes(resp.read()).decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError):
        return None


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


@contextmanager
def opa_server(binary: str, workdir: Path) -> Iterator[OpaServer]:
    """Run `opa run --server` on 127.0.0.1 at a free port until the block ends; yield where it is.

    Decision logging is off (the figures are the engine's, not a log sink's); the version check is
    off so OPA talks to nobody.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "opa.log"
    args = [
        binary,
        "run",
        "--server",
        "--skip-version-check",
        "--log-level=error",
        "--shutdown-grace-period=1",
    ]
    for _ in range(3):  # another process may take the free port before OPA binds it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*args, f"--addr=127.0.0.1:{port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + HEALTH_WAIT_S
            while proc.poll() is None and time.monotonic() < deadline:
                if _get(f"{url}/health") is not None:
                    break
                time.sleep(0.05)
            else:
                if proc.poll() is None:
                    raise SystemExit(f"opa did not answer /health within {HEALTH_WAIT_S:g} s: {_tail(log)}")
                if "address already in use" in _tail(log):
                    continue
                raise SystemExit(f"opa run --server exited with {proc.returncode}: {_tail(log)}")
            yield OpaServer(url, proc.pid, log)
            return
        finally:
            stop_process(proc)
    raise SystemExit("opa could not bind a free port on 127.0.0.1 in three tries")


def push(gate: list[str], server: OpaServer, config: Path | None, env: dict[str, str], cwd: Path) -> None:
    """Load the shipped policies and `config`'s data and waivers into the server (`gate policy push`)."""
    cmd = [*gate, "policy", "push", "--opa-url", server.url]
    if config is not None:
        cmd += ["--config", str(config)]
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"gate policy push failed ({proc.returncode}): {shown_command(cmd)}\n{proc.stderr}")


def decide(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[int, dict[str, Any]]:
    """Run one `gate check --format json`: its exit code and the verdict (outcome, summary, findings)."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {shown_command(cmd)}\n{proc.stderr}")
    report = json.loads(proc.stdout)
    return proc.returncode, {k: report.get(k) for k in ("outcome", "summary", "findings")}


def agreed_exit_code(workload: Workload, cmds: dict[str, list[str]], env: dict[str, str], cwd: Path) -> int:
    """Decide once per engine; all must give the same verdict. Returns the common exit code."""
    verdicts = {engine: decide(cmd, env, cwd) for engine, cmd in cmds.items()}
    first, (code, verdict) = next(iter(verdicts.items()))
    for engine, (other_code, other) in verdicts.items():
        if (other_code, other) != (code, verdict):
            raise SystemExit(
                f"engines disagree on {workload.label}: {first} gives {verdict['outcome']} "
                f"{verdict['summary']} (exit {code}), {engine} gives {other['outcome']} "
                f"{other['summary']} (exit {other_code})"
            )
    return code


def server_peak_mb(server: OpaServer) -> float | None:
    """The server's peak resident memory since it started (VmHWM), in MB; None where unavailable."""
    try:
        status = Path(f"/proc/{server.pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    return round(int(m.group(1)) * 1024 / 1e6, 1) if m else None


def data_metrics(server: OpaServer) -> tuple[float, int] | None:
    """Total seconds and count of the POST /v1/data requests the server has answered (its /metrics)."""
    text = _get(f"{server.url}/metrics")
    if text is None:
        return None
    total, count = 0.0, 0
    for kind, labels, value in _METRIC_RE.findall(text):
        if 'handler="v1/data"' in labels and 'method="post"' in labels:
            if kind == "sum":
                total += float(value)
            else:
                count += int(float(value))
    return total, count


def mean_ms(before: tuple[float, int] | None, after: tuple[float, int] | None) -> float | None:
    """OPA's mean milliseconds per POST /v1/data between two `data_metrics` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(1000 * (after[0] - before[0]) / (after[1] - before[1]), 2)


def percentile(values: list[float], pct: int) -> float:
    """The `pct`th percentile (inclusive method); the single value when there is one."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def concurrent_decisions(
    label: str,
    cmd: list[str],
    env: dict[str, str],
    workers: int,
    per_worker: int,
    expect: set[int],
    server: OpaServer,
    workdir: Path,
) -> dict[str, Any]:
    """`workers` at once, each running `cmd` `per_worker` times in sequence: throughput and latency.

    Each worker runs in a directory of its own under `workdir` (its own audit log, as separate CI
    jobs have), so the workers share the OPA server and the machine, nothing else.
    """
    stop = threading.Event()
    dirs = [fresh_dir(workdir, f"worker{i}-") for i in range(workers)]

    def worker(cwd: Path) -> list[tuple[float, int]]:
        samples: list[tuple[float, int]] = []
        for _ in range(per_worker):
            if stop.is_set():
                break
            try:
                samples.append(measure(cmd, env, expect, cwd))
            except BaseException:
                stop.set()
                raise
        return samples

    # Warm-up: one decision, whose directory (audit keys and log) each worker starts from a copy of.
    measure(cmd, env, expect, dirs[0])
    for cwd in dirs[1:]:
        shutil.copytree(dirs[0], cwd, dirs_exist_ok=True)
    before = data_metrics(server)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(worker, cwd) for cwd in dirs]
        try:
            samples = [s for f in futures for s in f.result()]
        except BaseException:  # a failed decision or Ctrl-C: the other workers start no more
            stop.set()
            raise
    wall = time.perf_counter() - start
    after = data_metrics(server)
    walls = [w for w, _ in samples]
    return {
        "name": f"opa-server: {workers} concurrent workers x {per_worker} decisions, {label}",
        "command": shown_command(cmd),
        "workers": workers,
        "decisions": len(walls),
        "wall_s": round(wall, 3),
        "decisions_per_s": round(len(walls) / wall, 2),
        "p50_s": round(percentile(walls, 50), 4),
        "p99_s": round(percentile(walls, 99), 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "peak_rss_mb": round(max(m for _, m in samples) / 1e6, 1),
        "server_mean_ms": mean_ms(before, after),
        "server_peak_rss_mb": server_peak_mb(server),
    }


def run_engines(
    gate: list[str],
    env: dict[str, str],
    reps: int,
    cases: list[Workload],
    opa: str | None,
    workdir: Path,
    workers: int,
    per_worker: int,
) -> dict[str, Any]:
    """Every engine on every workload, then the concurrency run on the first workload.

    Returns {"results": scenario rows (with `engine` and `input`), "concurrency": rows,
    "skipped": reasons}. Without `opa` only the embedded engine runs.
    """
    env = local_env(env)
    engines = ENGINES if opa is not None else ("embedded",)
    results: list[dict[str, Any]] = []
    concurrency: list[dict[str, Any]] = []
    skipped = [] if opa is not None else [f"opa and opa-server scenarios: {INSTALL_HINT}"]
    with ExitStack() as stack:
        server = stack.enter_context(opa_server(opa, workdir / "opa")) if opa is not None else None
        for i, case in enumerate(cases):
            scratch = fresh_dir(workdir / "runs")
            if server is not None:
                push(gate, server, case.config, env, scratch)
            cmds = {e: [*gate, "check", *case.args, *engine_args(e, opa, server)] for e in engines}
            code = agreed_exit_code(case, cmds, env, scratch)
            for engine in engines:
                before = data_metrics(server) if server is not None else None
                row = scenario(
                    f"engine {engine}: {case.label}",
                    cmds[engine],
                    reps,
                    None,
                    env,
                    {code},
                    fresh_dir(workdir / "runs"),
                )
                row.update(engine=engine, input=case.key, input_label=case.label)
                if engine == "opa-server" and server is not None:
                    # OPA's own share of the decision, and its memory: not in the gate's figures
                    row["server_mean_ms"] = mean_ms(before, data_metrics(server))
                    row["server_peak_rss_mb"] = server_peak_mb(server)
                results.append(row)
            if i == 0 and server is not None:
                concurrency.append(
                    concurrent_decisions(
                        case.label,
                        cmds["opa-server"],
                        env,
                        workers,
                        per_worker,
                        {code},
                        server,
                        workdir / "runs",
                    )
                )
    return {"results": results, "concurrency": concurrency, "skipped": skipped}


def _server_cell(row: dict[str, Any]) -> str:
    """`12.3 ms, 58.1 MB`: the OPA server's mean time per query and peak memory, where measured."""
    parts = []
    if row.get("server_mean_ms") is not None:
        parts.append(f"{row['server_mean_ms']:.1f} ms")
    if row.get("server_peak_rss_mb") is not None:
        parts.append(f"{row['server_peak_rss_mb']} MB")
    return ", ".join(parts)


def engine_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table, engine x input: median seconds (min-max) and the gate process's peak MB.

    Under the opa-server row, the server's own share: mean ms per query and peak MB (since start).
    """
    rows = [r for r in results if "engine" in r]
    inputs = list(dict.fromkeys(r["input_label"] for r in rows))
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    cell = {(r["engine"], r["input_label"]): r for r in rows}
    head = ["engine", *(f"{label}: median s (min-max), peak MB" for label in inputs)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for engine in engines:
        cells = [engine]
        server = ["(the OPA server itself)"]
        for label in inputs:
            r = cell.get((engine, label))
            cells.append(
                ""
                if r is None
                else f"{r['median_s']:.3f} ({r['min_s']:.3f}-{r['max_s']:.3f}), {r['peak_rss_mb']}"
            )
            server.append("" if r is None else _server_cell(r))
        lines.append("| " + " | ".join(cells) + " |")
        if any(server[1:]):
            lines.append("| " + " | ".join(server) + " |")
    return "\n".join(lines)


def concurrency_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the concurrency runs."""
    lines = [
        "| workers | decisions | wall s | decisions/s | p50 s | p99 s | gate peak MB | OPA ms/decision | OPA peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        server_ms = "" if r["server_mean_ms"] is None else f"{r['server_mean_ms']:.1f}"
        server_mb = "" if r["server_peak_rss_mb"] is None else f"{r['server_peak_rss_mb']}"
        lines.append(
            f"| {r['workers']} | {r['decisions']} | {r['wall_s']:.2f} | {r['decisions_per_s']:.2f} "
            f"| {r['p50_s']:.3f} | {r['p99_s']:.3f} | {r['peak_rss_mb']} | {server_ms} | {server_mb} |"
        )
    return "\n".join(lines)
