"""`gate check` that ends before a decision (refused input, bad config): every report format says
why, on stdout and in every `--report` file, with the file and line where they are known."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.gate.report.support import validate
from tests.helpers import run_gate

# A catalog entity whose YAML breaks at line 5 (a sequence item inside a mapping).
BROKEN = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  - name: x\n  name: y\n"
FILES = {
    "sarif": "govgate.sarif",
    "junit": "govgate.junit.xml",
    "gitlab": "gl-code-quality.json",
    "json": "decision.json",
    "text": "govgate.txt",
}
SUFFIX = {"sarif": ".sarif", "junit": ".junit.xml", "gitlab": ".gitlab.json", "json": ".json", "text": ".txt"}


def _refused(tmp_path: Path, *args: str, fmt: str = "github") -> tuple[int, str, str, dict[str, str]]:
    """Run a check in `tmp_path` (the repository root) with every report; return the exit code,
    stdout, stderr, and the report files' texts (plus the job summary and step outputs)."""
    out = tmp_path / "out"
    reports = [a for fmt_, name in FILES.items() for a in ("--report", f"{fmt_}={out / name}")]
    env = {"GITHUB_STEP_SUMMARY": str(out / "summary.md"), "GITHUB_OUTPUT": str(out / "output.txt")}
    out.mkdir()
    run = run_gate("check", *args, "--format", fmt, *reports, cwd=tmp_path, env=env)
    texts = {
        fmt_: (out / name).read_text(encoding="utf-8")
        for fmt_, name in FILES.items()
        if (out / name).exists()
    }
    for name in ("summary.md", "output.txt"):
        if (out / name).exists():
            texts[name] = (out / name).read_text(encoding="utf-8")
    return run.code, run.stdout, run.stderr, texts


def test_a_refused_input_is_reported_in_every_format_at_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(BROKEN, encoding="utf-8")
    code, stdout, stderr, texts = _refused(tmp_path, "catalog-info.yaml", "--env", "prod")
    assert code == 2, stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.strip()]
    assert line.startswith("gate: catalog-info.yaml: malformed YAML at line 5")
    # the annotation GitHub places on the file and line
    first = stdout.splitlines()[0]
    assert first.startswith(
        "::error file=catalog-info.yaml,line=5,title=govgate%3A the gate refused to decide::"
    )
    assert "malformed YAML at line 5" in first
    assert stdout.splitlines()[-1] == "govgate: ERROR in prod: the gate refused to decide (exit 2)"
    assert set(FILES) <= set(texts), "every --report file is written"
    for fmt, text in texts.items():
        if fmt in SUFFIX:
            validate(f"report{SUFFIX[fmt]}", text)
    (run,) = json.loads(texts["sarif"])["runs"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "malformed YAML at line 5" in note["message"]["text"]
    where = note["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "catalog-info.yaml" and where["region"]["startLine"] == 5
    assert run["results"] == [] and run["automationDetails"]["id"] == "govgate/prod/"
    assert '<error type="GateError"' in texts["junit"] and 'errors="1"' in texts["junit"]
    (issue,) = json.loads(texts["gitlab"])
    assert issue["severity"] == "blocker" and issue["location"] == {
        "path": "catalog-info.yaml",
        "lines": {"begin": 5},
    }
    decision = json.loads(texts["json"])
    assert decision["outcome"] == "error" and decision["refusal"]["line"] == 5
    assert decision["error"] == line.removeprefix("gate: ")
    assert texts["text"].startswith(f"error: {decision['error']}\n")
    assert "The gate refused to decide (exit 2):" in texts["summary.md"]
    assert "malformed YAML at line 5" in texts["summary.md"]
    # the record that logged the refusal is named wherever a decision's record is
    record = decision["audit"]["record"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", record), decision["audit"]
    assert texts["output.txt"] == f"outcome=error\nrecord={record}\n"
    assert f"**Audit record:** `{record}` (index {decision['audit']['index']}" in texts["summary.md"]
    assert run["properties"]["audit"]["record"] == record
    assert f'<property name="audit.record" value="{record}"' in texts["junit"]


@pytest.mark.parametrize("fmt", ["sarif", "junit", "gitlab"])
def test_a_bad_config_is_reported_on_stdout(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("require: [sbom, telepathy]\n", encoding="utf-8")
    run = run_gate("check", ".", "--format", fmt, cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert len(run.stderr.splitlines()) == 1 and '"telepathy" is not one of' in run.stderr
    validate(f"stdout{SUFFIX[fmt]}", run.stdout)
    assert "telepathy" in run.stdout and "gate.yaml" in run.stdout


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_text_and_json_say_it_in_the_one_line(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(BROKEN, encoding="utf-8")
    run = run_gate("check", "catalog-info.yaml", "--format", fmt, cwd=tmp_path)
    assert run.code == 2 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and "malformed YAML" in run.stderr
