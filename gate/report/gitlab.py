"""`--format gitlab`: the GitLab Code Quality report (`artifacts:reports:codequality`), which GitLab
shows in the merge request widget and diff.

A JSON array with one object per finding: description, check_name, a fingerprint that is stable
across runs and unique within the report, severity, and location (path relative to the repository
root, lines.begin; 1 when the finding has no line, `.` when it has no file).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gate.decision import Action, Decision, Finding
from gate.report.base import Refusal
from gate.report.common import fingerprints, place, source_root, waiver_line, with_ref

# A blocking finding stops the merge: GitLab's `blocker`. Warnings keep their severity's weight;
# waived findings are information.
WARN_SEVERITY = {"critical": "critical", "high": "major", "medium": "minor", "low": "minor"}
ERROR_CHECK = "GATE-ERROR"


def severity(f: Finding) -> str:
    """The Code Quality severity (info, minor, major, critical, blocker) of a finding."""
    if f.action is Action.BLOCK:
        return "blocker"
    if f.action is Action.WAIVED:
        return "info"
    return WARN_SEVERITY.get(f.severity, "minor")


def _description(f: Finding) -> str:
    head = f"{f.check}: {with_ref(f)}"
    if f.action is Action.WAIVED:
        return f"{head} ({waiver_line(f)})"
    if f.remediation:
        return f"{head.rstrip('.')}. Fix: {f.remediation}"
    return head


class GitlabReporter:
    """The decision as a Code Quality JSON array; paths relative to `root` (the working directory by
    default, which is $CI_PROJECT_DIR in a GitLab job)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def render(self, decision: Decision, *, color: bool) -> str:
        """The report as indented JSON."""
        return json.dumps(self.issues(decision), indent=2, ensure_ascii=False) + "\n"

    def issues(self, decision: Decision) -> list[dict[str, Any]]:
        """The Code Quality objects, most severe first."""
        root = self.root or source_root()
        out: list[dict[str, Any]] = []
        for f, fp in zip(decision.findings, fingerprints(decision, root), strict=True):
            p = place(f.subject.path, root)
            out.append(
                {
                    "description": _description(f),
                    "check_name": f.check,
                    "fingerprint": fp,
                    "severity": severity(f),
                    "location": {"path": p.path if p else ".", "lines": {"begin": f.subject.line or 1}},
                }
            )
        if decision.error:
            key = f"{ERROR_CHECK}\x00{decision.environment}"
            out.append(
                {
                    "description": f"{ERROR_CHECK}: the gate could not decide: {decision.error}",
                    "check_name": ERROR_CHECK,
                    "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
                    "severity": "blocker",
                    "location": {"path": ".", "lines": {"begin": 1}},
                }
            )
        return out

    def render_refusal(self, refusal: Refusal) -> str:
        """One blocker issue (GATE-ERROR) with the reason, at the file and line it names when the
        file lies in the repository, else at the repository root."""
        p = place(refusal.path, self.root or source_root())
        path, line = (p.path, refusal.line or 1) if p is not None and p.relative else (".", 1)
        key = f"{ERROR_CHECK}\x00{refusal.where}\x00{path}"
        issue = {
            "description": f"{ERROR_CHECK}: {refusal.headline}: {refusal.message}",
            "check_name": ERROR_CHECK,
            "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
            "severity": "blocker",
            "location": {"path": path, "lines": {"begin": line}},
        }
        return json.dumps([issue], indent=2, ensure_ascii=False) + "\n"
