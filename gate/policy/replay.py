"""`gate audit replay`: re-evaluate every stored input under other policies or config.

Impact analysis before a change to the policies lands (a check promoted from warn to block, a
new rule): each decision that would change is listed with its old and new outcome and the checks
that would appear or disappear.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.decision import Outcome
from gate.pipeline import CheckOptions, decide, prepare


@dataclass(frozen=True)
class Change:
    """A decision that the new policies would make differently."""

    index: int
    record_id: str
    environment: str
    before: str
    after: str
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """As in `--format json`."""
        return {
            "index": self.index,
            "id": self.record_id,
            "environment": self.environment,
            "before": self.before,
            "after": self.after,
            "added": list(self.added),
            "removed": list(self.removed),
        }


@dataclass
class ReplayResult:
    """Every change, and counts."""

    replayed: int = 0
    skipped: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    transitions: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """The whole result as JSON."""
        return {
            "replayed": self.replayed,
            "changed": len(self.changes),
            "transitions": dict(sorted(self.transitions.items())),
            "skipped": self.skipped,
            "changes": [c.to_json() for c in self.changes],
        }


def _keys(findings: Any) -> set[str]:
    out = set()
    for f in findings or []:
        if isinstance(f, dict) and f.get("action") in ("block", "warn"):
            subject = f.get("subject") or {}
            where = subject.get("ref") or subject.get("path") or ""
            out.add(f"{f.get('action')} {f.get('check')} {where}".rstrip())
    return out


def replay(
    log_dir: Path,
    config_path: Path | None,
    policies: list[Path],
    engine_name: str = "embedded",
    today: dt.date | None = None,
    env: Mapping[str, str] | None = None,
) -> ReplayResult:
    """Re-decide every record of the log that has a stored input, as gate.pipeline decides.

    The config and policies are the auditor's own (nothing in them is judged as the change's);
    waivers expire as of `today` (default: $GATE_TIME, else now).
    """
    from audit import AuditLog, iter_records

    given = dict(os.environ if env is None else env)
    if today is not None:
        given["GATE_TIME"] = f"{today.isoformat()}T00:00:00Z"
    opts = CheckOptions(
        paths=(),
        config=config_path,
        policies=tuple(policies),
        engine=engine_name,
        env=given,
        working_tree=(),
    )
    prepared = prepare(opts)
    log = AuditLog(log_dir)
    result = ReplayResult()
    for item in iter_records(log):
        detail = item.detail
        if item.entry.input is None:
            result.skipped.append(f"index {item.index}: no stored input")
            continue
        document = json.loads(log.stored_input(item.entry.input))
        environment = str(detail.get("environment"))
        decision = decide(prepared, document, environment=environment)
        after, after_findings = decision.outcome.value, [f.to_json() for f in decision.findings]
        if decision.outcome is Outcome.ERROR:
            after_findings = []
            result.skipped.append(f"index {item.index}: {decision.error}")
        result.replayed += 1
        before = str(detail.get("outcome"))
        old, new = _keys(detail.get("findings")), _keys(after_findings)
        if before != after or old != new:
            result.changes.append(
                Change(
                    item.index,
                    item.entry.record_id,
                    environment,
                    before,
                    after,
                    tuple(sorted(new - old)),
                    tuple(sorted(old - new)),
                )
            )
            if before != after:
                result.transitions[f"{before} -> {after}"] += 1
    return result
