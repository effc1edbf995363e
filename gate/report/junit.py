"""`--format junit`: JUnit XML for CI test-report views (GitLab `artifacts:reports:junit`, Jenkins,
Azure DevOps).

A testsuite per check area (the check id up to its first dash: SBOM, CATALOG, TEMPLATE, ...), a
testcase per finding (check and subject). A blocking finding is a `<failure>`; a warning passes and
says why in `<system-out>`; a waived finding is `<skipped>` with the waiver. A decision the gate could
not make is an `<error>` testcase; a decision with no findings is one passing testcase, so the run
shows that the gate ran.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gate.decision import Action, Decision, Finding
from gate.report.base import Refusal
from gate.report.common import (
    area,
    audit_facts,
    decision_time,
    display_path,
    record_facts,
    source_root,
    waiver_line,
    with_ref,
    xml_safe,
)

GATE_SUITE = "govgate"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k: xml_safe(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_safe(text)
    return el


def _where(f: Finding, root: Path) -> str:
    path = display_path(f, root)
    if path is None:
        return "(input)"
    return f"{path}:{f.subject.line}" if f.subject.line else path


def _case_name(f: Finding, root: Path) -> str:
    ref = f" ({f.subject.ref})" if f.subject.ref else ""
    return f"{f.check} {_where(f, root)}{ref}"


def _details(f: Finding, root: Path) -> str:
    lines = [
        f"{f.check} ({f.severity}, {f.action.value}): {f.title}",
        f"where: {_where(f, root)}" + (f" [{f.subject.ref}]" if f.subject.ref else ""),
        with_ref(f),
    ]
    if f.waiver:
        lines.append(waiver_line(f))
    elif f.remediation:
        lines.append(f"fix: {f.remediation}")
    return "\n".join(lines) + "\n"


class JunitReporter:
    """The decision as a JUnit XML `<testsuites>` document."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def render(self, decision: Decision, *, color: bool) -> str:
        """The XML document, UTF-8, indented."""
        root_path = self.root or source_root()
        suites = etree.Element("testsuites", name="govgate")
        props = self._properties(decision)
        stamp = decision_time(decision)
        areas: dict[str, list[Finding]] = {}
        for f in decision.findings:
            areas.setdefault(area(f.check), []).append(f)
        for name in sorted(areas):
            group = areas[name]
            suite = self._suite(suites, name, props, stamp, group)
            for f in group:
                self._case(suite, f, root_path)
        if not decision.findings:
            errors = 1 if decision.error else 0
            suite = self._suite(suites, GATE_SUITE, props, stamp, [], tests=1, errors=errors)
            case = _el(suite, "testcase", classname=GATE_SUITE, name=f"decision in {decision.environment}")
            if decision.error:
                _el(case, "error", f"{decision.error}\n", type="GateError", message=decision.error)
            else:
                _el(case, "system-out", f"outcome {decision.outcome.value}: no findings\n")
        total = sum(int(s.get("tests", "0")) for s in suites)
        suites.set("tests", str(total))
        suites.set("failures", str(sum(int(s.get("failures", "0")) for s in suites)))
        suites.set("errors", str(sum(int(s.get("errors", "0")) for s in suites)))
        etree.indent(suites, space="  ")
        body = etree.tostring(suites, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'

    def render_refusal(self, refusal: Refusal) -> str:
        """One `govgate` testsuite with one `<error>` testcase: the reason, and the file and line
        it names."""
        suites = etree.Element("testsuites", name="govgate", tests="1", failures="0", errors="1")
        props = [("environment", refusal.where), ("outcome", "error"), ("exit.code", str(refusal.exit_code))]
        props += [(f"audit.{k}", str(v)) for k, v in record_facts(refusal.audit).items()]
        suite = self._suite(suites, GATE_SUITE, props, None, [], tests=1, errors=1)
        case = _el(suite, "testcase", classname=GATE_SUITE, name=f"decision in {refusal.where}")
        text = f"{refusal.headline} (exit {refusal.exit_code}): {refusal.message}\n"
        if refusal.path:
            # The JUnit schema has no place for a file: the error's text names it.
            where = f"{refusal.path}:{refusal.line}" if refusal.line else refusal.path
            text += f"where: {where}\n"
        _el(case, "error", text, type="GateError", message=refusal.message)
        etree.indent(suites, space="  ")
        body = etree.tostring(suites, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'

    @staticmethod
    def _properties(decision: Decision) -> list[tuple[str, str]]:
        props = [
            ("environment", decision.environment),
            ("outcome", decision.outcome.value),
            ("engine", f"{decision.engine.get('name', '?')} {decision.engine.get('version', '')}".strip()),
            ("policy.digest", decision.policy_digest),
            ("input.digest", decision.input_digest),
        ]
        props += [(f"audit.{k}", str(v)) for k, v in audit_facts(decision).items()]
        return props

    @staticmethod
    def _suite(
        parent: etree._Element,
        name: str,
        props: list[tuple[str, str]],
        stamp: str | None,
        group: list[Finding],
        *,
        tests: int | None = None,
        errors: int = 0,
    ) -> etree._Element:
        attrs = {
            "name": name,
            "tests": str(len(group) if tests is None else tests),
            "failures": str(sum(f.action is Action.BLOCK for f in group)),
            "errors": str(errors),
            "skipped": str(sum(f.action is Action.WAIVED for f in group)),
        }
        if stamp:
            attrs["timestamp"] = stamp
        suite = _el(parent, "testsuite", **attrs)
        properties = _el(suite, "properties")
        for key, value in props:
            _el(properties, "property", name=key, value=value)
        return suite

    @staticmethod
    def _case(suite: etree._Element, f: Finding, root: Path) -> None:
        case = _el(suite, "testcase", classname=f.check, name=_case_name(f, root))
        if f.action is Action.BLOCK:
            _el(case, "failure", _details(f, root), type=f.check, message=with_ref(f))
        elif f.action is Action.WAIVED:
            _el(case, "skipped", message=waiver_line(f))
            _el(case, "system-out", _details(f, root))
        else:
            _el(case, "system-out", f"WARNING: {_details(f, root)}")
