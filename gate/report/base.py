"""The reporter protocol: render a decision for people or machines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gate.decision import Decision
from gate.errors import ExitCode, GateError

# How parse errors name their place ("malformed YAML at line 3 column 7: ..."): the only line a
# refusal knows.
_AT_LINE = re.compile(r"\bat line (\d+)\b")


@dataclass(frozen=True)
class Refusal:
    """A check that ended before a decision (bad usage, config or input, exit 2; or an engine
    failing before it ran, exit 3): its one line, and the file and line it names, when known."""

    message: str
    path: str | None
    line: int | None
    environment: str | None
    exit_code: int
    # The audit record that logged the refusal (gate.decision's `audit` field), when one was written.
    audit: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: GateError, environment: str | None) -> Refusal:
        """The refusal an error ends a check with."""
        found = _AT_LINE.search(exc.message)
        line = int(found.group(1)) if found and exc.path else None
        return cls(exc.one_line(), exc.path, line or None, environment, int(exc.exit_code), dict(exc.audit))

    @property
    def headline(self) -> str:
        """`the gate refused to decide` (exit 2), or `the gate could not decide`."""
        return (
            "the gate refused to decide" if self.exit_code == ExitCode.USAGE else "the gate could not decide"
        )

    @property
    def where(self) -> str:
        """The environment as reports name it (`unknown` when the check ended before choosing one)."""
        return self.environment or "unknown"


class Reporter(Protocol):
    """Renders a decision into text; `color` is honoured only by human-facing formats."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """The whole report, as written to stdout or a file."""
        ...

    def render_refusal(self, refusal: Refusal) -> str:
        """The report of a check that ended before a decision."""
        ...


FORMATS = ("text", "json", "sarif", "junit", "github", "gitlab")


def get_reporter(name: str) -> Reporter:
    """The reporter for a `--format` name (one of FORMATS); an unknown name is a ValueError."""
    if name == "text":
        from gate.report.text import TextReporter

        return TextReporter()
    if name == "json":
        from gate.report.json import JsonReporter

        return JsonReporter()
    if name == "sarif":
        from gate.report.sarif import SarifReporter

        return SarifReporter()
    if name == "junit":
        from gate.report.junit import JunitReporter

        return JunitReporter()
    if name == "github":
        from gate.report.github import GithubReporter

        return GithubReporter()
    if name == "gitlab":
        from gate.report.gitlab import GitlabReporter

        return GitlabReporter()
    raise ValueError(f"unknown report format {name!r}; one of {', '.join(FORMATS)}")
