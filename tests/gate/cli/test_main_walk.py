"""`gate check` on whole repositories: nothing checked never reads as a pass, a walk skips what
is not an input (`-v` says why), `--exclude` and `.gitignore` leave files out, `-` reads stdin."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import (
    GATE,
    Run,
    audit_env,
    component_entity,
    cyclonedx_bom,
    npm_component,
    run_gate,
    write_yaml,
)

TSCONFIG = '{\n  // comments, as TypeScript allows\n  "compilerOptions": {"strict": true,},\n}\n'


def _records(log: Path) -> list[dict[str, Any]]:
    run = run_gate("audit", "list", "--log", log, "--format", "json")
    assert run.code == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def _no_inputs_repo(root: Path) -> Path:
    """A folder with files, none of them an input the gate reads."""
    root.mkdir(exist_ok=True)
    (root / "README.md").write_text("# web\n")
    (root / "package.json").write_text('{"name": "web"}')
    (root / "tsconfig.json").write_text(TSCONFIG)
    (root / "src").mkdir()
    (root / "src" / "index.ts").write_text("export {}\n")
    return root


def _lines(run: Run) -> list[str]:
    return [ln for ln in run.stderr.splitlines() if ln.strip()]


def _pin(config: Path) -> dict[str, str]:
    return {"GATE_CONFIG_DIGEST": "sha256:" + hashlib.sha256(config.read_bytes()).hexdigest()}


def test_nothing_to_check_is_refused_where_the_environment_blocks(tmp_path: Path) -> None:
    _no_inputs_repo(tmp_path / "repo")
    log = tmp_path / "log"
    run = run_gate("check", "repo", "--env", "prod", cwd=tmp_path, env={"GATE_AUDIT_LOG": str(log)})
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    (line,) = _lines(run)
    assert line.startswith("gate: nothing to check: no Backstage entity or template, SBOM, signature or")
    assert "in repo (2 other files skipped; -v lists them)" in line and "--allow-empty" in line
    (row,) = _records(log)
    assert row["outcome"] == "error" and row["error"].startswith("nothing to check")


def test_nothing_to_check_warns_elsewhere_and_the_decision_says_so(tmp_path: Path) -> None:
    _no_inputs_repo(tmp_path / "repo")
    log = tmp_path / "log"
    run = run_gate("check", "repo", "--env", "dev", cwd=tmp_path, env={"GATE_AUDIT_LOG": str(log)})
    assert run.code == 0, run.stderr
    (line,) = _lines(run)
    assert line.startswith("gate: warning: nothing to check: ")
    assert "the decision judged no input" in line
    assert "nothing was checked" in run.stdout
    decided = run_gate("check", "repo", "--env", "dev", "--format", "json", cwd=tmp_path)
    assert set(decided.json()["inputs"].values()) == {0}
    assert [row["outcome"] for row in _records(log)] == ["pass"]


def test_allow_empty_on_the_command_line_or_in_the_config(tmp_path: Path) -> None:
    _no_inputs_repo(tmp_path / "repo")
    run = run_gate("check", "repo", "--env", "prod", "--allow-empty", cwd=tmp_path)
    assert run.code == 0 and _lines(run) == [], run.stderr
    assert "PASS" in run.stdout and "nothing was checked" in run.stdout
    config = tmp_path / "gate.yaml"
    config.write_text("allow_empty: true\n")
    run = run_gate("check", "repo", "--env", "prod", cwd=tmp_path, env=_pin(config))
    assert run.code == 0 and _lines(run) == [], run.stderr


def test_an_environment_the_config_makes_block_refuses_nothing_to_check(tmp_path: Path) -> None:
    _no_inputs_repo(tmp_path / "repo")
    config = tmp_path / "gate.yaml"
    config.write_text("checks: {CATALOG-OWNER: block}\n")
    run = run_gate("check", "repo", "--env", "dev", cwd=tmp_path, env=_pin(config))
    assert run.code == 2 and _lines(run)[-1].startswith("gate: nothing to check: "), run.stderr


def test_a_typescript_repository_is_walked_and_verbose_says_what_was_skipped(tmp_path: Path) -> None:
    repo = _no_inputs_repo(tmp_path / "repo")
    write_yaml(repo / "catalog-info.yaml", component_entity())
    run = run_gate("check", "repo", "--env", "prod", "--format", "json", cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    assert _lines(run) == [] and run.json()["inputs"]["catalog"] == 1
    verbose = run_gate("check", "repo", "--env", "prod", "-v", cwd=tmp_path)
    assert verbose.code == run.code
    lines = _lines(verbose)
    assert lines[0].startswith("gate: skipped repo/package.json: not a recognised input")
    assert lines[1].startswith("gate: skipped repo/tsconfig.json: malformed JSON")
    assert lines[2] == "gate: 2 files skipped in the walk (not inputs, excluded or ignored)"


def test_a_broken_catalog_file_still_stops_the_walk(tmp_path: Path) -> None:
    repo = _no_inputs_repo(tmp_path / "repo")
    (repo / "catalog-info.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: [Component\n")
    run = run_gate("check", "repo", cwd=tmp_path)
    assert run.code == 2
    (line,) = _lines(run)
    assert line.startswith("gate: repo/catalog-info.yaml: malformed YAML")


def test_exclude_and_gitignore_leave_files_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_yaml(repo / "catalog-info.yaml", component_entity())
    write_yaml(repo / "tests" / "fixtures" / "catalog-info.yaml", component_entity("fixture"))
    (repo / "generated").mkdir()
    (repo / "generated" / "bom.json").write_text("{ broken")
    (repo / ".gitignore").write_text("generated/\n")
    run = run_gate("check", "repo", "--format", "json", "--exclude", "tests/fixtures/", cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    assert run.json()["inputs"]["catalog"] == 1
    config = tmp_path / "conf" / "gate.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({"exclude": ["fixtures/"]}))
    run = run_gate("check", "repo", "--format", "json", "--config", config, cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    assert run.json()["inputs"]["catalog"] == 1
    assert run_gate("check", "repo", "--format", "json", cwd=tmp_path).json()["inputs"]["catalog"] == 2


def test_an_exclude_that_cannot_match_is_refused_in_one_line(tmp_path: Path) -> None:
    run = run_gate("check", ".", "--exclude", "!keep.yaml", cwd=tmp_path)
    assert run.code == 2
    (line,) = _lines(run)
    assert line.startswith("gate: exclude pattern '!keep.yaml' excludes nothing")


def test_a_named_rego_file_is_told_to_go_to_policy(tmp_path: Path) -> None:
    (tmp_path / "deny.rego").write_text("package acme\n\nimport rego.v1\n\ndeny contains 1 if { true }\n")
    run = run_gate("check", "deny.rego", cwd=tmp_path)
    assert run.code == 2
    assert _lines(run) == [
        "gate: deny.rego: a Rego policy, not an input to check. pass policies with --policy DIR"
        " (the folder holding it), and inputs as PATHs"
    ]
    walked = run_gate("check", ".", "--allow-empty", "-v", cwd=tmp_path)
    assert walked.code == 0 and "deny.rego" not in walked.stderr


def _gate_stdin(args: list[str], data: bytes, cwd: Path, env: dict[str, str] | None = None) -> Run:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))
    }
    full_env.update(audit_env(), NO_COLOR="1", **(env or {}))
    proc = subprocess.run(
        [*GATE, *args], input=data, cwd=cwd, env=full_env, capture_output=True, timeout=120, check=False
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_dash_reads_one_input_from_stdin(tmp_path: Path) -> None:
    bom = cyclonedx_bom([npm_component("left-pad", "1.0.0", "GPL-3.0-only")])
    run = _gate_stdin(["check", "-", "--env", "prod", "--format", "json"], json.dumps(bom).encode(), tmp_path)
    assert run.code == 1, run.stderr
    decision = run.json()
    assert decision["inputs"]["sboms"] == 1
    denied = [f for f in decision["findings"] if f["check"] == "SBOM-LICENSE-DENIED"]
    assert denied and {f["subject"]["path"] for f in denied} == {"stdin"}
    write_yaml(tmp_path / "other.yaml", component_entity("other"))
    entity = yaml.safe_dump(component_entity("piped", owner="nobody")).encode()
    both = _gate_stdin(["check", "-", "other.yaml", "--format", "json"], entity, tmp_path)
    assert both.code in (0, 1), both.stderr
    assert both.json()["inputs"]["catalog"] == 2


def test_stdin_that_is_broken_or_too_large_is_refused_in_one_line(tmp_path: Path) -> None:
    run = _gate_stdin(["check", "-"], b'{"bomFormat": "CycloneDX", ', tmp_path)
    assert run.code == 2
    (line,) = _lines(run)
    assert line.startswith("gate: stdin: malformed JSON")
    (tmp_path / "gate.yaml").write_text("limits: {max_file_bytes: 2048}\n")
    big = json.dumps(cyclonedx_bom([npm_component(f"c{i}", "1.0.0") for i in range(100)])).encode()
    run = _gate_stdin(["check", "-"], big, tmp_path)
    assert run.code == 2
    assert _lines(run)[-1] == (
        "gate: stdin: more than the 2048-byte limit on standard input. raise `limits.max_file_bytes`"
        " in gate.yaml if this input is legitimate"
    )
    run = _gate_stdin(["check", "-", "-"], b"{}", tmp_path)
    assert run.code == 2 and "named more than once" in run.stderr


@pytest.mark.parametrize("data", [b"", b"just: a mapping\n"])
def test_stdin_that_is_not_an_input_is_refused(tmp_path: Path, data: bytes) -> None:
    run = _gate_stdin(["check", "-"], data, tmp_path)
    assert run.code == 2
    (line,) = _lines(run)
    assert line.startswith("gate: stdin: ")
