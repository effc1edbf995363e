"""conftest-style policy folders under `gate check --policy`, against the real `conftest` binary.

The same generated files and the same policy folder go to `conftest test` and to `gate check` on
every engine (embedded, opa, opa-server): the (file, message) set of conftest's failures and
warnings is the gate's set of findings from those rules.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.trust import policy_digest
from tests.helpers import (
    component_entity,
    cyclonedx_bom,
    npm_component,
    require_binary,
    run_gate,
    write_json,
    write_yaml,
)
from tests.opa_server_fixture import opa_server

ENGINES = ("embedded", "opa", "opa-server")

# Rules as conftest users write them: messages from sprintf and concat, a suffixed rule name, an
# object message, a message naming its check in an `[ID]` prefix, an exception, a helper rule,
# and a second package.
MAIN_POLICY = """package main

import rego.v1

kinds := {"Component", "API"}

deny contains msg if {
	input.kind in kinds
	not input.spec.owner
	msg := sprintf("%s has no owner", [input.metadata.name])
}

deny_lifecycle contains msg if {
	input.kind in kinds
	not input.spec.lifecycle in {"production", "experimental"}
	msg := concat("", ["[ACME-LIFECYCLE] ", input.metadata.name, " has no known lifecycle"])
}

exception contains ["lifecycle"] if startswith(input.metadata.name, "exempt-")

warn contains {"msg": msg, "details": {"kind": input.kind}} if {
	startswith(input.metadata.name, "legacy-")
	msg := sprintf("%s is a legacy name", [input.metadata.name])
}

violation_license contains msg if {
	input.bomFormat == "CycloneDX"
	some c in input.components
	not c.licenses
	msg := sprintf("component %s has no license", [c.name])
}
"""

TEAM_POLICY = """package team.templates

import rego.v1

warn_steps contains msg if {
	input.kind == "Template"
	some step in input.spec.steps
	startswith(step.action, "debug:")
	msg := sprintf("template %s runs %s", [input.metadata.name, step.action])
}
"""

COMBINED_POLICY = """package main

import rego.v1

components := [d | some d in input; d.contents.kind == "Component"]

deny contains msg if {
	names := [c.contents.metadata.name | some c in components]
	count(names) != count({n | some n in names})
	msg := "two components share a name"
}

deny contains msg if {
	some c in components
	not c.contents.spec.system
	msg := sprintf("%s in %s has no system", [c.contents.metadata.name, c.path])
}
"""


def _template(name: str, actions: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": name, "description": "A service"},
        "spec": {
            "owner": "group:platform",
            "type": "service",
            "steps": [{"id": f"s{i}", "name": a, "action": a, "input": {}} for i, a in enumerate(actions)],
        },
    }


def _inputs(root: Path) -> list[str]:
    """Generated inputs of every shape the rules meet: single and multi-document YAML, a
    template, a CycloneDX JSON SBOM; paths relative to root, as both tools are given them."""
    write_yaml(root / "svc/catalog-info.yaml", component_entity("payments", owner=None))
    write_yaml(
        root / "svc/more.yaml",
        component_entity("legacy-billing", lifecycle="retired"),
        component_entity("exempt-search", lifecycle="retired", owner=None),
        {**component_entity("orders"), "kind": "API"},
    )
    write_yaml(root / "tpl/template.yaml", _template("service", ["fetch:template", "debug:log"]))
    write_json(
        root / "sbom/bom.cdx.json",
        cyclonedx_bom([npm_component("left-pad", "1.3.0", None), npm_component("lodash", "4.17.21")]),
    )
    return ["svc/catalog-info.yaml", "svc/more.yaml", "tpl/template.yaml", "sbom/bom.cdx.json"]


def _policy(root: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (root / "policy" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "policy" / name).write_text(text, encoding="utf-8")
    return "policy"


def _conftest(root: Path, files: list[str], *extra: str) -> set[tuple[str, str]]:
    """(file, message) of every failure and warning of `conftest test`."""
    binary = require_binary("conftest")
    proc = subprocess.run(
        [binary, "test", "--no-color", "--output", "json", "--policy", "policy", *extra, *files],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    found: set[tuple[str, str]] = set()
    for result in json.loads(proc.stdout):
        for item in (result.get("failures") or []) + (result.get("warnings") or []):
            found.add((result["filename"], item["msg"]))
    return found


@pytest.fixture(params=ENGINES)
def engine_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """The `gate check` options of each engine; for opa-server, a server the policies are pushed to."""
    if request.param == "embedded":
        yield ("--engine", "embedded")
    elif request.param == "opa":
        yield ("--engine", "opa", "--opa-path", require_binary("opa"))
    else:
        require_binary("opa")
        with opa_server(tmp_path / "opa-server") as server:
            yield ("--engine", "opa-server", "--opa-url", server.url)


def _gate(root: Path, files: list[str], engine: tuple[str, ...], *extra: str) -> list[dict[str, Any]]:
    """The findings of `gate check` from conftest-style rules (their subject is a file)."""
    if "opa-server" in engine:
        url = engine[engine.index("--opa-url") + 1]
        push = run_gate("policy", "push", "--opa-url", url, "--policy", "policy", *extra, cwd=root)
        assert push.code == 0, push.stderr
    run = run_gate(
        "check", *files, "--policy", "policy", *engine, *extra, "--format", "json", "--no-audit", cwd=root
    )
    assert run.code in (0, 1), run.stderr
    return [f for f in run.json()["findings"] if f["subject"]["kind"] == "file"]


def _as_conftest(finding: dict[str, Any]) -> tuple[str, str]:
    """A finding as conftest prints it: a message whose `[ID]` prefix named the check keeps it."""
    message = finding["message"]
    if not finding["check"].startswith("CONFTEST-"):
        message = f"[{finding['check']}] {message}"
    return (finding["subject"]["path"] or "Combined", message)


def test_conftest_rules_find_what_conftest_finds(tmp_path: Path, engine_args: tuple[str, ...]) -> None:
    files = _inputs(tmp_path)
    _policy(tmp_path, {"main.rego": MAIN_POLICY, "team/templates.rego": TEAM_POLICY})
    expected = _conftest(tmp_path, files, "--all-namespaces")
    # The fixture means something: each rule fired, and the exception held one message back.
    assert len(expected) == 6
    assert not any("exempt-search has no known" in m for _, m in expected)
    findings = _gate(tmp_path, files, engine_args)
    assert {_as_conftest(f) for f in findings} == expected
    checks = {(f["check"], f["severity"]) for f in findings}
    assert checks == {
        ("CONFTEST-MAIN-DENY", "high"),
        ("ACME-LIFECYCLE", "high"),
        ("CONFTEST-MAIN-WARN", "low"),
        ("CONFTEST-MAIN-VIOLATION-LICENSE", "high"),
        ("CONFTEST-TEAM-TEMPLATES-WARN-STEPS", "low"),
    }
    # The subject is the file, at the document's first line.
    lines = {f["subject"]["line"] for f in findings if f["message"] == "exempt-search has no owner"}
    assert lines == {(tmp_path / "svc/more.yaml").read_text().splitlines().index("---") + 2}


K8S_POLICY = """package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	some c in input.spec.template.spec.containers
	not c.securityContext.runAsNonRoot
	msg := sprintf("%s: container %s must set runAsNonRoot", [input.metadata.name, c.name])
}

warn contains msg if {
	input.replicas < 2
	msg := "fewer than two replicas"
}
"""


def _deployment(name: str, non_root: bool) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1"}
    if non_root:
        container["securityContext"] = {"runAsNonRoot": True}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def test_conftest_rules_see_files_that_are_not_governance_inputs(
    tmp_path: Path, engine_args: tuple[str, ...]
) -> None:
    """A conftest policy folder written for Kubernetes manifests and plain JSON finds under
    `gate check` what `conftest test` finds, in a folder walk as for files named one by one."""
    write_yaml(tmp_path / "deploy/app.yaml", _deployment("api", False), _deployment("worker", True))
    write_json(tmp_path / "deploy/values.json", {"replicas": 1})
    files = ["deploy/app.yaml", "deploy/values.json"]
    _policy(tmp_path, {"main.rego": K8S_POLICY})
    expected = _conftest(tmp_path, files)
    assert expected == {
        ("deploy/app.yaml", "api: container app must set runAsNonRoot"),
        ("deploy/values.json", "fewer than two replicas"),
    }
    assert {_as_conftest(f) for f in _gate(tmp_path, files, engine_args)} == expected
    assert {_as_conftest(f) for f in _gate(tmp_path, ["deploy"], engine_args)} == expected


def test_combined_input_is_conftests(tmp_path: Path, engine_args: tuple[str, ...]) -> None:
    write_yaml(tmp_path / "a/catalog-info.yaml", component_entity("payments", system=None))
    write_yaml(tmp_path / "b/catalog-info.yaml", component_entity("payments"), component_entity("orders"))
    files = ["a/catalog-info.yaml", "b/catalog-info.yaml"]
    _policy(tmp_path, {"main.rego": COMBINED_POLICY})
    expected = _conftest(tmp_path, files, "--combine")
    assert expected == {
        ("Combined", "two components share a name"),
        ("Combined", "payments in a/catalog-info.yaml has no system"),
    }
    findings = _gate(tmp_path, files, engine_args, "--combine")
    assert {_as_conftest(f) for f in findings} == expected


def test_a_rule_that_is_not_a_set_of_messages_blocks(tmp_path: Path) -> None:
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    _policy(tmp_path, {"main.rego": "package main\n\ndeny := true\n"})
    run = run_gate(
        "check", "catalog-info.yaml", "--policy", "policy", "--env", "prod", "--format", "json",
        "--policy-digest", policy_digest([tmp_path / "policy"]), cwd=tmp_path,
    )  # fmt: skip
    found = [f for f in run.json()["findings"] if f["check"] == "CONFTEST-MAIN-DENY"]
    assert [f["action"] for f in found] == ["block"], run.stdout
    assert "is a boolean, not a set of messages" in found[0]["message"]
    assert run.code == 1


# --------------------------------------------------------------------------- Rego v0, syntax errors

V0_POLICY = 'package main\n\ndeny[msg] {\n\tinput.kind == "Component"\n\tmsg := "old syntax"\n}\n'
BROKEN_POLICY = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg :=\n}\n"


def _check_one(root: Path, engine: str, fmt: str = "json") -> tuple[int, str, str]:
    opa = ("--opa-path", require_binary("opa")) if engine == "opa" else ()
    run = run_gate(
        "check", "catalog-info.yaml", "--policy", "policy", "--engine", engine, *opa, "--env", "prod",
        "--format", fmt, "--policy-digest", policy_digest([root / "policy"]), cwd=root,
    )  # fmt: skip
    return run.code, run.stdout, run.stderr


def test_v0_syntax_is_refused_alike_by_every_engine(tmp_path: Path) -> None:
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    _policy(tmp_path, {"main.rego": V0_POLICY})
    runs = {engine: _check_one(tmp_path, engine) for engine in ("embedded", "opa")}
    for code, stdout, stderr in runs.values():
        assert (code, stdout) == (2, ""), stderr
        assert len(stderr.strip().splitlines()) == 1
    assert runs["embedded"][2] == runs["opa"][2]
    line = runs["embedded"][2]
    assert "policy/main.rego" in line and "line 3" in line and "Rego v0 syntax" in line
    assert "opa fmt --v0-v1" in line


@pytest.mark.parametrize("fmt", ["json", "sarif"])
@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_a_syntax_error_stays_off_stdout(tmp_path: Path, engine: str, fmt: str) -> None:
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    _policy(tmp_path, {"main.rego": BROKEN_POLICY})
    code, stdout, stderr = _check_one(tmp_path, engine, fmt)
    assert code == 3
    report = json.loads(stdout)  # the report alone: no engine diagnostics around it
    assert report
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "policy does not compile" in stderr and "main.rego" in stderr


def test_a_boolean_conftest_rule_is_refused(tmp_path: Path) -> None:
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    _policy(tmp_path, {"main.rego": 'package main\n\nimport rego.v1\n\ndeny if input.kind == "Component"\n'})
    code, stdout, stderr = _check_one(tmp_path, "embedded")
    assert (code, stdout) == (2, "")
    assert "`deny if`" in stderr and "deny contains msg if" in stderr and "line 5" in stderr
