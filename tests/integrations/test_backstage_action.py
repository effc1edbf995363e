"""The Backstage integration in integrations/backstage/.

Its Node test suite (the govgate:check scaffolder action, its backend module, and the example
templates through Backstage's proxy) runs against a real `gate serve` that the suite starts itself;
here it runs as a subprocess: `npm ci` when node_modules is missing or stale, then `npm test`.
The example templates are gated with the real `gate` CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, run_gate, write_yaml

PACKAGE = ROOT / "integrations" / "backstage"
TEMPLATE = PACKAGE / "template.yaml"
ACTION_TEMPLATE = PACKAGE / "template-check-action.yaml"
PROXY_PATH = "/proxy/govgate/v1/check"


def _require_tool(name: str) -> str:
    """A tool on PATH; missing: fail in CI, skip on a laptop, naming the tool."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{name} not found on PATH; CI must install Node.js (with npm) to test the Backstage action"
            )
        pytest.skip(f"{name} not found on PATH: install Node.js 20+ to test the Backstage action")
    return found


def _installed_is_stale() -> str | None:
    """Why node_modules does not match package-lock.json, or None when it does.

    npm records what it installed in node_modules/.package-lock.json; every package the lock file
    names must be there at the locked version (optional packages for other platforms may be absent).
    """
    hidden = PACKAGE / "node_modules" / ".package-lock.json"
    if not hidden.is_file():
        return "node_modules is missing"
    lock = json.loads((PACKAGE / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads(hidden.read_text(encoding="utf-8"))
    have: dict[str, Any] = installed.get("packages", {})
    for key, meta in lock.get("packages", {}).items():
        if not key:
            continue
        got = have.get(key)
        if got is None:
            if meta.get("optional"):
                continue
            return f"{key} is not installed"
        if got.get("version") != meta.get("version"):
            return f"{key} is {got.get('version')}, the lock file says {meta.get('version')}"
    return None


def _gate_binary() -> Path:
    """The `gate` of the Python running these tests (the suite starts `gate serve` with it)."""
    beside = Path(sys.executable).parent / "gate"
    if beside.is_file():
        return beside
    found = shutil.which("gate")
    if found is None:
        pytest.fail("the gate console script is not installed beside this Python; run pip install -e .")
    return Path(found)


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "GOVGATE_"))}
    env["GOVGATE_GATE_BIN"] = str(_gate_binary())
    env["NO_COLOR"] = "1"
    return subprocess.run(
        cmd, cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 80) -> str:
    return "\n".join((proc.stdout + "\n" + proc.stderr).splitlines()[-lines:])


@pytest.mark.slow
def test_node_suite_passes_against_real_gate_serve() -> None:
    _require_tool("node")
    npm = _require_tool("npm")
    stale = _installed_is_stale()
    if stale is not None:
        installed = _run([npm, "ci", "--no-audit", "--no-fund"], timeout=1200)
        assert installed.returncode == 0, f"npm ci failed ({stale}):\n{_tail(installed)}"
    tested = _run([npm, "test"], timeout=900)
    assert tested.returncode == 0, f"npm test failed:\n{_tail(tested, 200)}"
    assert "Tests:" in tested.stdout + tested.stderr


def _steps(path: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["kind"] == "Template"
    assert doc["apiVersion"] == "scaffolder.backstage.io/v1beta3"
    steps: list[dict[str, Any]] = doc["spec"]["steps"]
    return steps


def _index(steps: list[dict[str, Any]], step_id: str) -> int:
    return next(i for i, s in enumerate(steps) if s["id"] == step_id)


@pytest.mark.parametrize("template", [TEMPLATE, ACTION_TEMPLATE], ids=lambda p: p.name)
def test_example_template_passes_the_gate(template: Path) -> None:
    result = run_gate("check", template, "--env", "prod", "--format", "json")
    assert result.code == 0, result.stderr
    decision = result.json()
    assert decision["outcome"] == "pass"
    assert decision["findings"] == []


def test_proxy_template_asks_the_gate_before_publishing() -> None:
    steps = _steps(TEMPLATE)
    govgate = steps[_index(steps, "govgate")]
    assert govgate["action"] == "http:backstage:request"
    assert govgate["input"]["method"] == "POST"
    assert govgate["input"]["path"] == PROXY_PATH
    assert "continueOnBadResponse" not in govgate["input"]
    body = govgate["input"]["body"]
    assert body["environment"] == "prod"
    assert body["entities"][0]["kind"] == "Component"
    assert _index(steps, "entity") < _index(steps, "govgate") < _index(steps, "publish")
    assert steps[_index(steps, "publish")]["action"] == "publish:github"


def test_action_template_runs_govgate_check_before_publishing() -> None:
    steps = _steps(ACTION_TEMPLATE)
    assert steps[_index(steps, "govgate")]["action"] == "govgate:check"
    assert _index(steps, "govgate") < _index(steps, "publish")


def test_gate_flags_the_template_when_the_check_runs_after_publish(tmp_path: Path) -> None:
    doc = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    steps = doc["spec"]["steps"]
    check = steps.pop(_index(steps, "govgate"))
    steps.insert(_index(steps, "publish") + 1, check)
    moved = write_yaml(tmp_path / "template.yaml", doc)

    result = run_gate("check", moved, "--env", "prod", "--format", "json")
    checks = [f["check"] for f in result.json()["findings"]]
    assert "TEMPLATE-PREPUBLISH-CHECK" in checks
