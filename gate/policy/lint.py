"""`gate policy check`: `opa check --strict` over everything `gate check` loads, and Regal over the Rego."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.engine.opa import DEFAULT_TIMEOUT, error_parts, locate_opa, opa_errors, run_opa
from gate.errors import EngineError
from gate.policy.sources import load_sources, shipped_dir, shown
from gate.tools import INSTALL_HINT, find_binary

REGAL_CONFIG = Path(".regal") / "config.yaml"


@dataclass(frozen=True)
class Finding:
    """One problem `opa check --strict` or Regal reports: where, which rule, what."""

    tool: str
    where: str
    rule: str
    message: str
    level: str = "error"


@dataclass(frozen=True)
class CheckRun:
    """Everything `gate policy check` found, and notes on what it did not look at."""

    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No error-level finding."""
        return not any(f.level == "error" for f in self.findings)

    def report_lines(self) -> list[str]:
        """`where: tool: rule: message` per finding (warnings marked), then the count."""
        lines = []
        for f in self.findings:
            where = f"{f.where}: " if f.where else ""
            level = "" if f.level == "error" else f"{f.level}: "
            lines.append(f"{where}{level}{f.tool}: {f.rule}: {f.message}")
        errors = sum(1 for f in self.findings if f.level == "error")
        warnings = len(self.findings) - errors
        lines.append(
            f"{errors} finding{'' if errors == 1 else 's'}"
            + (f", {warnings} warning{'' if warnings == 1 else 's'}" if warnings else "")
        )
        return lines


def run_checks(policy_dirs: Sequence[Path], *, opa_path: str | Path | None = None) -> CheckRun:
    """`opa check --strict` over everything `gate check` loads, and Regal over the Rego files."""
    sources = load_sources(policy_dirs)
    opa = locate_opa(opa_path)
    regal = find_binary("regal")
    if regal is None:
        raise EngineError(
            "the regal binary was not found on PATH or in $(go env GOPATH)/bin", INSTALL_HINT["regal"]
        )
    findings: list[Finding] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="govgate-check-") as tmp:
        tree = sources.tree(Path(tmp) / "policy")
        proc = run_opa([opa, "check", "--strict", "--format", "json", str(tree.root)])
        errors = opa_errors(proc.stdout, proc.stderr)
        if errors:
            findings += [Finding("opa check", *error_parts(err, tree)) for err in errors]
        elif proc.returncode != 0:
            raise EngineError(
                f"opa check failed (exit {proc.returncode}): {tree.rename_in(_text(proc.stderr))}",
                "run opa check --strict by hand on the policy folders",
            )
    unparsable = any(f.rule == "rego_parse_error" for f in findings)
    lib = shipped_dir()
    seen: set[Path] = set()
    if lib is not None and (lib.parent / REGAL_CONFIG).is_file():
        findings += _regal(regal, shown(lib), lib.parent / REGAL_CONFIG, unparsable=unparsable)
        seen.add(lib.resolve())
    else:
        notes.append(
            "Regal did not lint the shipped library (no .regal/config.yaml beside it); govgate's CI does"
        )
    for d in policy_dirs:
        if d.resolve() in seen or (lib is not None and d.resolve().is_relative_to(lib.resolve())):
            continue
        seen.add(d.resolve())
        findings += _regal(regal, str(d), None, unparsable=unparsable)
    return CheckRun(tuple(sorted(findings, key=_order)), tuple(notes))


def _order(f: Finding) -> tuple[str, int, int, str]:
    """Findings by file, then line and column (as numbers), then rule."""
    parts = f.where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2]), f.rule
    parts = f.where.rsplit(":", 1)
    if len(parts) == 2 and parts[1].isdigit():
        return parts[0], int(parts[1]), 0, f.rule
    return f.where, 0, 0, f.rule


def _text(data: bytes) -> str:
    return " ".join(data.decode("utf-8", errors="replace").split())[:400]


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _regal(regal: str, target: str, config: Path | None, *, unparsable: bool) -> list[Finding]:
    """Regal's violations in `target`; its own config is found from the folder unless given.

    With `unparsable` (opa check found parse errors), Regal failing to parse is not an error of
    its own: the parse errors are already reported.
    """
    argv = [regal, "lint", "--format", "json", "--no-color"]
    if config is not None:
        argv += ["--config-file", str(config)]
    env = {**os.environ, "REGAL_DISABLE_VERSION_CHECK": "1"}  # the gate never calls out to the network
    try:
        proc = subprocess.run(
            [*argv, target], capture_output=True, timeout=DEFAULT_TIMEOUT, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise EngineError(
            f"regal lint {target} did not finish within {DEFAULT_TIMEOUT:g} s", "run it by hand"
        ) from None
    except OSError as exc:
        raise EngineError(f"cannot run {regal}: {exc.strerror or exc}", INSTALL_HINT["regal"]) from None
    report = _json_object(proc.stdout)
    if report is None or "violations" not in report:
        failure = _json_object(proc.stderr) or report  # Regal's own JSON error report
        if failure is not None and failure.get("errors") and unparsable:
            return []
        raise EngineError(
            f"regal lint {target} failed (exit {proc.returncode}): {_text(proc.stderr or proc.stdout)}",
            "run regal lint by hand on the folder",
        )
    findings: list[Finding] = []
    for v in report.get("violations") or []:
        if not isinstance(v, dict):
            continue
        loc = v.get("location")
        if not isinstance(loc, dict):
            loc = {}
        where = f"{loc.get('file') or target}:{loc.get('row', 0)}:{loc.get('col', 0)}"
        docs = next(
            (r.get("ref") for r in v.get("related_resources") or [] if isinstance(r, dict) and r.get("ref")),
            "",
        )
        message = str(v.get("description", "")) + (f" ({docs})" if docs else "")
        rule = f"{v.get('category', '')}/{v.get('title', '')}"
        findings.append(Finding("regal", where, rule, message, str(v.get("level", "error"))))
    return findings
