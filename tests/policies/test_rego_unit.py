"""The shipped Rego library's unit tests (policies/**/*_test.rego), on both engines.

1. The embedded engine (regopy): every `test_*` rule is found in the .rego files, all modules are
   loaded into one interpreter (strict builtin errors, as the gate runs it) and each rule is
   queried; one pytest case per Rego test, so a failure names it. regopy 1.5.2 can crash (segfault)
   or use gigabytes on some constructs (see gate/engine/regopy_adapter.py), so the rules are evaluated in
   a child process watched for time and memory; a rule that kills it fails alone and the others
   still run.
2. OPA: `opa test` over the same folder, the same set of tests, `opa check --strict`, and the
   coverage target.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
COVERAGE_TARGET = 90.0
CHILD_TIMEOUT = 600
CHILD_MAX_RSS_KB = 4 * 1024 * 1024

PACKAGE_RE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
TEST_RULE_RE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
COMMENT_RE = re.compile(r"#.*$", re.MULTILINE)


def rego_files() -> list[Path]:
    """Every module of the library, tests included, in a stable order."""
    return sorted(POLICIES.rglob("*.rego"))


def discover_tests() -> list[str]:
    """`data.<package>.<test rule>` for every test rule, in file order, each once."""
    found: list[str] = []
    for path in rego_files():
        source = COMMENT_RE.sub("", path.read_text(encoding="utf-8"))
        package = PACKAGE_RE.search(source)
        if package is None:
            continue
        for name in TEST_RULE_RE.findall(source):
            query = f"data.{package.group(1)}.{name}"
            if query not in found:
                found.append(query)
    return found


def child_main() -> None:
    """Child process: load every module, then evaluate the queries read from stdin, one JSON line each.

    Prints {"ready": true} once the modules compile, then {"query", "ok", "value"} per query, where
    value is the list of each result's expressions ([[true]] for a passing test, [[]] when undefined).
    """
    from gate.engine.regopy_adapter import regopy

    Interpreter = regopy().Interpreter

    queries: list[str] = json.loads(sys.stdin.read())
    interp = Interpreter()
    interp.strict_built_in_errors = True
    from gate.engine.regopy_adapter import with_metadata

    # rego.metadata calls as their values, as the gate loads policies into regopy.
    modules = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in rego_files()}
    for name, source in with_metadata(modules).items():
        interp.add_module(name, source)
    print(json.dumps({"ready": True}), flush=True)
    for query in queries:
        row: dict[str, Any] = {"query": query}
        try:
            out = interp.query(query)
        except Exception as exc:  # regopy raises when its output is an error, not JSON
            row.update(ok=False, value=f"{type(exc).__name__}: {exc}")
        else:
            ok = bool(out.ok())
            row.update(ok=ok, value=[r.expressions for r in out.results] if ok else str(out))
        print(json.dumps(row), flush=True)


def _rss_kb(pid: int) -> int:
    """Resident memory of a process in kB (Linux); 0 where /proc is not available."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _run_child(queries: list[str]) -> tuple[bool, dict[str, dict[str, Any]], str]:
    """One child run: (modules compiled, row per finished query, why it stopped early or "")."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(queries))
        proc.stdin.close()
        deadline = time.monotonic() + CHILD_TIMEOUT
        stopped = ""
        while proc.poll() is None:
            if _rss_kb(proc.pid) > CHILD_MAX_RSS_KB:
                stopped = f"regopy used more than {CHILD_MAX_RSS_KB // 1024 // 1024} GB"
            elif time.monotonic() > deadline:
                stopped = f"regopy ran longer than {CHILD_TIMEOUT} s"
            if stopped:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.05)
        if not stopped and proc.returncode != 0:
            err.seek(0)
            last = (err.read().strip().splitlines() or [""])[-1]
            stopped = f"regopy crashed (exit code {proc.returncode}) {last}".strip()
        out.seek(0)
        lines = out.read().splitlines()
    ready = False
    rows: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        if row.get("ready") is True:
            ready = True
        elif "query" in row:
            rows[row["query"]] = row
    return ready, rows, stopped


UNDEFINED = "failed (undefined: some expression in the test was false or undefined)"


def _verdict(row: dict[str, Any]) -> str:
    """'pass', or why not."""
    value = row.get("value")
    if not row.get("ok"):
        return f"evaluation error: {str(value)[:500]}"
    if value == [[True]]:
        return "pass"
    if value in ([], [[]]):
        return UNDEFINED
    return f"failed: {json.dumps(value)[:500]}"


def _batched(tests: list[str]) -> dict[str, str]:
    """One query, an array of the tests' package documents, in one child: regopy compiles the
    policies (and keeps about 150 MB) for every query, so this is far faster than a query per test.
    "pass" for each test that is true in its package document, "not run" for the others."""
    packages = sorted({q.rsplit(".", 1)[0] for q in tests})
    query = "[" + ", ".join(packages) + "]"
    _, rows, _ = _run_child([query])
    row = rows.get(query, {})
    value = row.get("value") if row.get("ok") else None
    documents: list[Any] = value[0][0] if isinstance(value, list) and value and value[0] else []
    by_package = dict(zip(packages, documents, strict=False))
    results: dict[str, str] = {}
    for q in tests:
        package, name = q.rsplit(".", 1)
        document = by_package.get(package)
        results[q] = "pass" if isinstance(document, dict) and document.get(name) is True else "not run"
    return results


@cache
def _any_query_fails() -> str:
    """Why regopy fails even a trivial query with the policies loaded, or "" when it does not."""
    ready, rows, stopped = _run_child(["1 == 1"])
    if not ready:
        return f"the policies do not load on regopy: {stopped}"
    if _verdict(rows.get("1 == 1", {})) != "pass":
        return (
            f"regopy fails every query with the policies loaded ({stopped or 'error'}): some module uses "
            "a construct it cannot handle, e.g. `with input as {...}` (see policies/gate/lib.rego)"
        )
    return ""


def _alone(query: str) -> str:
    """One test in a fresh child, for a precise verdict (false, undefined, error, crash)."""
    if broken := _any_query_fails():
        return broken
    _, rows, stopped = _run_child([query])
    if query in rows:
        return _verdict(rows[query])
    return f"{stopped or 'regopy stopped'} evaluating this test"


@cache
def embedded_results() -> dict[str, str]:
    """Verdict of every Rego test on regopy.

    Two batches: the checks' tests, and the others (gate.main's, which gather every check's
    violations). regopy caches rule values across `with` contexts within a query, so gathering
    must not share a query with the checks' tests, which replace the input with `with`. A test that
    does not pass in its batch runs again alone.
    """
    tests = discover_tests()
    checks = [q for q in tests if q.startswith("data.gate.checks.")]
    others = [q for q in tests if q not in checks]
    results = _batched(checks) | _batched(others)
    for q in tests:
        if results[q] != "pass":
            results[q] = _alone(q)
    return results


def test_discovery_finds_tests() -> None:
    tests = discover_tests()
    assert len(tests) >= 60, tests
    packages = {q.rsplit(".", 1)[0] for q in tests}
    assert "data.gate.main_test" in packages


@pytest.mark.parametrize("query", discover_tests())
def test_rego_on_embedded_engine(query: str) -> None:
    verdict = embedded_results().get(query, "not evaluated")
    assert verdict == "pass", f"{query}: {verdict}"


def opa_binary() -> str | None:
    """`opa` on PATH, else in $(go env GOPATH)/bin (where scripts/install-tools.sh puts it)."""
    found = shutil.which("opa")
    if found:
        return found
    candidates: list[Path] = []
    go = shutil.which("go")
    if go:
        gopath = subprocess.run(
            [go, "env", "GOPATH"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if gopath:
            candidates.append(Path(gopath.split(os.pathsep)[0]) / "bin" / "opa")
    candidates.append(Path.home() / "go" / "bin" / "opa")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@pytest.fixture(scope="module")
def opa() -> str:
    binary = opa_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "opa not found on PATH or in $(go env GOPATH)/bin; CI must run scripts/install-tools.sh"
            )
        pytest.skip("opa not found: run scripts/install-tools.sh")
    return binary


def _opa(opa: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([opa, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def test_opa_test_passes(opa: str) -> None:
    proc = _opa(opa, "test", "--format", "json", str(POLICIES))
    try:
        rows: list[dict[str, Any]] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"opa test did not run:\n{proc.stdout}\n{proc.stderr}")
    failed = [f"{r['package']}.{r['name']}" for r in rows if r.get("fail") or r.get("error")]
    assert proc.returncode == 0 and not failed, f"failing on OPA: {failed}\n{proc.stderr}"
    # The same tests run on both engines: discovery here must see what OPA sees.
    assert {f"{r['package']}.{r['name']}" for r in rows} == set(discover_tests())


def test_opa_check_strict(opa: str) -> None:
    proc = _opa(opa, "check", "--strict", str(POLICIES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_opa_coverage_target(opa: str) -> None:
    proc = _opa(opa, "test", "--coverage", "--format", "json", str(POLICIES))
    assert proc.returncode == 0, proc.stderr
    coverage = float(json.loads(proc.stdout)["coverage"])
    assert coverage >= COVERAGE_TARGET, f"Rego coverage {coverage:.1f}% is below {COVERAGE_TARGET}%"


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    child_main()
