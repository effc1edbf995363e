"""The engine protocol: evaluate `data.gate.main.decision` for one input document."""

from __future__ import annotations

from typing import Any, Protocol

from gate.policy import PolicySet

DECISION_QUERY = "data.gate.main.decision"


class Engine(Protocol):
    """A policy engine. Implementations raise gate.errors.EngineError on any failure."""

    name: str

    def version(self) -> str:
        """The engine's version string, recorded in every decision."""
        ...

    def evaluate(self, policy: PolicySet, document: dict[str, Any]) -> dict[str, Any]:
        """Evaluate the decision query over the (validated) input document."""
        ...


def get_engine(name: str, **options: Any) -> Engine:
    """The engine named on the command line or in the config."""
    from gate.errors import ConfigError

    if name == "embedded":
        from gate.engine.embedded import EmbeddedEngine

        return EmbeddedEngine()
    raise ConfigError(
        f"engine {name!r} is not available in this version",
        "use --engine embedded",
    )
