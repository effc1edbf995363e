"""`gate policy test` (gate.policy.test), and the `gate policy` group: the shipped library passes,
broken folders are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli.main import main
from gate.policy.test import Status, discover_tests, run_tests
from tests.helpers import ROOT, require_binary, run_gate

SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed", re.MULTILINE)

FAILING_TEST = """package team.limits_test

import data.team.limits

test_small_is_fine if {
\tlimits.ok with input.size as 1
}

test_large_is_fine if {
\tlimits.ok with input.size as 100
}

todo_test_later if {
\tfalse
}
"""
LIMITS = """package team.limits

ok if input.size < 10
"""


@pytest.fixture(scope="module")
def opa() -> str:
    return require_binary("opa")


@pytest.fixture(scope="module")
def regal() -> str:
    return require_binary("regal")


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "limits.rego").write_text(LIMITS)
    (pol / "limits_test.rego").write_text(FAILING_TEST)
    return pol


def _counts(stdout: str) -> tuple[int, int]:
    match = SUMMARY_RE.search(stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2))


# --- gate policy test -------------------------------------------------------------------------


def test_shipped_library_passes_on_the_embedded_engine() -> None:
    run = run_gate("policy", "test")
    assert run.code == 0, run.stdout + run.stderr
    passed, failed = _counts(run.stdout)
    assert failed == 0 and passed >= 60
    assert "(embedded engine)" in run.stdout


def test_shipped_library_passes_on_opa_with_coverage(opa: str) -> None:
    run = run_gate("policy", "test", "--engine", "opa", "--opa-path", opa, "--fail-under", "90")
    assert run.code == 0, run.stdout + run.stderr
    passed, failed = _counts(run.stdout)
    assert failed == 0 and passed >= 60
    coverage = re.search(r"^coverage: ([\d.]+)%$", run.stdout, re.MULTILINE)
    assert coverage and float(coverage.group(1)) >= 90


def test_both_engines_run_the_same_tests(opa: str) -> None:
    embedded = run_tests([], "embedded")
    on_opa = run_tests([], "opa", opa_path=opa)
    assert {r.name for r in embedded.results} == {r.name for r in on_opa.results}
    assert embedded.ok and on_opa.ok


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_failing_rego_test_is_named_and_exits_1(engine: str, failing: Path, tmp_path: Path) -> None:
    if engine == "opa":
        require_binary("opa")
    run = run_gate("policy", "test", "--policy", "pol", "--engine", engine, cwd=failing.parent)
    assert run.code == 1, run.stdout + run.stderr
    fail_lines = [ln for ln in run.stdout.splitlines() if ln.startswith(("FAIL", "ERROR"))]
    assert fail_lines == [
        "FAIL data.team.limits_test.test_large_is_fine  pol/limits_test.rego:9: the test was false or undefined"
    ]
    passed, failed = _counts(run.stdout)
    assert failed == 1 and passed >= 61
    assert "1 skipped" in run.stdout  # todo_test_later


def test_module_that_does_not_parse_is_a_failure_with_file_and_line(opa: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "bad.rego").write_text("package team.bad\n\nz := if {\n")
    run = run_gate("policy", "test", "--policy", "pol", "--engine", "opa", cwd=tmp_path)
    assert run.code == 1
    assert "ERROR pol/bad.rego:3: rego_parse_error: unexpected if keyword" in run.stdout
    embedded = run_gate("policy", "test", "--policy", "pol", cwd=tmp_path)
    assert embedded.code == 1
    assert "ERROR the policies do not load on the embedded engine: pol/bad.rego:3:" in embedded.stdout


CRASHING = """package main

import rego.v1

deny contains msg if {
\tstartswith(input.name, "tmp-")
\tmsg := sprintf("%s is a temporary name", [input.name])
}
"""
CRASHING_TEST = """package main_test

import rego.v1

import data.main

test_temporary_names_are_denied if {
\tcount(main.deny) == 1 with input as {"name": "tmp-x"}
}

test_other_names_pass if {
\tcount(main.deny) == 0 with input as {"name": "payments"}
}
"""


def _crashing(tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "main.rego").write_text(CRASHING)
    (pol / "main_test.rego").write_text(CRASHING_TEST)


def test_a_test_that_crashes_regopy_runs_on_opa(opa: str, tmp_path: Path) -> None:
    """rego-cpp crashes on `with input as {...}` around a rule that calls startswith/sprintf: the
    tests it crashes on run on OPA, and say so."""
    _crashing(tmp_path)
    # Slow: regopy loads the library again for each test module it might crash on.
    run = run_gate("policy", "test", "--policy", "pol", "--opa-path", opa, cwd=tmp_path, timeout=900)
    assert run.code == 0, run.stdout + run.stderr
    assert "regopy crashed on 2 tests, run on opa instead: " in run.stdout
    assert "data.main_test.test_temporary_names_are_denied" in run.stdout
    assert "Traceback" not in run.stderr


def test_a_crash_without_opa_names_the_test(tmp_path: Path) -> None:
    _crashing(tmp_path)
    run = run_gate(
        "policy", "test", "--policy", "pol", "--opa-path", tmp_path / "no-opa", cwd=tmp_path, timeout=900
    )
    assert run.code == 1, run.stdout + run.stderr
    errors = [ln for ln in run.stdout.splitlines() if ln.startswith("ERROR ")]
    assert len(errors) == 2
    line = next(ln for ln in errors if "test_temporary_names_are_denied" in ln)
    assert line.startswith("ERROR data.main_test.test_temporary_names_are_denied  pol/main_test.rego:7: ")
    assert "regopy crashed (signal SIGSEGV) loading pol/main_test.rego, the module of" in line
    assert "install OPA" in line and "--engine opa" in line
    assert "Traceback" not in run.stderr


def test_fail_under_fails_when_coverage_is_short(opa: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "never.rego").write_text('package team.never\n\nx if input.a == "never tested"\n')
    run = run_gate(
        "policy", "test", "--policy", "pol", "--engine", "opa", "--fail-under", "100", cwd=tmp_path
    )
    assert run.code == 1
    assert " passed, 0 failed" in run.stdout, run.stdout
    assert "is below --fail-under 100%" in run.stderr


def test_coverage_needs_opa() -> None:
    result = CliRunner().invoke(main, ["policy", "test", "--coverage"])
    assert result.exit_code == 2
    assert "--engine opa" in result.output


def test_missing_opa_exits_3(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PATH": str(empty), "HOME": str(tmp_path)}
    run = run_gate("policy", "test", "--engine", "opa", env=env, cwd=tmp_path)
    assert run.code == 3 and "scripts/install-tools.sh" in run.stderr
    run = run_gate("policy", "check", env=env, cwd=tmp_path)
    assert run.code == 3 and "opa binary was not found" in run.stderr


def test_missing_policy_folder_is_a_usage_error(tmp_path: Path) -> None:
    run = run_gate("policy", "test", "--policy", tmp_path / "nope", cwd=tmp_path)
    assert run.code == 2 and "policy folder not found" in run.stderr


def test_discovery_finds_tests_skips_and_comments() -> None:
    modules = {
        "user/a_test.rego": "package a_test\n\n# test_commented if true\ntest_one if true\n\ntodo_test_two if true\n"
        "test_one if false\n",
        "user/b.rego": "package b\n\nx := 1\n",
    }
    found = discover_tests(modules, {"user/a_test.rego": "pol/a_test.rego"})
    assert [(t.query, t.where, t.skip) for t in found] == [
        ("data.a_test.test_one", "pol/a_test.rego:4", False),
        ("data.a_test.todo_test_two", "pol/a_test.rego:6", True),
    ]


def test_library_api_reports_statuses(
    opa: str, failing: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_tests([Path("pol")], "opa", opa_path=opa)
    by_name = {r.name: r for r in run.results}
    assert by_name["data.team.limits_test.test_small_is_fine"].status is Status.PASS
    assert by_name["data.team.limits_test.test_large_is_fine"].status is Status.FAIL
    assert by_name["data.team.limits_test.todo_test_later"].status is Status.SKIP
    assert not run.ok and run.count(Status.FAIL) == 1


# --- gate policy check ------------------------------------------------------------------------


def test_policy_group_help_through_click_runner() -> None:
    result = CliRunner().invoke(main, ["policy", "--help"])
    assert result.exit_code == 0
    assert "test" in result.output and "check" in result.output
    assert ROOT.is_dir()
