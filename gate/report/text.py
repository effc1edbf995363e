"""`--format text`: what a developer reads when the gate stops them."""

from __future__ import annotations

from collections.abc import Callable

import click

from gate.decision import Action, Decision, Finding, Outcome
from gate.report.base import Refusal
from gate.report.escape import terminal_safe as safe

HEADINGS = {
    Action.BLOCK: ("BLOCKING", "red", "✖"),
    Action.WARN: ("WARNINGS", "yellow", "▲"),
    Action.WAIVED: ("WAIVED", "cyan", "○"),
}
OUTCOME_STYLE = {Outcome.PASS: "green", Outcome.WARN: "yellow", Outcome.BLOCK: "red", Outcome.ERROR: "red"}


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if color else text  # type: ignore[arg-type]

    return style


class TextReporter:
    """Findings grouped by action, most severe first, each with where, what and how to fix."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """Render the report; ANSI colour only when `color` is true."""
        style = _styler(color)
        out: list[str] = []
        if decision.error:
            out.append(style(f"error: {safe(decision.error)}", fg="red", bold=True))
        for action in (Action.BLOCK, Action.WARN, Action.WAIVED):
            group = [f for f in decision.findings if f.action is action]
            if not group:
                continue
            heading, fg, mark = HEADINGS[action]
            out.append(style(f"{heading} ({len(group)})", fg=fg, bold=True))
            for f in group:
                out.extend(self._finding(f, mark, fg, style))
            out.append("")
        out.append(self._summary(decision, style))
        if any(f.action is Action.BLOCK for f in decision.findings):
            out.append(
                "To fix: follow each `fix:` line. To accept a risk for a while, add a waiver (check, subject,"
                " owner, reason, expires) to the waivers file; see `gate check --help`."
            )
        return "\n".join(out) + "\n"

    def render_refusal(self, refusal: Refusal) -> str:
        """The one line the gate prints on stderr, and the outcome (for `--report text=FILE`: on
        stdout the line alone says it)."""
        return (
            f"error: {safe(refusal.message)}\n"
            f"govgate: ERROR in {safe(refusal.where)} — {refusal.headline} (exit {refusal.exit_code})\n"
        )

    @staticmethod
    def _finding(f: Finding, mark: str, fg: str, style: Callable[..., str]) -> list[str]:
        # Every string here may come from the change under review: escaped, so none can start a line.
        where = safe(f.subject.location())
        ref = f"  [{safe(f.subject.ref)}]" if f.subject.ref and f.subject.ref not in f.message else ""
        lines = [
            f"  {style(mark, fg=fg)} {style(safe(f.check), bold=True)} ({safe(f.severity)})  {where}{ref}",
            f"      {safe(f.message)}",
        ]
        if f.remediation and f.action is not Action.WAIVED:
            lines.append(f"      fix: {safe(f.remediation)}")
        if f.waiver:
            w = {k: safe(str(f.waiver.get(k))) for k in ("id", "owner", "expires", "reason")}
            lines.append(
                f"      waived by {w['id']} (owner {w['owner']}, expires {w['expires']}): {w['reason']}"
            )
        return lines

    @staticmethod
    def _summary(d: Decision, style: Callable[..., str]) -> str:
        s = d.summary()
        word = d.outcome.value.upper()
        counted = ", ".join(f"{n} {k}" for k, n in d.inputs.items() if n) or "none (nothing was checked)"
        head = style(f"govgate: {word}", fg=OUTCOME_STYLE[d.outcome], bold=True)
        return (
            f"{head} in {safe(d.environment)} — {s['block']} blocking, {s['warn']} warnings, {s['waived']} waived"
            f" · inputs: {counted} · policy {d.policy_digest[:19]}…"
        )
