"""`--format json`: the decision JSON of DESIGN.md."""

from __future__ import annotations

import json

from gate.decision import Action, Decision
from gate.report.base import Refusal


class JsonReporter:
    """The decision as indented JSON, keys in a stable order."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """Serialise the decision (orjson; the json module for what orjson cannot write, such as
        integers beyond 64 bits)."""
        import orjson

        value = decision.to_json()
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
        except (orjson.JSONEncodeError, TypeError):
            return json.dumps(value, indent=2, ensure_ascii=False) + "\n"

    def render_refusal(self, refusal: Refusal) -> str:
        """The decision's shape with outcome `error`, no findings, the record that logged the
        refusal (or none), and what ended the check under `refusal` (file, line, exit code)."""
        value: dict[str, object] = {
            "outcome": "error",
            "environment": refusal.environment,
            "findings": [],
            "summary": {a.value: 0 for a in Action},
            "audit": dict(refusal.audit) or None,
            "error": refusal.message,
            "refusal": {"path": refusal.path, "line": refusal.line, "exit_code": refusal.exit_code},
        }
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
