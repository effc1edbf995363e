"""`gate check` with the report formats: --format and --report for each, and --warn-exit-code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli.main import main
from gate.report.base import FORMATS, get_reporter
from tests.helpers import ROOT, run_gate

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _check(env_name: str, *extra: str | Path) -> tuple[int, str, str]:
    run = run_gate("check", EXAMPLE, "--config", CONFIG, "--env", env_name, *extra, env=PINNED)
    return run.code, run.stdout, run.stderr


def test_help_names_every_format_and_the_warn_exit_code() -> None:
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert "[text|json|sarif|junit|github|gitlab]" in flat
    assert "--warn-exit-code N" in flat and "--report FORMAT=FILE" in flat
    assert "a warn outcome exits N instead of 0" in flat
    assert "$GITHUB_STEP_SUMMARY" in flat


def test_every_format_has_a_reporter() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "junit", "github", "gitlab"}
    for name in FORMATS:
        assert callable(get_reporter(name).render)
    with pytest.raises(ValueError, match="unknown report format"):
        get_reporter("pdf")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "text"])
def test_report_file_equals_the_same_format_on_stdout(fmt: str, tmp_path: Path) -> None:
    dest = tmp_path / "out" / f"report.{fmt}"
    code, stdout, stderr = _check(
        "prod", "--format", fmt, "--report", f"{fmt}={dest}", "--report", f"json={tmp_path / 'd.json'}"
    )
    assert code == 1, stderr
    assert dest.read_text(encoding="utf-8") == stdout
    assert json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["outcome"] == "block"


def test_warn_exit_code_applies_to_warn_only() -> None:
    assert _check("dev", "--format", "json")[0] == 0
    code, stdout, _ = _check("dev", "--format", "json", "--warn-exit-code", "78")
    assert code == 78 and json.loads(stdout)["outcome"] == "warn"
    assert _check("prod", "--format", "json", "--warn-exit-code", "78")[0] == 1


@pytest.mark.parametrize("value", ["256", "-1", "x"])
def test_warn_exit_code_out_of_range_is_a_usage_error(value: str) -> None:
    code, _, stderr = _check("dev", "--warn-exit-code", value)
    assert code == 2 and "--warn-exit-code" in stderr


def test_report_accepts_every_format_and_rejects_others(tmp_path: Path) -> None:
    args: list[str | Path] = []
    for fmt in FORMATS:
        args += ["--report", f"{fmt}={tmp_path / fmt}"]
    code, _, stderr = _check("prod", "--format", "json", *args)
    assert code == 1, stderr
    assert all((tmp_path / fmt).stat().st_size > 0 for fmt in FORMATS)
    code, _, stderr = _check("prod", "--report", f"html={tmp_path / 'x.html'}")
    assert code == 2 and "FORMAT=FILE" in stderr and "gitlab" in stderr
