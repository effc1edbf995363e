"""`gate policy check` (gate.policy.lint): the shipped library is clean, problems are named with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gate.policy.lint import run_checks
from tests.helpers import require_binary, run_gate


@pytest.fixture(scope="module")
def opa() -> str:
    return require_binary("opa")


@pytest.fixture(scope="module")
def regal() -> str:
    return require_binary("regal")


def test_shipped_library_is_clean(opa: str, regal: str) -> None:
    run = run_gate("policy", "check", "--opa-path", opa)
    assert run.code == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("0 findings")


def test_strict_check_error_is_a_finding_with_file_and_line(opa: str, regal: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "unused.rego").write_text(
        "package team.unused\n\nimport data.gate.lib\n\nx := 1 if {\n\ty := 2\n}\n"
    )
    run = run_gate("policy", "check", "--policy", "pol", cwd=tmp_path)
    assert run.code == 1
    assert "pol/unused.rego:3:1: opa check: rego_compile_error: import data.gate.lib unused" in run.stdout
    assert "pol/unused.rego:6:2: opa check: rego_compile_error: assigned var y unused" in run.stdout


def test_regal_finding_in_a_user_folder(opa: str, regal: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "style.rego").write_text('package team.style\n\nallow = true if input.user == "admin"\n')
    run = run_gate("policy", "check", "--policy", "pol", cwd=tmp_path)
    assert run.code == 1
    assert re.search(r"^pol/style\.rego:3:\d+: regal: style/use-assignment-operator: ", run.stdout, re.M)


def test_unparsable_folder_reports_opas_parse_errors_once(opa: str, regal: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "bad.rego").write_text("package team.bad\n\nz := if {\n")
    run = run_gate("policy", "check", "--policy", "pol", cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert "pol/bad.rego:3:6: opa check: rego_parse_error: unexpected if keyword" in run.stdout
    assert not any(ln.startswith("pol/") and ": regal: " in ln for ln in run.stdout.splitlines())


def test_conftest_adapters_pass_the_strict_check(opa: str, regal: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "main.rego").write_text(
        'package main\n\ndeny contains "no" if input.bad\n\nwarn contains "hm" if input.odd\n'
    )
    run = run_checks([pol], opa_path=opa)
    assert not [f for f in run.findings if f.tool == "opa check"], run.findings
