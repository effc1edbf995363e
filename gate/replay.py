"""`gate audit replay`: re-evaluate every stored input under other policies or config.

Impact analysis before a change to the policies lands (a check promoted from warn to block, a
new rule): each decision that would change is listed with its old and new outcome and the checks
that would appear or disappear.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.config import load_config
from gate.decision import from_policy_result
from gate.engine.base import get_engine
from gate.errors import EngineError
from gate.policy import build_policy_set
from gate.waivers import load_waivers


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
) -> ReplayResult:
    """Re-decide every record of the log that has a stored input."""
    from audit import AuditLog, iter_records

    explicit = config_path is not None
    config = load_config(config_path if explicit else Path("gate.yaml"), explicit=explicit)
    today = today or dt.datetime.now(dt.UTC).date()
    waivers = load_waivers(config.waivers, today, config.max_waiver_days) if config.waivers else []
    policy = build_policy_set(list(config.policies) + policies, config.policy_data(), waivers)
    engine = get_engine(engine_name)
    log = AuditLog(log_dir)
    result = ReplayResult()
    for item in iter_records(log):
        detail = item.detail
        if item.entry.input is None:
            result.skipped.append(f"index {item.index}: no stored input")
            continue
        document = json.loads(log.stored_input(item.entry.input))
        environment = str(detail.get("environment"))
        try:
            decision = from_policy_result(
                engine.evaluate(policy, document),
                environment=environment,
                engine={"name": engine.name},
                policy_digest=policy.digest,
                input_digest="",
                inputs={},
            )
            after, after_findings = decision.outcome.value, [f.to_json() for f in decision.findings]
        except EngineError as exc:
            after, after_findings = "error", []
            result.skipped.append(f"index {item.index}: {exc.one_line()}")
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
