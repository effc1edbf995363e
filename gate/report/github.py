"""`--format github`: GitHub Actions workflow commands, and the job summary and step outputs.

`render` prints `::error` / `::warning` / `::notice` annotations at each finding's file and line,
most severe first. GitHub shows at most 10 annotations of each kind per step, so findings past that
are printed as plain log lines, and a closing line says how many were not annotated.

`publish` has the side effects `gate check` runs whenever the github format is used: it appends a
Markdown summary to `$GITHUB_STEP_SUMMARY` and `outcome=` / `record=` to `$GITHUB_OUTPUT`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from gate.decision import Action, Decision, Finding
from gate.report.base import Refusal
from gate.report.common import (
    audit_facts,
    display_path,
    place,
    record_facts,
    source_root,
    visible,
    waiver_line,
    with_ref,
)

ANNOTATIONS_PER_KIND = 10
COMMAND = {Action.BLOCK: "error", Action.WARN: "warning", Action.WAIVED: "notice"}
# GitHub refuses a step summary over 1 MiB; stay well under it, leaving room for other steps' text.
SUMMARY_LIMIT = 256 * 1024
CELL_LIMIT = 1000
MARK = {Action.BLOCK: "✖ block", Action.WARN: "▲ warn", Action.WAIVED: "○ waived"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command: `%`, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text)


def _message(f: Finding, outside: str | None) -> str:
    text = with_ref(f) + (f" (file {outside})" if outside else "")
    if f.action is Action.WAIVED:
        text = f"{text}\n{waiver_line(f)}"
    elif f.remediation:
        text = f"{text}\nfix: {f.remediation}"
    return visible(text)


def annotation(f: Finding, root: Path) -> str:
    """The workflow command that annotates one finding (at its file and line when the file is in
    the repository; GitHub cannot place a file outside it, so that path goes into the message)."""
    props: list[str] = []
    p = place(f.subject.path, root)
    if p is not None and p.relative:
        props.append(f"file={escape_property(visible(p.path))}")
        if f.subject.line:
            props.append(f"line={f.subject.line}")
    props.append(f"title={escape_property(visible(f'{f.check} ({f.severity}): {f.title}'))}")
    outside = p.path if p is not None and not p.relative else None
    return f"::{COMMAND[f.action]} {','.join(props)}::{escape_data(_message(f, outside))}"


def _plain(f: Finding, root: Path) -> str:
    where = display_path(f, root) or "(input)"
    if f.subject.line:
        where = f"{where}:{f.subject.line}"
    return _one_line(
        visible(f"govgate: {f.action.value.upper()} {f.check} ({f.severity}) {where}: {with_ref(f)}")
    )


class GithubReporter:
    """Annotations for a GitHub Actions step log; paths relative to `root` (the working directory
    by default, which is $GITHUB_WORKSPACE in a job)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def render(self, decision: Decision, *, color: bool) -> str:
        """Workflow commands, most severe first, then the closing line."""
        root = self.root or source_root()
        lines: list[str] = []
        if decision.error:
            lines.append(
                f"::error title=govgate::{escape_data(visible(f'the gate could not decide: {decision.error}'))}"
            )
        shown = dict.fromkeys(COMMAND.values(), 0)
        hidden = 0
        for f in decision.findings:
            kind = COMMAND[f.action]
            if shown[kind] < ANNOTATIONS_PER_KIND:
                shown[kind] += 1
                lines.append(annotation(f, root))
            else:
                hidden += 1
                lines.append(_plain(f, root))
        s = decision.summary()
        close = (
            f"govgate: {decision.outcome.value.upper()} in {decision.environment}:"
            f" {s['block']} blocking, {s['warn']} warnings, {s['waived']} waived"
        )
        if hidden:
            close += (
                f"; {hidden} not annotated (GitHub shows {ANNOTATIONS_PER_KIND} errors,"
                f" {ANNOTATIONS_PER_KIND} warnings and {ANNOTATIONS_PER_KIND} notices per step):"
                " they are listed above and in the job summary"
            )
        else:
            close += "; all annotated"
        lines.append(_one_line(visible(close)))
        return "\n".join(lines) + "\n"

    def render_refusal(self, refusal: Refusal) -> str:
        """An `::error` annotation with the reason, at the file and line it names when the file
        lies in the repository, then the closing line."""
        props: list[str] = []
        p = place(refusal.path, self.root or source_root())
        if p is not None and p.relative:
            props.append(f"file={escape_property(visible(p.path))}")
            if refusal.line:
                props.append(f"line={refusal.line}")
        props.append(f"title={escape_property(f'govgate: {refusal.headline}')}")
        close = f"govgate: ERROR in {refusal.where}: {refusal.headline} (exit {refusal.exit_code})"
        return (
            f"::error {','.join(props)}::{escape_data(visible(refusal.message))}\n"
            f"{_one_line(visible(close))}\n"
        )


def _cell(text: str) -> str:
    text = visible(text)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\r\n|\r|\n", "<br>", text)


def _row(f: Finding, root: Path) -> str:
    where = display_path(f, root) or "(input)"
    if f.subject.line:
        where = f"{where}:{f.subject.line}"
    fix = waiver_line(f) if f.action is Action.WAIVED else f.remediation
    cells = [MARK[f.action], _cell(f.check), f.severity, _cell(where), _cell(with_ref(f)), _cell(fix)]
    return "| " + " | ".join(cells) + " |\n"


def step_summary(decision: Decision, root: Path | None = None, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown job summary: outcome, a table of findings with their fixes, and the audit record.

    The table is cut so the whole text stays under `limit` bytes, with a note saying how many
    findings were left out.
    """
    root = root or source_root()
    s = decision.summary()
    counted = ", ".join(f"{n} {k}" for k, n in decision.inputs.items() if n) or "none (nothing was checked)"
    head = [
        f"## govgate: {decision.outcome.value.upper()} in {_cell(decision.environment)}",
        f"{s['block']} blocking, {s['warn']} warnings, {s['waived']} waived · inputs: {counted}",
    ]
    if decision.error:
        head.append(f"**The gate could not decide:** {_cell(decision.error)}")
    elif not decision.findings:
        head.append("No findings.")
    audit = audit_facts(decision)
    record = _record_line(audit) if audit else "**Audit record:** none written"
    engine = f"{decision.engine.get('name', '?')} {decision.engine.get('version', '')}".strip()
    tail = [
        record,
        f"Policy `{decision.policy_digest}` · input `{decision.input_digest}` · engine {_cell(engine)}",
    ]
    if not decision.findings:
        return "\n\n".join(head + tail) + "\n"
    table = "| | Check | Severity | Where | Finding | Fix or waiver |\n|---|---|---|---|---|---|\n"
    frame = "\n\n".join(head) + "\n\n" + table + "\n" + "\n\n".join(tail) + "\n"
    note_room = 400
    budget = limit - len(frame.encode("utf-8")) - note_room
    rows: list[str] = []
    used = 0
    for f in decision.findings:
        row = _row(f, root)
        used += len(row.encode("utf-8"))
        if used > budget:
            break
        rows.append(row)
    body = table + "".join(rows)
    left = len(decision.findings) - len(rows)
    if left:
        body += (
            f"\n_{left} more findings are not shown here: this summary is kept under {limit // 1024} KiB"
            " (GitHub allows 1 MiB per step). The step log and the SARIF, JSON or JUnit reports list"
            " every finding._\n"
        )
    return "\n\n".join(head) + "\n\n" + body + "\n" + "\n\n".join(tail) + "\n"


def refusal_summary(refusal: Refusal) -> str:
    """The Markdown job summary of a check that ended before a decision: the reason and where."""
    lines = [
        f"## govgate: ERROR in {_cell(refusal.where)}",
        f"**{refusal.headline.capitalize()} (exit {refusal.exit_code}):** {_cell(refusal.message)}",
    ]
    if refusal.path:
        where = f"{refusal.path}:{refusal.line}" if refusal.line else refusal.path
        lines.append(f"Where: {_cell(where)}")
    lines.append("Nothing was decided: fix what this names and run the gate again.")
    audit = record_facts(refusal.audit)
    if audit:
        lines.append(_record_line(audit))
    return "\n\n".join(lines) + "\n"


def _record_line(audit: Mapping[str, object]) -> str:
    """The summary's line naming the audit record: digest, then log index and signer."""
    extra = ", ".join(f"{k} {audit[k]}" for k in ("index", "signer") if k in audit)
    return f"**Audit record:** `{audit.get('record', '')}`" + (f" ({extra})" if extra else "")


def output_line(name: str, value: str) -> str:
    """One `$GITHUB_OUTPUT` entry: `name=value`, or the heredoc form when the value spans lines."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def outputs(decision: Decision) -> str:
    """The `$GITHUB_OUTPUT` lines: `outcome` and `record` (the audit record digest, or empty)."""
    record = audit_facts(decision).get("record")
    return output_line("outcome", decision.outcome.value) + output_line("record", str(record or ""))


def _append(path: str, text: str) -> None:
    with open(path, "ab") as fh:
        fh.write(text.encode("utf-8"))


def publish(decision: Decision, env: Mapping[str, str], root: Path | None = None) -> list[str]:
    """Append the job summary to `$GITHUB_STEP_SUMMARY` and the step outputs to `$GITHUB_OUTPUT`,
    for whichever of them `env` names. Returns the problems met, one line each (none: empty)."""
    return _publish(env, lambda: step_summary(decision, root), lambda: outputs(decision))


def publish_refusal(refusal: Refusal, env: Mapping[str, str]) -> list[str]:
    """`publish` for a check that ended before a decision: its summary, `outcome=error` and
    `record=` (the refusal's audit record digest, or empty)."""
    record = str(record_facts(refusal.audit).get("record") or "")
    return _publish(
        env,
        lambda: refusal_summary(refusal),
        lambda: output_line("outcome", "error") + output_line("record", record),
    )


def _publish(env: Mapping[str, str], summary: Callable[[], str], lines: Callable[[], str]) -> list[str]:
    problems: list[str] = []
    targets = (("GITHUB_STEP_SUMMARY", summary), ("GITHUB_OUTPUT", lines))
    for var, build in targets:
        path = env.get(var)
        if not path:
            continue
        try:
            _append(path, build())
        except OSError as exc:
            problems.append(f"cannot append to ${var} ({path}): {exc.strerror or exc}")
    return problems
