"""`--format sarif`: SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDE viewers).

One rule per check, one result per finding at its file and line, the level from the action the
environment gives it (block: error, warn: warning, waived: note with an external suppression), and a
partial fingerprint that survives moved lines and reworded messages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gate import __version__
from gate.decision import Action, Decision, Finding, Outcome
from gate.report.base import Refusal
from gate.report.common import (
    area,
    audit_facts,
    context_of,
    decision_time,
    fingerprints,
    place,
    record_facts,
    source_root,
    waiver_line,
    with_ref,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://govgate.dev/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "govgateFindingHash/v1"

LEVEL = {Action.BLOCK: "error", Action.WARN: "warning", Action.WAIVED: "note"}
DEFAULT_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0.0-10.0) as critical > 9.0, high 7.0-8.9,
# medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
SECURITY_AREAS = {"SBOM", "SIG", "PROV"}


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _pascal(check: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", check) if part) or "Check"


def _rule(f: Finding) -> dict[str, Any]:
    tags = ["governance", area(f.check).lower()]
    if area(f.check) in SECURITY_AREAS:
        tags.append("security")
    fix = f.remediation or "See the check's documentation in the policy library."
    return {
        "id": f.check,
        "name": _pascal(f.check),
        "shortDescription": {"text": _sentence(f.title)},
        "fullDescription": {
            "text": _sentence(
                f"{f.title} (govgate check {f.check}, severity {f.severity}; the environment's tier"
                " table decides whether a finding blocks or warns)"
            )
        },
        "help": {
            "text": _sentence(f"How to fix: {fix}"),
            "markdown": f"**{f.title}** (`{f.check}`, severity {f.severity})\n\n**How to fix:** {fix}",
        },
        "defaultConfiguration": {"level": DEFAULT_LEVEL.get(f.severity, "warning")},
        "properties": {
            "severity": f.severity,
            "security-severity": SECURITY_SEVERITY.get(f.severity, "5.5"),
            "tags": tags,
        },
    }


def _location(f: Finding, root: Path) -> list[dict[str, Any]]:
    # Code scanning shows only results with a repository-relative file and a line, and refuses
    # absolute file URIs: a finding about no file, or about a file outside the source root, is
    # placed at the root itself (its real path stays in the message and properties).
    p = place(f.subject.path, root)
    uri = quote(p.path, safe="/") if p is not None and p.relative else "."
    line = f.subject.line if uri != "." and f.subject.line else 1
    artifact = {"uri": uri, "uriBaseId": SRCROOT}
    return [{"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}]


def _result(f: Finding, rule_index: int, fingerprint: str, root: Path) -> dict[str, Any]:
    p = place(f.subject.path, root)
    outside = f" (file {p.path})" if p is not None and not p.relative else ""
    text = _sentence(with_ref(f) + outside)
    result: dict[str, Any] = {
        "ruleId": f.check,
        "ruleIndex": rule_index,
        "level": LEVEL[f.action],
        "message": {"text": text},
        "locations": _location(f, root),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    props: dict[str, Any] = {"action": f.action.value, "severity": f.severity, "subjectKind": f.subject.kind}
    if outside and p is not None:
        props["path"] = p.path
    if f.subject.ref is not None:
        props["ref"] = f.subject.ref
    if f.action is Action.WAIVED:
        w = f.waiver or {}
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver_line(f),
                "properties": {k: w[k] for k in ("id", "owner", "reason", "expires") if k in w},
            }
        ]
    result["properties"] = props
    return result


def _provenance(decision: Decision) -> list[dict[str, Any]]:
    ctx = context_of(decision)
    repo, commit, ref = ctx.get("repository"), ctx.get("commit"), ctx.get("ref")
    if not isinstance(repo, str) or not re.match(r"^[a-z][a-z0-9+.-]*://", repo):
        return []
    vcs: dict[str, Any] = {"repositoryUri": repo}
    if isinstance(commit, str) and commit:
        vcs["revisionId"] = commit
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        vcs["branch"] = ref.removeprefix("refs/heads/")
    vcs["mappedTo"] = {"uriBaseId": SRCROOT}
    return [vcs]


class SarifReporter:
    """The decision as one SARIF 2.1.0 run; paths relative to `root` (the working directory by default)
    under the `%SRCROOT%` base id."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def render(self, decision: Decision, *, color: bool) -> str:
        """The SARIF log as indented JSON."""
        return json.dumps(self.log(decision), indent=2, ensure_ascii=False) + "\n"

    def log(self, decision: Decision) -> dict[str, Any]:
        """The SARIF log object."""
        root = self.root or source_root()
        rules: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        for f in decision.findings:
            if f.check not in index:
                index[f.check] = len(rules)
                rules.append(_rule(f))
        prints = fingerprints(decision, root)
        results = [
            _result(f, index[f.check], fp, root) for f, fp in zip(decision.findings, prints, strict=True)
        ]
        invocation: dict[str, Any] = {"executionSuccessful": decision.outcome is not Outcome.ERROR}
        started = decision_time(decision)
        if started:
            invocation["startTimeUtc"] = started
        if decision.error:
            invocation["toolExecutionNotifications"] = [
                {
                    "level": "error",
                    "message": {"text": _sentence(f"The gate could not decide: {decision.error}")},
                }
            ]
        props: dict[str, Any] = {
            "environment": decision.environment,
            "outcome": decision.outcome.value,
            "summary": decision.summary(),
            "engine": decision.engine,
            "policyDigest": decision.policy_digest,
            "inputDigest": decision.input_digest,
        }
        audit = audit_facts(decision)
        if audit:
            props["audit"] = audit
        run = _run(decision.environment, rules, invocation, results, props)
        provenance = _provenance(decision)
        if provenance:
            run["versionControlProvenance"] = provenance
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}

    def render_refusal(self, refusal: Refusal) -> str:
        """The SARIF log of a check that ended before a decision, as indented JSON."""
        return json.dumps(self.refusal_log(refusal), indent=2, ensure_ascii=False) + "\n"

    def refusal_log(self, refusal: Refusal) -> dict[str, Any]:
        """A run with no results whose invocation failed (`executionSuccessful: false`, the exit
        code) with one error notification: the reason, at the file and line it names when the
        file lies in the repository."""
        notification: dict[str, Any] = {
            "level": "error",
            "message": {"text": _sentence(f"{refusal.headline.capitalize()}: {refusal.message}")},
        }
        p = place(refusal.path, self.root or source_root())
        if p is not None and p.relative:
            artifact = {"uri": quote(p.path, safe="/"), "uriBaseId": SRCROOT}
            region = {"startLine": refusal.line or 1}
            notification["locations"] = [
                {"physicalLocation": {"artifactLocation": artifact, "region": region}}
            ]
        invocation = {
            "executionSuccessful": False,
            "exitCode": refusal.exit_code,
            "toolExecutionNotifications": [notification],
        }
        props: dict[str, Any] = {
            "environment": refusal.environment,
            "outcome": "error",
            "exitCode": refusal.exit_code,
        }
        audit = record_facts(refusal.audit)
        if audit:
            props["audit"] = audit
        run = _run(refusal.environment, [], invocation, [], props)
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _run(
    environment: str | None,
    rules: list[dict[str, Any]],
    invocation: dict[str, Any],
    results: list[dict[str, Any]],
    props: dict[str, Any],
) -> dict[str, Any]:
    # One code scanning category per environment; a check that ended before it chose one has
    # the tool's own.
    category = f"govgate/{environment}/" if environment else "govgate/"
    return {
        "tool": {
            "driver": {
                "name": "govgate",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": category},
        "invocations": [invocation],
        "originalUriBaseIds": {
            SRCROOT: {
                "description": {"text": "The folder gate check ran in: the repository root in a CI job."}
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": props,
    }
