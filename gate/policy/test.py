"""`gate policy test`: the Rego unit tests of the policies, on OPA (`opa test`) or the embedded engine.

The tests of the shipped library and the user's policy folders are loaded together, as `gate check`
loads the policies (gate.policy.sources). On the embedded engine (regopy) they run in a child
process: rego-cpp 1.5.2 can crash or use gigabytes on some constructs, see policies/gate/lib.rego.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from gate.engine.opa import ModuleTree, format_errors, locate_opa, opa_errors, run_opa
from gate.errors import EngineError
from gate.policy.sources import Sources, load_sources

PACKAGE_RE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
TEST_RULE_RE = re.compile(r"^((?:todo_)?test_\w+)\b", re.MULTILINE)
COMMENT_RE = re.compile(r"#.*$", re.MULTILINE)
CHILD_TIMEOUT = 600.0
CHILD_MAX_RSS_KB = 4 * 1024 * 1024


class Status(Enum):
    """The verdict of one Rego test."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True)
class RegoResult:
    """One Rego test: `data.<package>.<rule>`, where it is defined, and how it went."""

    name: str
    where: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class RegoTestRun:
    """Every Rego test of the policies on one engine; `errors` are modules that did not load."""

    engine: str
    results: tuple[RegoResult, ...]
    errors: tuple[str, ...] = ()
    coverage: float | None = None
    # Tests regopy crashed on that ran on OPA instead (embedded engine).
    on_opa: tuple[str, ...] = ()

    def count(self, *statuses: Status) -> int:
        """How many tests ended in one of `statuses`."""
        return sum(1 for r in self.results if r.status in statuses)

    @property
    def ok(self) -> bool:
        """Everything loaded and no test failed."""
        return not self.errors and self.count(Status.FAIL, Status.ERROR) == 0

    def report_lines(self) -> list[str]:
        """One line per module that did not load and per failing test, the summary, the coverage."""
        lines = [f"ERROR {e}" for e in self.errors]
        for r in self.results:
            if r.status in (Status.FAIL, Status.ERROR):
                where = f"  {r.where}" if r.where else ""
                lines.append(f"{r.status.name} {r.name}{where}: {r.detail}")
        summary = f"{self.count(Status.PASS)} passed, {self.count(Status.FAIL, Status.ERROR)} failed"
        if self.count(Status.SKIP):
            summary += f", {self.count(Status.SKIP)} skipped"
        if self.errors:
            summary += f", {len(self.errors)} load error{'s' if len(self.errors) > 1 else ''}"
        lines.append(f"{summary} ({self.engine} engine)")
        if self.on_opa:
            lines.append(
                f"regopy crashed on {len(self.on_opa)} test{'s' if len(self.on_opa) > 1 else ''}, "
                f"run on opa instead: {', '.join(self.on_opa)}"
            )
        if self.coverage is not None:
            lines.append(f"coverage: {self.coverage:.1f}%")
        return lines


def run_tests(
    policy_dirs: Sequence[Path],
    engine: str = "embedded",
    *,
    opa_path: str | Path | None = None,
    coverage: bool = False,
) -> RegoTestRun:
    """Run the Rego unit tests of the shipped library and `policy_dirs` on `engine`."""
    sources = load_sources(policy_dirs)
    if engine in ("opa", "opa-server"):  # `opa test` on the OPA engines
        return _opa_tests(sources, locate_opa(opa_path), coverage)
    if engine == "embedded":
        return _embedded_tests(sources, opa_path)
    raise EngineError(f"unknown engine {engine!r} for policy tests", "use --engine embedded or --engine opa")


def _opa_tests(sources: Sources, opa: str, coverage: bool) -> RegoTestRun:
    with tempfile.TemporaryDirectory(prefix="govgate-test-") as tmp:
        tree = sources.tree(Path(tmp) / "policy")
        proc = run_opa([opa, "test", "--format", "json", str(tree.root)])
        try:
            rows = json.loads(proc.stdout)
        except (json.JSONDecodeError, UnicodeDecodeError):
            rows = None
        if not isinstance(rows, list):
            text = proc.stderr.decode("utf-8", errors="replace") or proc.stdout.decode(
                "utf-8", errors="replace"
            )
            errors = opa_errors(proc.stdout, proc.stderr)
            lines = format_errors(errors, tree) if errors else _error_lines(tree.rename_in(text))
            return RegoTestRun("opa", (), tuple(lines) or (f"opa test failed (exit {proc.returncode})",))
        results = tuple(_opa_result(row, tree) for row in rows if isinstance(row, dict))
        percent: float | None = None
        if coverage:
            cov = run_opa([opa, "test", "--coverage", "--format", "json", str(tree.root)])
            try:
                percent = float(json.loads(cov.stdout)["coverage"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                raise EngineError(
                    f"opa test --coverage gave no coverage report (exit {cov.returncode})",
                    "run opa test --coverage by hand on the policy folders",
                ) from None
    return RegoTestRun("opa", results, (), percent)


def _error_lines(text: str) -> list[str]:
    """OPA's pretty error text as one line per error (dropping the source excerpts and carets)."""
    lines = [ln.strip() for ln in text.splitlines()]
    return [ln for ln in lines if re.match(r"^\S+\.rego:\d+: ", ln)] or [ln for ln in lines if ln][:3]


def _opa_result(row: dict[str, Any], tree: ModuleTree) -> RegoResult:
    loc = row.get("location")
    where = ""
    if isinstance(loc, dict) and loc.get("file"):
        where = f"{tree.name_of(str(loc['file']))}:{loc.get('row', 0)}"
    name = f"{row.get('package', 'data')}.{row.get('name', '?')}"
    err = row.get("error")
    if err:
        message = err.get("message", err) if isinstance(err, dict) else err
        return RegoResult(name, where, Status.ERROR, tree.rename_in(str(message)))
    if row.get("skip"):
        return RegoResult(name, where, Status.SKIP)
    if row.get("fail"):
        return RegoResult(name, where, Status.FAIL, "the test was false or undefined")
    return RegoResult(name, where, Status.PASS)


@dataclass(frozen=True)
class RegoTest:
    """A Rego test rule found in the modules: its query, where it is defined, whether it is skipped."""

    query: str
    where: str
    skip: bool
    shipped: bool = False


def discover_tests(modules: dict[str, str], display: dict[str, str]) -> list[RegoTest]:
    """Every `test_*` (and skipped `todo_test_*`) rule, by package, once each, as OPA finds them."""
    found: dict[str, RegoTest] = {}
    for name in sorted(modules):
        source = COMMENT_RE.sub("", modules[name])
        package = PACKAGE_RE.search(source)
        if package is None:
            continue
        for m in TEST_RULE_RE.finditer(source):
            rule = m.group(1)
            query = f"data.{package.group(1)}.{rule}"
            row = source.count("\n", 0, m.start()) + 1
            where = f"{display.get(name, name)}:{row}"
            found.setdefault(query, RegoTest(query, where, rule.startswith("todo_"), name.startswith("lib/")))
    return list(found.values())


@dataclass(frozen=True)
class _ChildRun:
    ready: bool
    rows: dict[str, dict[str, Any]]
    stopped: str
    diagnostics: str


def _embedded_tests(sources: Sources, opa_path: str | Path | None = None) -> RegoTestRun:
    from gate.engine.regopy_adapter import conftest_lookups, with_metadata
    from gate.policy.policy_set import ADAPTER_PREFIX

    # As OPA, rego.metadata calls read the METADATA annotations (regopy has no such builtin), and
    # the conftest adapters are as the embedded engine runs them.
    modules = with_metadata(
        {
            sources.display.get(n, n): conftest_lookups(src) if n.startswith(ADAPTER_PREFIX) else src
            for n, src in sources.modules.items()
        }
    )
    tests = discover_tests(sources.modules, sources.display)
    runnable = [t for t in tests if not t.skip]
    verdicts, broken, crashed = _regopy_verdicts(modules, runnable)
    if broken and crashed is None:
        # regopy crashes compiling some module (a test's `with input as {...}` around a rule that
        # calls a builtin crashes it whatever the query): the user's test modules it crashes on
        # are left out, and the other tests run.
        user_tests = [
            sources.display.get(n, n)
            for n in sources.modules
            if n.endswith("_test.rego") and not n.startswith("lib/")
        ]
        bad = _crashing_modules(modules, user_tests)
        if bad:
            lost = [t for t in runnable if t.where.rsplit(":", 1)[0] in bad]
            rest = [t for t in runnable if t not in lost]
            kept = {name: source for name, source in modules.items() if name not in bad}
            verdicts, broken, crashed = _regopy_verdicts(kept, rest)
            for t in lost:
                module = t.where.rsplit(":", 1)[0]
                verdicts[t.query] = (
                    Status.ERROR,
                    f"{bad[module]} loading {module}, the module of {t.query} (rego-cpp crashes on "
                    "`with input as {...}` around a rule that calls a builtin: see "
                    "gate/engine/regopy_adapter.py), or run with --engine opa",
                )
            crashed = [*(crashed or []), *lost]
    if broken:
        return RegoTestRun("embedded", (), (broken,))
    on_opa = _crashed_on_opa(sources, crashed or [], opa_path, verdicts)
    results = tuple(
        RegoResult(t.query, t.where, Status.SKIP)
        if t.skip
        else RegoResult(t.query, t.where, *verdicts.get(t.query, (Status.ERROR, "not evaluated")))
        for t in tests
    )
    return RegoTestRun("embedded", results, on_opa=on_opa)


def _regopy_verdicts(
    modules: dict[str, str], runnable: list[RegoTest]
) -> tuple[dict[str, tuple[Status, str]], str, list[RegoTest] | None]:
    """The tests' verdicts on regopy, why the modules do not load ("" when they do), and the tests
    regopy crashed on (None when it crashed loading the modules)."""
    verdicts: dict[str, tuple[Status, str]] = {}
    # Batches, one query each (an array of the tests' package documents): regopy compiles the
    # policies for every query (~150 MB kept each time), so a query per test is slow and grows. Rule
    # values leak across `with` contexts within a query, so the checks' tests (which replace the
    # input) do not share a query with tests that gather every check (gate.main's), and the user's
    # tests do not share one with the library's.
    batches: dict[tuple[bool, bool], list[RegoTest]] = {}
    for t in runnable:
        batches.setdefault((t.shipped, t.query.startswith("data.gate.checks.")), []).append(t)
    loaded = False  # some query succeeded: the modules compile
    for key in sorted(batches, reverse=True):
        evaluated, batch_verdicts = _batch(modules, batches[key])
        loaded = loaded or evaluated
        verdicts.update(batch_verdicts)
    failing = [t for t in runnable if verdicts.get(t.query, (Status.ERROR, ""))[0] is not Status.PASS]
    crashed: list[RegoTest] = []
    if not failing:
        return verdicts, "", crashed
    if not loaded:
        broken, load_crash = _load_problem(modules)
        if broken:
            return verdicts, broken, None if load_crash else crashed
    # Each test that did not pass in its batch runs alone, for a precise verdict.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for t, (status, detail, crash) in zip(
            failing, pool.map(lambda t: _alone(modules, t), failing), strict=True
        ):
            verdicts[t.query] = (status, detail)
            if crash:
                crashed.append(t)
    return verdicts, "", crashed


def _crashing_modules(modules: dict[str, str], candidates: list[str]) -> dict[str, str]:
    """The candidate modules regopy crashes loading (each beside the modules that are not
    candidates), with how it crashed; none when it crashes without them too."""
    base = {name: source for name, source in modules.items() if name not in candidates}
    if candidates and _load_problem(base)[1]:
        return {}
    found: dict[str, str] = {}
    for name in candidates:
        run = _run_child({**base, name: modules[name]}, ["true"])
        if run.stopped and "true" not in run.rows:
            found[name] = run.stopped
    return found


def _crashed_on_opa(
    sources: Sources,
    crashed: list[RegoTest],
    opa_path: str | Path | None,
    verdicts: dict[str, tuple[Status, str]],
) -> tuple[str, ...]:
    """Run the tests regopy crashed on with `opa test`, where OPA is installed: their verdicts
    replace the crash in `verdicts`. Without OPA the crash stays each test's error, saying how
    to run it. Returns the tests that ran on OPA."""
    if not crashed:
        return ()
    try:
        opa = locate_opa(opa_path)
    except EngineError:
        for t in crashed:
            status, detail = verdicts[t.query]
            verdicts[t.query] = (status, f"{detail}; install OPA (scripts/install-tools.sh) to run it there")
        return ()
    names = "|".join(re.escape(t.query) for t in crashed)
    with tempfile.TemporaryDirectory(prefix="govgate-test-") as tmp:
        tree = sources.tree(Path(tmp) / "policy")
        proc = run_opa([opa, "test", "--format", "json", "--run", f"^(?:{names})$", str(tree.root)])
        try:
            rows = json.loads(proc.stdout)
        except (json.JSONDecodeError, UnicodeDecodeError):
            rows = None
        found = (
            {r.name: r for r in (_opa_result(row, tree) for row in rows or () if isinstance(row, dict))}
            if isinstance(rows, list)
            else {}
        )
    ran: list[str] = []
    for t in crashed:
        result = found.get(t.query)
        if result is None:
            status, detail = verdicts[t.query]
            verdicts[t.query] = (
                status,
                f"{detail}; `opa test` did not run it either (exit {proc.returncode})",
            )
            continue
        verdicts[t.query] = (result.status, f"on opa: {result.detail}" if result.detail else "")
        ran.append(t.query)
    return tuple(ran)


def _batch(modules: dict[str, str], tests: list[RegoTest]) -> tuple[bool, dict[str, tuple[Status, str]]]:
    """(whether the query evaluated, "pass" for each test true in its package document)."""
    packages = sorted({t.query.rsplit(".", 1)[0] for t in tests})
    query = "[" + ", ".join(packages) + "]"
    run = _run_child(modules, [query])
    row = run.rows.get(query, {})
    value = row.get("value") if row.get("ok") else None
    documents = value[0][0] if isinstance(value, list) and value and value[0] else []
    by_package = dict(zip(packages, documents if isinstance(documents, list) else [], strict=False))
    out: dict[str, tuple[Status, str]] = {}
    for t in tests:
        package, rule = t.query.rsplit(".", 1)
        document = by_package.get(package)
        passed = isinstance(document, dict) and document.get(rule) is True
        out[t.query] = (Status.PASS, "") if passed else (Status.ERROR, "not run")
    return bool(row.get("ok")), out


def _load_problem(modules: dict[str, str]) -> tuple[str, bool]:
    """Why a trivial query fails with the policies loaded ("" when it does not), and whether
    regopy crashed on it."""
    run = _run_child(modules, ["true"])
    row = run.rows.get("true")
    if row is not None and row.get("ok") and row.get("value") == [[True]]:
        return "", False
    detail = _diagnostic(run.diagnostics) or (str(row.get("value"))[:300] if row else "")
    crashed = not detail and bool(run.stopped)
    if not detail:
        detail = (
            f"{run.stopped or 'regopy failed'} with these modules loaded: some module uses a construct "
            "rego-cpp cannot handle, e.g. `with input as {...}` around a rule that calls a builtin "
            "(see gate/engine/regopy_adapter.py)"
        )
    return f"the policies do not load on the embedded engine: {detail}; run with --engine opa", crashed


def _diagnostic(text: str) -> str:
    """rego-cpp's first error as `file:row:col: message`, from the text it prints."""
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        m = re.match(r"^-- (\S+:\d+:\d+)$", ln)
        if m and i > 0 and lines[i - 1]:
            return f"{m.group(1)}: {lines[i - 1]}"
    return ""


def _alone(modules: dict[str, str], test: RegoTest) -> tuple[Status, str, bool]:
    """The test's verdict on regopy, run on its own, and whether regopy crashed on it."""
    run = _run_child(modules, [test.query])
    row = run.rows.get(test.query)
    if row is None:
        why = run.stopped or "regopy stopped"
        return (
            Status.ERROR,
            f"{why} evaluating {test.query} (rego-cpp crashes on some constructs, e.g. "
            "`with input as {...}` around a rule that calls a builtin: see "
            "gate/engine/regopy_adapter.py), or run with --engine opa",
            True,
        )
    value = row.get("value")
    if not row.get("ok"):
        detail = _diagnostic(run.diagnostics) or "a builtin raised an error (strict builtin errors)"
        return Status.ERROR, f"evaluation error: {detail}", False
    if value == [[True]]:
        return Status.PASS, "", False
    if value in ([], [[]]):
        return Status.FAIL, "the test was false or undefined", False
    return Status.FAIL, f"the test's value is {json.dumps(value)[:200]}", False


def _rss_kb(pid: int) -> int:
    """Resident memory of a process in kB (Linux); 0 where /proc is not available."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    m = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
    return int(m.group(1)) if m else 0


def _run_child(modules: dict[str, str], queries: list[str]) -> _ChildRun:
    """Evaluate queries on regopy in a child process watched for time and memory."""
    with tempfile.TemporaryDirectory(prefix="govgate-rego-") as tmp:
        results = Path(tmp) / "results.jsonl"
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"modules": modules, "queries": queries}), encoding="utf-8")
        with open(Path(tmp) / "out.txt", "w+b") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gate.policy.test", "--child", str(job), str(results)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_child_env(),
            )
            deadline = time.monotonic() + CHILD_TIMEOUT
            stopped = ""
            while proc.poll() is None:
                if _rss_kb(proc.pid) > CHILD_MAX_RSS_KB:
                    stopped = f"regopy used more than {CHILD_MAX_RSS_KB // 1024 // 1024} GB"
                elif time.monotonic() > deadline:
                    stopped = f"regopy ran longer than {CHILD_TIMEOUT:g} s"
                if stopped:
                    proc.kill()
                    proc.wait()
                    break
                time.sleep(0.02)
            if not stopped and proc.returncode != 0:
                stopped = f"regopy crashed ({_how(proc.returncode)})"
            out.seek(0)
            diagnostics = out.read().decode("utf-8", errors="replace")
        ready = False
        rows: dict[str, dict[str, Any]] = {}
        lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("ready") is True:
            ready = True
        elif isinstance(row, dict) and "query" in row:
            rows[str(row["query"])] = row
    return _ChildRun(ready, rows, stopped, diagnostics)


def _how(returncode: int) -> str:
    """`signal SIGSEGV` for a negative return code, else `exit code N`."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            pass
    return f"exit code {returncode}"


def _child_env() -> dict[str, str]:
    """The environment of a child: this gate package importable whatever the working directory."""
    package_root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}


def _child_main(job_file: str, results_file: str) -> None:
    """Child process: load the modules, evaluate each query, one JSON line per query.

    Results go to their own file: rego-cpp prints its diagnostics on stdout.
    """
    from gate.engine.regopy_adapter import regopy

    Interpreter = regopy().Interpreter

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    with open(results_file, "w", encoding="utf-8") as out:
        interp = Interpreter()
        interp.strict_built_in_errors = True
        for name, source in sorted(job["modules"].items()):
            interp.add_module(name, source)
        out.write(json.dumps({"ready": True}) + "\n")
        out.flush()
        for query in job["queries"]:
            row: dict[str, Any] = {"query": query}
            try:
                res = interp.query(query)
            except Exception as exc:  # regopy raises when the modules do not compile
                row.update(ok=False, value=f"{type(exc).__name__}: {str(exc)[:500]}")
            else:
                ok = bool(res.ok())
                row.update(ok=ok, value=[r.expressions for r in res.results] if ok else str(res))
            out.write(json.dumps(row) + "\n")
            out.flush()


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    _child_main(sys.argv[2], sys.argv[3])
