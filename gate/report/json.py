"""`--format json`: the decision JSON of DESIGN.md."""

from __future__ import annotations

import json

from gate.decision import Decision


class JsonReporter:
    """The decision as indented JSON, keys in a stable order."""

    def render(self, decision: Decision, *, color: bool) -> str:
        """Serialise the decision."""
        return json.dumps(decision.to_json(), indent=2, ensure_ascii=False) + "\n"
