"""The engine protocol: evaluate `data.gate.main.decision` for one input document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gate.policy.policy_set import PolicySet

DECISION_QUERY = "data.gate.main.decision"


@dataclass(frozen=True)
class EngineResult:
    """What an engine returns: the decision object the policies computed, and what the engine
    says about how it decided (recorded in the decision's `engine` field beside its name and
    version: for `opa-server`, the server's `url`, OPA's `decision_id` and the bundle
    `revisions`; other engines add nothing)."""

    decision: dict[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A policy engine. Implementations raise gate.errors.EngineError on any failure."""

    name: str

    def version(self) -> str:
        """The engine's version string, recorded in every decision."""
        ...

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> EngineResult:
        """Evaluate the decision query over the (validated) input document.

        `text`, when given, is the document's canonical JSON (gate.input.canonical_bytes), for
        engines that hand the input over as JSON.
        """
        ...


BROKEN_MAIN = "a policy module replaced or broke package gate.main; check --policy folders"


def decision_object(value: Any, undefined_fix: str = BROKEN_MAIN) -> dict[str, Any]:
    """An engine's value of the decision query, checked: undefined (None) or not an object is an
    EngineError; `undefined_fix` says what to do about an undefined decision."""
    from gate.errors import EngineError

    if value is None:
        raise EngineError(f"{DECISION_QUERY} is undefined", undefined_fix)
    if not isinstance(value, dict):
        raise EngineError(f"{DECISION_QUERY} is not an object", "check package gate.main")
    return value
