"""Golden reports in every machine format, each validated against its format's schema.

Two sources: decisions built in code (tests/gate/report/support.py), rendered with a fixed source root,
and the example service through a real `gate check` subprocess that writes every format from one
evaluation. Golden files are compared exactly; after an intended change regenerate them with
`GATE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/gate/report` and review the diff. In the example's
reports the audit record digest (new for every record), the policy and input digests and the engine
version are replaced by placeholders, so the files change only when the reports do.

SARIF files are also checked by Microsoft's SARIF Multitool (`validate`, with the GitHub code
scanning rules as errors), installed from npm by scripts/install-node-tools.sh: missing, the test
fails in CI and is skipped on a laptop.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gate.decision import Decision
from gate.report.base import Refusal, Reporter
from gate.report.github import GithubReporter, refusal_summary, step_summary
from gate.report.gitlab import GitlabReporter
from gate.report.json import JsonReporter
from gate.report.junit import JunitReporter
from gate.report.sarif import SarifReporter
from gate.report.text import TextReporter
from tests.gate.report.support import (
    GOLDEN,
    HERE,
    REPO,
    SCHEMAS,
    check_golden,
    config_refusal,
    error_decision,
    input_refusal,
    multitool_package,
    pass_decision,
    require_multitool,
    sample_decision,
)
from tests.helpers import ROOT, run_gate

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
SUFFIX = {"sarif": ".sarif", "junit": ".junit.xml", "github": ".github.txt", "gitlab": ".gitlab.json"}
DECISIONS: dict[str, Callable[[], Decision]] = {
    "sample": sample_decision,
    "error": error_decision,
    "pass": pass_decision,
}


def _reporter(fmt: str) -> Reporter:
    reporters: dict[str, Reporter] = {
        "sarif": SarifReporter(REPO),
        "junit": JunitReporter(REPO),
        "github": GithubReporter(REPO),
        "gitlab": GitlabReporter(REPO),
    }
    return reporters[fmt]


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_built_decision(name: str, fmt: str) -> None:
    check_golden(f"{name}{SUFFIX[fmt]}", _reporter(fmt).render(DECISIONS[name](), color=False))


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_built_decision_job_summary(name: str) -> None:
    check_golden(f"{name}.summary.md", step_summary(DECISIONS[name](), REPO))


REFUSALS: dict[str, Callable[[], Refusal]] = {
    "refused-input": input_refusal,
    "refused-config": config_refusal,
}
REFUSAL_SUFFIX = {**SUFFIX, "json": ".json", "text": ".txt"}


@pytest.mark.parametrize("fmt", sorted(REFUSAL_SUFFIX))
@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusal(name: str, fmt: str) -> None:
    """A check that ended before a decision, in every format, each valid against its schema."""
    reporters: dict[str, Reporter] = {"json": JsonReporter(), "text": TextReporter()}
    reporter = reporters.get(fmt) or _reporter(fmt)
    check_golden(f"{name}{REFUSAL_SUFFIX[fmt]}", reporter.render_refusal(REFUSALS[name]()))


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusal_job_summary(name: str) -> None:
    check_golden(f"{name}.summary.md", refusal_summary(REFUSALS[name]()))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `gate check` of the example in prod: github on stdout, every other format by --report,
    the job summary and step outputs into files, a fresh audit log."""
    tmp = tmp_path_factory.mktemp("example")
    files = {fmt: tmp / f"report{suffix}" for fmt, suffix in SUFFIX.items() if fmt != "github"}
    files["json"] = tmp / "decision.json"
    args: list[str | Path] = ["check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--format", "github"]
    for fmt, path in files.items():
        args += ["--report", f"{fmt}={path}"]
    env = {
        "GATE_TIME": "2026-11-23T12:00:00Z",
        "GATE_AUDIT_LOG": str(tmp / "log"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_OUTPUT": str(tmp / "output.txt"),
    }
    run = run_gate(*args, env=env)
    assert run.code == 1, run.stderr
    assert run.stderr == "", run.stderr
    decision = json.loads(files["json"].read_text(encoding="utf-8"))
    placeholders = {
        decision["audit"]["record"]: "sha256:AUDIT-RECORD",
        decision["policy"]["digest"]: "sha256:POLICY-DIGEST",
        decision["input"]["digest"]: "sha256:INPUT-DIGEST",
        decision["engine"]["version"]: "ENGINE-VERSION",
    }

    def normal(text: str) -> str:
        for real, placeholder in placeholders.items():
            text = text.replace(real, placeholder)
        return text

    texts = {fmt: files[fmt].read_text(encoding="utf-8") for fmt in SUFFIX if fmt != "github"}
    texts["github"] = run.stdout
    return {
        "raw": texts,
        "normal": {fmt: normal(text) for fmt, text in texts.items()},
        "summary": normal((tmp / "summary.md").read_text(encoding="utf-8")),
        "output": (tmp / "output.txt").read_text(encoding="utf-8"),
        "decision": decision,
    }


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_example(example: dict[str, Any], fmt: str) -> None:
    check_golden(f"payments-api-prod{SUFFIX[fmt]}", example["normal"][fmt])


def test_example_job_summary(example: dict[str, Any]) -> None:
    check_golden("payments-api-prod.summary.md", example["summary"])


def test_example_reports_come_from_one_evaluation(example: dict[str, Any]) -> None:
    record = example["decision"]["audit"]["record"]
    assert record.startswith("sha256:")
    raw = example["raw"]
    assert json.loads(raw["sarif"])["runs"][0]["properties"]["audit"]["record"] == record
    assert f'name="audit.record" value="{record}"' in raw["junit"]
    assert example["output"] == f"outcome=block\nrecord={record}\n"
    fingerprints = [issue["fingerprint"] for issue in json.loads(raw["gitlab"])]
    sarif_prints = [
        r["partialFingerprints"]["govgateFindingHash/v1"]
        for r in json.loads(raw["sarif"])["runs"][0]["results"]
    ]
    assert fingerprints == sarif_prints and len(set(fingerprints)) == len(example["decision"]["findings"])


def test_sarif_schema_is_the_npm_package_copy() -> None:
    require_multitool()
    shipped = (multitool_package() / "sarif-2.1.0.json").read_bytes()
    assert (SCHEMAS / "sarif-2.1.0.json").read_bytes() == shipped


def _multitool_findings(exe: Path, sarif: Path, out: Path) -> list[tuple[str, str, str]]:
    run = subprocess.run(
        [
            str(exe),
            "validate",
            str(sarif),
            "--output",
            str(out),
            "--log",
            "ForceOverwrite",
            "--config",
            str(HERE / "sarif-multitool.config.xml"),
            "--rule-kind",
            "Sarif;Gh",
            "--level",
            "Error;Warning;Note",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    log = json.loads(out.read_text(encoding="utf-8-sig"))
    found: list[tuple[str, str, str]] = []
    for r in log["runs"][0].get("results", []):
        message = r["message"]
        found.append(
            (r["ruleId"], r.get("level", "warning"), str(message.get("text") or message.get("arguments")))
        )
    return found


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*.sarif")))
def test_sarif_multitool_accepts(golden: str, tmp_path: Path) -> None:
    exe = require_multitool()
    found = _multitool_findings(exe, GOLDEN / golden, tmp_path / "validation.sarif")
    serious = [f for f in found if f[1] in ("error", "warning")]
    assert serious == [], serious


def test_sarif_multitool_catches_what_code_scanning_rejects(tmp_path: Path) -> None:
    exe = require_multitool()
    bad = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "ruleId": "X",
                        "message": {"text": "m."},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "file:///abs/x.yaml"}}}
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "bad.sarif"
    path.write_text(json.dumps(bad), encoding="utf-8")
    rules = {
        rule for rule, level, _ in _multitool_findings(exe, path, tmp_path / "out.sarif") if level == "error"
    }
    assert {"GH1003", "GH1006"} <= rules
