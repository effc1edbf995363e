"""Shared by the report tests: decisions built in code, golden files, and each format's validator.

Golden files live in tests/gate/report/golden/ and are compared byte for byte. After an intended change
to a report, regenerate them with

    GATE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report

and review the diff. Every golden file is validated against its format's schema when it is checked
(and so when it is written):

- SARIF: the SARIF 2.1.0 JSON Schema with gate.schemas (jsonschema-rs), and Microsoft's SARIF Multitool
  (tests/gate/report/test_golden.py). schemas/sarif-2.1.0.json is the copy the npm package
  @microsoft/sarif-multitool-linux 5.7.0 ships (file sarif-2.1.0.json), byte for byte; a test checks
  it against the installed package.
- JUnit: schemas/junit-10.xsd, the JUnit XML schema of Jenkins' xunit plugin (MIT, Gregory
  Boissinot), as shipped in the PyPI sdist of pytest 9.2.0 (testing/example_scripts/junit-10.xsd),
  which pytest validates its own JUnit XML against.
- GitLab Code Quality: the project's schemas/gitlab-code-quality.schema.json, written from GitLab's
  documented format (GitLab publishes no schema).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gate.decision import Action, Decision, Finding, Outcome, Subject
from gate.report.base import Refusal
from gate.schemas import compile_schema

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SCHEMAS = HERE / "schemas"
UPDATE = os.environ.get("GATE_UPDATE_GOLDEN") == "1"

# The folder the built decisions' reports are made relative to.
REPO = Path("/work/repo")
SARIF_MULTITOOL_VERSION = "5.7.0"
HOSTILE = (
    'progress 100%: done\r\nnext: a, b, c <script>alert(1)</script> | pipe & "quote" *bold* [link]'
    " \x1b[31mred\x1b[0m ]]> é 漢字\n::error::injected"
)
TIME_NS = 1_795_507_200_000_000_000  # 2026-11-24T08:00:00Z


def finding(
    check: str,
    action: Action,
    severity: str,
    message: str,
    subject: Subject,
    *,
    title: str | None = None,
    remediation: str = "Do the documented fix.",
    waiver: dict[str, Any] | None = None,
) -> Finding:
    """A finding with a readable default title."""
    return Finding(
        check=check,
        title=title or check.replace("-", " ").capitalize(),
        severity=severity,
        action=action,
        message=message,
        subject=subject,
        remediation=remediation,
        waiver=waiver,
    )


def sample_findings() -> list[Finding]:
    """Findings of every action and area, with the awkward cases: a relative path, an absolute path
    inside and one outside the repository, no path, no line, two findings sharing check, file and
    ref, and a message full of characters each format must escape."""
    return [
        finding(
            "SBOM-LICENSE-DENIED",
            Action.BLOCK,
            "critical",
            "left-pad@1.3.0 is licensed AGPL-3.0-only, which is denied",
            Subject("sbom", "sbom.cdx.json", "pkg:npm/left-pad@1.3.0", None),
            title="Component licenses are allowed",
            remediation="Replace the component, or ask legal for a waiver.",
        ),
        finding(
            "TEMPLATE-ACTIONS-ALLOWED",
            Action.BLOCK,
            "high",
            'step "vault" uses the action acme:vault:provision, which is not in allowed_actions',
            Subject("template", str(REPO / "templates/service/template.yaml"), "vault", 50),
            title="Template uses only allowed scaffolder actions",
            remediation="Use an allowed action instead.",
        ),
        finding(
            "SIG-PRESENT",
            Action.BLOCK,
            "high",
            "signature is required and dist/app.tar.gz has none",
            Subject("signature", None, "dist/app.tar.gz", None),
            title="Artifacts are signed",
            remediation="Sign the artifact with cosign sign-blob --bundle.",
        ),
        finding(
            "CONFTEST-MAIN-DENY",
            Action.WARN,
            "high",
            HOSTILE,
            Subject("catalog", "dir with space/catalog-info.yaml", "component:default/a,b", 3),
            title="main.deny",
            remediation="Fix: colons, commas, 50% and\nnewlines.",
        ),
        finding(
            "SBOM-VULN-CRITICAL",
            Action.WARN,
            "critical",
            "critical vulnerability CVE-2026-0001 affects openssl@3.0.0",
            Subject("sbom", "/tmp/build/bom.json", "CVE-2026-0001", None),
            title="No open critical vulnerability",
            remediation="Upgrade openssl.",
        ),
        finding(
            "CATALOG-DESCRIPTION",
            Action.WARN,
            "low",
            "the entity has no metadata.description",
            Subject("catalog", "catalog-info.yaml", None, 4),
            title="Catalog entity has a description",
            remediation="Add metadata.description.",
        ),
        finding(
            "CATALOG-DESCRIPTION",
            Action.WARN,
            "low",
            "another entity has no metadata.description",
            Subject("catalog", "catalog-info.yaml", None, 30),
            title="Catalog entity has a description",
            remediation="Add metadata.description.",
        ),
        finding(
            "CATALOG-OWNER-GROUP",
            Action.WAIVED,
            "medium",
            'component:default/payments is owned by the user "user:jdoe" instead of a group',
            Subject("catalog", "catalog-info.yaml", "component:default/payments", 15),
            title="Catalog entity is owned by a group",
            remediation="Make a group the owner.",
            waiver={
                "id": "W-7",
                "owner": "team-payments",
                "reason": "re-org in Q1, PLAT-311",
                "expires": "2027-01-31",
            },
        ),
    ]


def decision(
    findings: list[Finding],
    outcome: Outcome = Outcome.BLOCK,
    *,
    environment: str = "prod",
    error: str | None = None,
    audit: bool = True,
    context: bool = True,
) -> Decision:
    """A decision around `findings`, sorted as the gate sorts them."""
    return Decision(
        outcome=outcome,
        environment=environment,
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        engine={"name": "embedded", "version": "regopy 1.5.2"},
        policy_digest="sha256:" + "a" * 64,
        input_digest="sha256:" + "b" * 64,
        audit={
            "record": "sha256:" + "c" * 64,
            "index": 41,
            "id": "5d0c2f4e-0000-4000-8000-000000000000",
            "log": "/var/lib/gate/audit",
            "signer": "local",
            "checkpoint": "govgate.local/audit/x\n42\nroot\n",
        }
        if audit
        else None,
        error=error,
        inputs={"templates": 1, "catalog": 2, "sboms": 2, "signatures": 0},
        document={
            "context": {
                "environment": environment,
                "ci": "github",
                "repository": "https://github.com/acme/payments",
                "commit": "0123456789abcdef0123456789abcdef01234567",
                "ref": "refs/heads/main",
                "time_ns": TIME_NS,
            }
        }
        if context
        else None,
    )


def sample_decision() -> Decision:
    """The blocking decision most golden files are made from."""
    return decision(sample_findings())


def error_decision() -> Decision:
    """A decision the gate could not make (no record: the audit step failed)."""
    return decision(
        [],
        Outcome.ERROR,
        error='evaluation failed: builtin to_number: invalid number <"x">; use --engine opa',
        audit=False,
    )


def pass_decision() -> Decision:
    """A clean decision outside CI."""
    return decision([], Outcome.PASS, environment="dev", context=False)


def input_refusal() -> Refusal:
    """A refused input file in the repository, with the line its parser named (exit 2)."""
    path = str(REPO / "services/payments/catalog-info.yaml")
    message = "malformed YAML at line 7 column 3: expected <block end>, but found '-'"
    return Refusal(f"{path}: {message}. Fix the YAML syntax", path, 7, "prod", 2)


def config_refusal() -> Refusal:
    """A config refused before an environment was chosen, in a file outside the repository, with
    characters each format must escape (exit 2)."""
    return Refusal(
        "/etc/gate/gate.yaml: unknown key tiers.prod.SBOM-VALID: 100%,\r\n::error::x <b>|`x`",
        "/etc/gate/gate.yaml",
        None,
        None,
        2,
    )


def _validate_sarif(text: str) -> None:
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    errors = compile_schema(schema).errors(json.loads(text))  # every format checked
    assert not errors, "\n".join(str(e) for e in errors)


def _validate_junit(text: str) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    doc = etree.fromstring(text.encode("utf-8"))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def _validate_gitlab(text: str) -> None:
    from gate import schemas

    errors = schemas.shipped("gitlab-code-quality.schema.json").errors(json.loads(text))
    assert not errors, "\n".join(str(e) for e in errors)


VALIDATORS = {".sarif": _validate_sarif, ".junit.xml": _validate_junit, ".gitlab.json": _validate_gitlab}


def validate(name: str, text: str) -> None:
    """Validate a report by its golden file name's suffix (formats without a schema pass)."""
    for suffix, check in VALIDATORS.items():
        if name.endswith(suffix):
            check(text)


def check_golden(name: str, text: str) -> None:
    """Validate `text` against its format's schema, then compare it with golden/NAME exactly
    (GATE_UPDATE_GOLDEN=1 writes it instead)."""
    validate(name, text)
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.exists(), f"no golden file {path}; create it with GATE_UPDATE_GOLDEN=1"
    with path.open(encoding="utf-8", newline="") as fh:
        expected = fh.read()
    assert text == expected, (
        f"{name} differs from its golden file; if intended, regenerate with GATE_UPDATE_GOLDEN=1"
    )


def node_tools_dir() -> Path:
    """Where scripts/install-node-tools.sh installs the Node tools."""
    if os.environ.get("GATE_NODE_TOOLS"):
        return Path(os.environ["GATE_NODE_TOOLS"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "govgate" / "node-tools"


def _platform() -> str:
    import sys

    return {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)


def multitool_package() -> Path:
    """The installed @microsoft/sarif-multitool-<platform> package folder."""
    return node_tools_dir() / "node_modules" / "@microsoft" / f"sarif-multitool-{_platform()}"


def require_multitool() -> Path:
    """The SARIF Multitool binary at the pinned version, runnable. Missing: fail in CI, skip on a laptop."""
    pkg = multitool_package()
    exe = pkg / ("Sarif.Multitool.exe" if _platform() == "win32" else "Sarif.Multitool")
    problem = None
    try:
        version = json.loads((pkg / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        version = None
    if version != SARIF_MULTITOOL_VERSION:
        problem = f"not installed at {pkg} (found version {version})"
    else:
        try:
            run = subprocess.run(
                [str(exe), "--version"], capture_output=True, text=True, timeout=120, check=False
            )
            if run.returncode != 0:
                problem = f"{exe} --version exited {run.returncode}: {run.stderr.strip()[:300]}"
        except OSError as exc:
            problem = f"{exe} cannot run: {exc}"
    if problem:
        message = (
            f"SARIF Multitool (@microsoft/sarif-multitool {SARIF_MULTITOOL_VERSION}) {problem};"
            " run scripts/install-node-tools.sh"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return exe
