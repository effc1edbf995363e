"""`--format json`: the decision JSON of DESIGN.md."""

from __future__ import annotations

import json

from gate.decision import Decision


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
