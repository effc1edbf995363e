"""The gate end to end on the example service, as a real subprocess and through click's runner."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli.main import main
from gate.trust import policy_digest
from tests.helpers import ROOT, Run, component_entity, example_pins, run_gate, write_yaml

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _check(env_name: str, *extra: str) -> tuple[int, dict[str, object]]:
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", env_name, "--format", "json", *extra, env=PINNED
    )
    assert run.stderr == "", run.stderr
    return run.code, run.json()


def _keys(decision: dict[str, object]) -> set[tuple[str, str, str | None]]:
    findings = decision["findings"]
    assert isinstance(findings, list)
    return {(f["check"], f["action"], f["subject"]["ref"]) for f in findings}


def test_dev_warns_and_exits_0() -> None:
    code, decision = _check("dev")
    assert code == 0
    assert decision["outcome"] == "warn"
    assert decision["summary"]["block"] == 0  # type: ignore[index]
    assert ("SBOM-VULN-HIGH", "warn", "CVE-2021-23337") in _keys(decision)


def test_prod_blocks_and_exits_1() -> None:
    code, decision = _check("prod")
    assert code == 1
    assert decision["outcome"] == "block"
    keys = _keys(decision)
    assert ("SBOM-VULN-HIGH", "block", "CVE-2021-23337") in keys
    assert any(c == "TEMPLATE-ACTIONS-ALLOWED" and a == "block" for c, a, _ in keys)
    # VEX: the axios advisory is marked not_affected and must not be reported.
    assert not any(ref == "CVE-2024-39338" for _, _, ref in keys)
    # The waiver in examples/payments-api/waivers.yaml applies.
    waived = [f for f in decision["findings"] if f["action"] == "waived"]  # type: ignore[attr-defined]
    assert [(f["check"], f["waiver"]["id"]) for f in waived] == [("CATALOG-OWNER-GROUP", "W-101")]
    # CATALOG-TECHDOCS is switched off in examples/gate.yaml.
    assert not any(c == "CATALOG-TECHDOCS" for c, _, _ in keys)
    assert decision["inputs"] == {
        "templates": 1,
        "catalog": 2,
        "sboms": 1,
        "signatures": 0,
        "attestations": 0,
    }
    assert decision["engine"]["name"] == "embedded"  # type: ignore[index]


def test_text_report_tells_what_broke_and_how_to_fix() -> None:
    run = run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "prod", env=PINNED)
    assert run.code == 1
    assert "BLOCKING" in run.stdout and "WARNINGS" in run.stdout and "WAIVED" in run.stdout
    assert "examples/payments-api/template.yaml:" in run.stdout  # file:line of the step
    assert "acme:vault:provision" in run.stdout
    assert "fix: " in run.stdout
    assert run.stdout.rstrip().splitlines()[-2].startswith("govgate: BLOCK in prod")


def test_the_same_inputs_give_the_same_digests() -> None:
    _, a = _check("prod")
    _, b = _check("prod")
    assert a["input"] == b["input"] and a["policy"] == b["policy"]
    _, c = _check("dev")
    assert c["input"] != a["input"]  # the environment is part of the context


def test_report_file_matches_stdout(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "decision.json"
    code, decision = _check("prod", "--report", f"json={out}")
    assert code == 1
    assert json.loads(out.read_text()) == decision


def _check_prod_with_policy(cat: Path, pol: Path) -> Run:
    """`gate check` in prod with a user policy folder, pinned after review, from the file's folder."""
    return run_gate(
        "check", cat, "--policy", pol, "--policy-digest", policy_digest([pol]), "--env", "prod",
        "--format", "json", cwd=cat.parent,
    )  # fmt: skip


def test_engine_failure_in_prod_exits_3_and_never_passes(tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "broken.rego").write_text(
        "package gate.checks.custom.broken\n\n"
        'meta := {"id": "CUSTOM-BROKEN", "title": "t", "severity": "low", "remediation": "r"}\n\n'
        'violation contains {"msg": "m", "subject": {"kind": "input", "path": null, "ref": null, "line": null}} if {\n'
        '\tto_number("not a number") > 1\n'
        "}\n"
    )
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = _check_prod_with_policy(cat, pol)
    assert run.code == 3
    assert run.json()["outcome"] == "error"
    assert "evaluation failed" in run.stderr and "--engine opa" in run.stderr


def test_conftest_style_user_policy(tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "main.rego").write_text(
        "package main\n\n"
        'deny contains msg if {\n\tnot input.spec.system\n\tmsg := sprintf("%s has no system", [input.metadata.name])\n}\n'
    )
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity(system=None))
    run = _check_prod_with_policy(cat, pol)
    found = [f for f in run.json()["findings"] if f["check"] == "CONFTEST-MAIN-DENY"]
    assert [(f["severity"], f["action"], f["message"], f["subject"]["kind"]) for f in found] == [
        ("high", "block", "payments has no system", "file")
    ]
    assert run.code == 1


def test_clean_service_passes(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate("check", tmp_path, "--env", "prod", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stdout
    assert run.json()["outcome"] == "pass" and run.json()["findings"] == []
    assert cat.exists()


def test_help_through_click_runner() -> None:
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    assert "Exit codes: 0 pass or warn, 1 blocked" in result.output


def test_bad_report_spec_is_usage_error(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate("check", cat, "--report", "pdf=out.pdf", cwd=tmp_path)
    assert run.code == 2 and "FORMAT=FILE" in run.stderr


@pytest.mark.slow
def test_wheel_ships_policies_and_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("govgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gate/policies/gate/main.rego" in names
    shipped = {
        f"gate/schema_files/{p.relative_to(ROOT / 'schemas').as_posix()}"
        for p in (ROOT / "schemas").rglob("*.json")
    }
    assert "gate/schema_files/backstage/Entity.schema.json" in shipped
    assert "gate/schema_files/backstage-entity-policies.schema.json" in shipped
    assert shipped <= names  # every schema file, beside the validator module that reads them
    assert "gate/schemas.py" in names
    # every module of both packages, each room of the gate included (gate/cli/, gate/policy/, ...)
    modules = {
        p.relative_to(ROOT).as_posix() for top in ("gate", "audit") for p in (ROOT / top).rglob("*.py")
    }
    assert "gate/cli/main.py" in modules and "gate/policy/test.py" in modules
    assert modules <= names
    assert "gate/py.typed" in names and "audit/py.typed" in names  # typed packages (PEP 561)
    assert not any(n.endswith("_test.rego") and not n.startswith("gate/policies/") for n in names)


def _pages() -> list[Path]:
    """The README and every page of docs/: where the commands users copy are shown."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_pins_the_docs_and_the_workflow_show_are_the_examples() -> None:
    """The README's prod command, the docs' and this repository's workflow pin the example's digests:
    they must be the digests of the files as they are, or the commands shown would be refused."""
    pins = example_pins()
    shown = [p for p in _pages() if "--config examples/gate.yaml --env prod" in p.read_text(encoding="utf-8")]
    assert ROOT / "README.md" in shown
    for page in (*shown, ROOT / ".github" / "workflows" / "govgate-pull-request.yml"):
        text = page.read_text(encoding="utf-8")
        assert pins["GATE_CONFIG_DIGEST"] in text, page
        assert pins["GATE_WAIVERS_DIGEST"] in text, page


def test_every_prod_check_of_the_example_the_docs_show_pins_it() -> None:
    shown = [
        (page, line)
        for page in _pages()
        for line in page.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
        if "--config examples/gate.yaml --env prod" in line
    ]
    assert len(shown) >= 3 and any(page.name == "README.md" for page, _ in shown)
    pins = example_pins()
    for page, line in shown:
        assert f"--config-digest {pins['GATE_CONFIG_DIGEST']}" in line, (page, line)
        assert f"--waivers-digest {pins['GATE_WAIVERS_DIGEST']}" in line, (page, line)


def test_the_readmes_prod_command_blocks_as_shown() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(".venv/bin/gate check examples/payments-api --config examples/gate.yaml --env prod")
    command = readme[start : readme.index("```", start)].replace("\\\n", " ").split()
    assert command[0] == ".venv/bin/gate"
    run = run_gate(*command[1:], env={**PINNED, "GATE_CONFIG_DIGEST": "", "GATE_WAIVERS_DIGEST": ""})
    assert run.code == 1, run.stderr
    assert "BLOCKING (2)" in run.stdout
