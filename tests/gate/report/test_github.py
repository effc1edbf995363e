"""The github format: workflow-command escaping, the 10-per-kind annotation limit, the job summary
and the step outputs (the last two also through a real `gate check`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gate.decision import Action, Finding, Outcome, Subject
from gate.report.github import (
    ANNOTATIONS_PER_KIND,
    SUMMARY_LIMIT,
    GithubReporter,
    escape_data,
    escape_property,
    output_line,
    outputs,
    publish,
    step_summary,
)
from tests.gate.report.support import HOSTILE, REPO, decision, finding, sample_decision
from tests.helpers import ROOT, component_entity, run_gate, write_yaml

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
COMMAND = re.compile(r"^::(error|warning|notice)( [^:]*)?::(.*)$")


def _unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c 5%\n") == "a%3Ab%2Cc 5%25%0A"
    assert escape_data("%0A") == "%250A"  # an escape sequence in the data stays literal
    assert _unescape(escape_property("x%3A:,\r\n%")) == "x%3A:,\r\n%"


def test_a_hostile_message_stays_one_annotation_and_round_trips() -> None:
    f = finding(
        "CONFTEST-MAIN-DENY",
        Action.WARN,
        "high",
        HOSTILE,
        Subject("catalog", "odd, name: 100%.yaml", "a,b", 3),
        title="title: with, commas",
        remediation="",
    )
    out = GithubReporter(REPO).render(decision([f], Outcome.WARN), color=False)
    lines = out.splitlines()
    assert len(lines) == 2  # the annotation and the closing line: no injected command
    m = COMMAND.match(lines[0])
    assert m and m.group(1) == "warning"
    props = dict(p.split("=", 1) for p in m.group(2).strip().split(","))
    assert _unescape(props["file"]) == "odd, name: 100%.yaml"
    assert props["line"] == "3"
    assert _unescape(props["title"]) == "CONFTEST-MAIN-DENY (high): title: with, commas"
    # Control characters are shown, not sent to the log; everything else comes back intact.
    assert _unescape(m.group(3)) == HOSTILE.replace("\x1b", "\\x1b") + " [a,b]"
    assert "\x1b" not in out


def _many(blocks: int, warns: int, waived: int) -> list[Finding]:
    found: list[Finding] = []
    for i in range(blocks):
        sev = "critical" if i < 3 else "high"
        found.append(
            finding(f"SBOM-B{i:02d}", Action.BLOCK, sev, f"block {i}", Subject("sbom", "s.json", None, i + 1))
        )
    for i in range(warns):
        found.append(
            finding(
                f"CATALOG-W{i:02d}",
                Action.WARN,
                "low",
                f"warn {i}",
                Subject("catalog", "c.yaml", None, i + 1),
            )
        )
    for i in range(waived):
        found.append(
            finding(
                f"CATALOG-X{i:02d}",
                Action.WAIVED,
                "low",
                f"waived {i}",
                Subject("catalog", "c.yaml", None, 1),
            )
        )
    return found


def test_at_most_ten_annotations_per_kind_most_severe_first() -> None:
    d = decision(_many(13, 12, 3))
    lines = GithubReporter(REPO).render(d, color=False).splitlines()
    kinds = [m.group(1) if (m := COMMAND.match(ln)) else "plain" for ln in lines]
    assert kinds.count("error") == ANNOTATIONS_PER_KIND == kinds.count("warning")
    assert kinds.count("notice") == 3
    # Errors come first, the three critical ones before the high ones; then warnings, then notices.
    annotated = [k for k in kinds if k != "plain"]
    assert annotated == ["error"] * 10 + ["warning"] * 10 + ["notice"] * 3
    assert all("(critical)" in ln for ln in lines[:3])
    # The findings past the limit are still in the log, as plain lines that are not commands.
    plain = [ln for ln in lines[:-1] if not ln.startswith("::")]
    assert len(plain) == 5 and all(ln.startswith("govgate: ") for ln in plain)
    assert lines[-1] == (
        "govgate: BLOCK in prod: 13 blocking, 12 warnings, 3 waived; 5 not annotated (GitHub shows 10"
        " errors, 10 warnings and 10 notices per step): they are listed above and in the job summary"
    )


def test_outside_and_missing_files_are_not_given_to_github() -> None:
    found = [
        finding("SBOM-A", Action.BLOCK, "high", "m", Subject("sbom", "/elsewhere/bom.json", None, 4)),
        finding("SIG-PRESENT", Action.BLOCK, "high", "no signature", Subject("signature", None, None, None)),
        finding("SBOM-B", Action.BLOCK, "high", "inside", Subject("sbom", str(REPO / "a/b.json"), None, 7)),
    ]
    lines = GithubReporter(REPO).render(decision(found), color=False).splitlines()
    by_check = {re.search(r"title=([A-Z-]+)", ln).group(1): ln for ln in lines if ln.startswith("::")}  # type: ignore[union-attr]
    assert "file=" not in by_check["SBOM-A"] and "(file /elsewhere/bom.json)" in by_check["SBOM-A"]
    assert "file=" not in by_check["SIG-PRESENT"]
    assert "file=a/b.json,line=7," in by_check["SBOM-B"]


def test_error_outcome_is_an_error_annotation() -> None:
    d = decision([], Outcome.ERROR, error="engine died\n::warning::x")
    first = GithubReporter(REPO).render(d, color=False).splitlines()[0]
    assert first == "::error title=govgate::the gate could not decide: engine died%0A::warning::x"


def test_job_summary_lists_findings_with_fixes_and_the_record() -> None:
    text = step_summary(sample_decision(), REPO)
    assert text.startswith("## govgate: BLOCK in prod\n")
    assert "| ✖ block | TEMPLATE-ACTIONS-ALLOWED | high | templates/service/template.yaml:50 |" in text
    assert "| Use an allowed action instead. |" in text
    assert "waived by W-7 (owner team-payments, expires 2027-01-31)" in text
    assert "**Audit record:** `sha256:" + "c" * 64 + "` (index 41, signer local)" in text
    # A hostile message cannot break the table or inject HTML.
    row = next(ln for ln in text.splitlines() if "CONFTEST-MAIN-DENY" in ln)
    assert row.count(" | ") == 5 and "<script>" not in row and "\\|" in row


def test_job_summary_is_truncated_under_the_limit_with_a_note() -> None:
    long = "x" * 700
    found = [
        finding(
            "SBOM-VULN-HIGH",
            Action.BLOCK,
            "high",
            f"{i} {long}",
            Subject("sbom", f"bom{i}.json", f"CVE-{i}", i + 1),
        )
        for i in range(1500)
    ]
    d = decision(found)
    text = step_summary(d, REPO)
    size = len(text.encode("utf-8"))
    assert SUMMARY_LIMIT // 2 < size <= SUMMARY_LIMIT < 1024 * 1024
    rows = [ln for ln in text.splitlines() if ln.startswith("| ✖ block |")]
    m = re.search(r"_(\d+) more findings are not shown here", text)
    assert m and len(rows) + int(m.group(1)) == 1500
    # The rows kept are the first findings, in the decision's order.
    assert all(
        f" | {f.subject.path}:{f.subject.line} | " in row for row, f in zip(rows, d.findings, strict=False)
    )
    assert "**Audit record:** `sha256:" in text  # the record survives the cut
    # A smaller budget cuts more, and a single enormous message is shortened, not dropped.
    small = step_summary(decision(found[:3]), REPO, limit=4096)
    assert len(small.encode("utf-8")) <= 4096 and "more findings are not shown" not in small
    huge = finding("SBOM-X", Action.BLOCK, "high", "y" * 100_000, Subject("sbom", "b.json", None, 1))
    one = step_summary(decision([huge]), REPO)
    assert "| ✖ block | SBOM-X |" in one and len(one) < 3000


def test_outputs_and_multiline_values() -> None:
    assert outputs(sample_decision()) == f"outcome=block\nrecord=sha256:{'c' * 64}\n"
    assert outputs(decision([], Outcome.ERROR, error="x", audit=False)) == "outcome=error\nrecord=\n"
    value = "line one\nline two"
    entry = output_line("detail", value)
    head, rest = entry.split("\n", 1)
    name, delimiter = head.split("<<")
    assert name == "detail" and delimiter.startswith("ghadelimiter_")
    assert rest == f"{value}\n{delimiter}\n"


def test_publish_appends_and_reports_what_it_cannot_write(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    problems = publish(
        sample_decision(), {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path)}, REPO
    )
    assert summary.read_text(encoding="utf-8").startswith("earlier step\n## govgate: BLOCK in prod\n")
    assert len(problems) == 1 and problems[0].startswith(f"cannot append to $GITHUB_OUTPUT ({tmp_path})")
    assert publish(sample_decision(), {}, REPO) == []


def _example(tmp_path: Path, *args: str, env_name: str = "prod") -> tuple[int, str, str, Path, Path]:
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    output.write_text("earlier=1\n", encoding="utf-8")
    run = run_gate(
        "check",
        EXAMPLE,
        "--config",
        CONFIG,
        "--env",
        env_name,
        *args,
        env={
            "GATE_TIME": "2026-11-23T12:00:00Z",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
        },
    )
    return run.code, run.stdout, run.stderr, summary, output


def test_gate_check_github_writes_summary_and_outputs(tmp_path: Path) -> None:
    code, stdout, stderr, summary, output = _example(
        tmp_path, "--format", "github", "--report", f"json={tmp_path / 'd.json'}"
    )
    assert code == 1, stderr
    record = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["audit"]["record"]
    assert output.read_text(encoding="utf-8") == f"earlier=1\noutcome=block\nrecord={record}\n"
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## govgate: BLOCK in prod\n")
    assert f"**Audit record:** `{record}`" in text
    assert "| ✖ block | TEMPLATE-ACTIONS-ALLOWED | high | examples/payments-api/template.yaml:50 |" in text
    assert stdout.splitlines()[0].startswith("::error file=examples/payments-api/sbom.cdx.json,")


def test_gate_check_github_as_a_report_file_also_publishes(tmp_path: Path) -> None:
    code, stdout, _, summary, output = _example(
        tmp_path, "--report", f"github={tmp_path / 'gh.txt'}", env_name="dev"
    )
    assert code == 0
    assert stdout.splitlines()[-1].startswith("govgate: WARN in dev")  # text on stdout
    assert (tmp_path / "gh.txt").read_text(encoding="utf-8").startswith("::warning ")
    assert output.read_text(encoding="utf-8").startswith("earlier=1\noutcome=warn\nrecord=sha256:")
    assert summary.read_text(encoding="utf-8").startswith("## govgate: WARN in dev\n")


def test_other_formats_leave_github_files_alone(tmp_path: Path) -> None:
    code, _, _, summary, output = _example(tmp_path, "--format", "sarif")
    assert code == 1
    assert not summary.exists() and output.read_text(encoding="utf-8") == "earlier=1\n"


def test_unwritable_github_output_is_a_warning_not_a_new_outcome(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate(
        "check",
        cat,
        "--env",
        "prod",
        "--format",
        "github",
        cwd=tmp_path,
        env={"GITHUB_OUTPUT": str(tmp_path)},
    )
    assert run.code == 0, run.stderr
    assert "gate: warning: cannot append to $GITHUB_OUTPUT" in run.stderr
    assert run.stdout == "govgate: PASS in prod: 0 blocking, 0 warnings, 0 waived; all annotated\n"


@pytest.mark.parametrize("limit", [2048, 10_000])
def test_summary_never_exceeds_its_limit(limit: int) -> None:
    found = [
        finding("SBOM-VULN-HIGH", Action.WARN, "high", "é" * 300, Subject("sbom", f"b{i}.json", None, None))
        for i in range(200)
    ]
    assert len(step_summary(decision(found, Outcome.WARN), REPO, limit=limit).encode("utf-8")) <= limit
