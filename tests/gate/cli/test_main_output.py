"""What `gate check` does when its own output or limits are hostile: one line, the documented code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import GATE, audit_env, component_entity, run_gate, write_yaml


def test_a_full_stdout_is_exit_3_with_one_line_after_the_record(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "repo" / "catalog-info.yaml", component_entity())
    log = tmp_path / "log"
    env = {**audit_env(), "GATE_AUDIT_LOG": str(log), "NO_COLOR": "1"}
    with open("/dev/full", "w", encoding="utf-8") as full:
        proc = subprocess.run(
            [*GATE, "check", str(cat), "--env", "prod"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PATH": "/usr/bin:/bin"},
            timeout=120,
            check=False,
        )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "cannot write the report to stdout: No space left on device" in lines[0]
    assert "Traceback" not in proc.stderr
    assert (log / "checkpoint").is_file()  # the decision was recorded before the report failed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_waiver_days", "3000000"),
        ("max_file_bytes", "1" + "0" * 30),
        ("max_waiver_days", "1" + "0" * 5000),
    ],
)
def test_limits_beyond_the_schema_maximums_are_config_errors(tmp_path: Path, key: str, value: str) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(f"limits:\n  {key}: {value}\n", encoding="utf-8")
    cat = write_yaml(tmp_path / "repo" / "catalog-info.yaml", component_entity())
    run = run_gate("check", cat, "--config", config)
    assert run.code == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gate: ") and "gate.yaml" in lines[0], run.stderr
