"""The reporter protocol: render a decision for people or machines."""

from __future__ import annotations

from typing import Protocol

from gate.decision import Decision


class Reporter(Protocol):
    """Renders a decision into text; `color` is honoured only by human-facing formats."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """The whole report, as written to stdout or a file."""
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
