"""The policy engines behind one protocol (gate.engine.base.Engine), and the factory that picks one.

The factory lives here, not beside the protocol, so the protocol's module imports no engine and
the engines import only the protocol.
"""

from __future__ import annotations

from typing import Any

from gate.engine.base import Engine, EngineResult

__all__ = ["Engine", "EngineResult", "get_engine"]


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
