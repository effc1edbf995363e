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

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> dict[str, Any]:
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


def get_engine(name: str, **options: Any) -> Engine:
    """The engine named on the command line or in the config.

    Options: `limits` (gate.engine.limits.EvalLimits: each evaluation's time and memory bound;
    for `opa-server`, the time bound caps `opa_timeout`);
    `embedded_runtime` (auto, wasm or regopy; default: $GATE_EMBEDDED_RUNTIME, else auto);
    `opa_path` (the opa binary for the `opa` engine; default: found on PATH or in
    $(go env GOPATH)/bin); `opa_url`, `opa_token`, `opa_ca`, `opa_timeout`, `opa_retries` for
    `opa-server`. Options an engine does not use are ignored.
    """
    from gate.engine.limits import EvalLimits
    from gate.errors import ConfigError

    limits = options.get("limits") or EvalLimits()
    if name == "embedded":
        from gate.engine.embedded import EmbeddedEngine

        return EmbeddedEngine(options.get("embedded_runtime"), limits)
    if name == "opa":
        from gate.engine.opa import OpaEngine

        return OpaEngine(options.get("opa_path"), limits=limits)
    if name == "opa-server":
        url = options.get("opa_url")
        if not url:
            raise ConfigError(
                "--engine opa-server needs --opa-url URL",
                "name the OPA server, e.g. https://opa.internal:8181",
            )
        from gate.engine.opa_server import OpaServerEngine

        return OpaServerEngine(
            url,
            options.get("opa_token"),
            ca=options.get("opa_ca"),
            timeout=min(float(options.get("opa_timeout") or 10.0), limits.timeout_seconds),
            retries=int(options.get("opa_retries", 2)),
        )
    raise ConfigError(f"unknown engine {name!r}", "use --engine embedded, opa or opa-server")
