"""The reporter protocol: render a decision for people or machines."""

from __future__ import annotations

from typing import Protocol

from gate.decision import Decision


class Reporter(Protocol):
    """Renders a decision into text; `color` is honoured only by human-facing formats."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """The whole report, as written to stdout or a file."""
        ...


FORMATS = ("text", "json")


def get_reporter(name: str) -> Reporter:
    """The reporter for a `--format` name."""
    if name == "json":
        from gate.report.json import JsonReporter

        return JsonReporter()
    from gate.report.text import TextReporter

    return TextReporter()
