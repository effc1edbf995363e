"""The embedded engine, in process: the shipped library compiled to Wasm, or regopy (rego-cpp).

Two runtimes stand behind the one engine:
- the shipped library alone (the usual case) runs as the Wasm module OPA compiled from it
  (policies/build/, read by gate.engine.wasm_shipped) on wasmtime: OPA's own planner, ~15x faster than
  regopy on large inputs;
- any other policy set (user --policy folders, conftest adapters) runs on regopy, which compiles
  Rego at run time, with strict builtin errors.
`GATE_EMBEDDED_RUNTIME=regopy` (or `wasm`) picks one; the default, `auto`, takes the Wasm module
when it fits the policy set and wasmtime loads it, and regopy otherwise. Both give the same
decisions (tests/test_differential.py); the decision's engine version names the one that ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from gate.engine import parts
from gate.engine.base import DECISION_QUERY, EngineResult, decision_object
from gate.engine.limits import EvalLimits
from gate.errors import ConfigError, EngineError
from gate.policy.policy_set import ConftestNamespace, PolicySet

RUNTIMES = ("auto", "wasm", "regopy")

CALL_RE = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\s*\(")
COMMENT_RE = re.compile(r"#.*$", re.MULTILINE)
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
BUILTIN_NAMESPACES = {
    "array",
    "base64",
    "base64url",
    "bits",
    "crypto",
    "glob",
    "graph",
    "graphql",
    "hex",
    "http",
    "io",
    "json",
    "net",
    "numbers",
    "object",
    "opa",
    "providers",
    "regex",
    "rego",
    "semver",
    "strings",
    "time",
    "units",
    "urlquery",
    "uuid",
    "yaml",
    "sets",
}


class EmbeddedEngine:
    """In process: one Wasm instance or regopy interpreter per policy set, reused across evaluations.

    `limits` bound each evaluation: the Wasm store's memory and an epoch deadline; regopy, which
    cannot be interrupted, evaluates in a forked child process (gate.engine.bounded).
    """

    name = "embedded"

    def __init__(self, runtime: str | None = None, limits: EvalLimits | None = None) -> None:
        chosen = (runtime or os.environ.get("GATE_EMBEDDED_RUNTIME") or "auto").strip().lower()
        if chosen not in RUNTIMES:
            raise ConfigError(
                f"GATE_EMBEDDED_RUNTIME={chosen!r} is not a runtime of the embedded engine",
                "use auto, wasm or regopy",
            )
        self.runtime = chosen
        self.limits = limits or EvalLimits()
        # Above `parts_above` SBOM components the Wasm module evaluates the input in parts of
        # `components_per_part` (gate.engine.parts); tests lower both to check the parts'
        # decision against the whole's.
        self.parts_above = parts.PARTS_ABOVE
        self.components_per_part = parts.COMPONENTS_PER_PART
        self._interp: Any = None
        self._bundle: Any = None
        self._conftest_bundles: dict[str, Any] = {}
        self._digest: str | None = None
        self._wasm: Any = None
        self._wasm_digest: str | None = None
        self._wasm_version = ""
        self._last = "regopy"

    def version(self) -> str:
        """The runtime that decided last (before any decision: the one the engine starts with)."""
        if self._last == "wasm":
            return self._wasm_version
        from gate.engine.regopy_adapter import regopy

        return f"regopy {regopy().__version__}"

    def _wasm_for(self, policy: PolicySet) -> Any:
        """The Wasm instance for the policy set, or None when it must run on regopy."""
        if self.runtime == "regopy":
            return None
        if self._wasm is not None and self._wasm_digest == policy.digest:
            return self._wasm
        from gate.engine.wasm_shipped import shipped_wasm

        found = shipped_wasm(policy.modules)
        if found is None:
            if self.runtime == "wasm":
                raise EngineError(
                    "GATE_EMBEDDED_RUNTIME=wasm, but only the shipped library has a Wasm build",
                    "unset GATE_EMBEDDED_RUNTIME to run other policies on regopy, or use --engine opa",
                )
            return None
        wasm, manifest = found
        from gate.engine.opa_wasm import WasmPolicy, WasmUnsupported

        try:
            instance = self._wasm if self._wasm is not None else WasmPolicy(wasm, limits=self.limits)
        except WasmUnsupported as exc:
            if self.runtime == "wasm":
                raise EngineError(
                    f"the Wasm runtime is unavailable: {exc}", "unset GATE_EMBEDDED_RUNTIME"
                ) from None
            return None
        instance.set_data(json.dumps(policy.data, separators=(",", ":")).encode("utf-8"))
        self._wasm, self._wasm_digest = instance, policy.digest
        from gate.engine.wasm_cache import wasmtime_version

        self._wasm_version = f"opa-wasm ({manifest.get('opa', 'opa')}) on wasmtime {wasmtime_version()}"
        return instance

    def _evaluate_wasm(self, instance: Any, document: dict[str, Any], text: bytes | None) -> dict[str, Any]:
        from gate.input import canonical_bytes

        if parts.component_count(document) <= self.parts_above:
            whole = text if text is not None else canonical_bytes(document)
            return self._wasm_decision(instance, whole)
        deadline = time.monotonic() + self.limits.timeout_seconds
        decisions = []
        for part in parts.split(document, self.components_per_part):
            left = deadline - time.monotonic()
            if left <= 0:
                raise self.limits.time_exceeded("the policy module was interrupted")
            decisions.append(self._wasm_decision(instance, canonical_bytes(part), left))
        return parts.merge(decisions)

    def _wasm_decision(self, instance: Any, text: bytes, timeout: float | None = None) -> dict[str, Any]:
        results = instance.evaluate("gate/main/decision", text, timeout)
        value = results[0].get("result") if isinstance(results, list) and results else None
        return decision_object(value, "the shipped library's Wasm build is broken; reinstall govgate")

    def _missing_builtins(self, interp: Any, modules: dict[str, str]) -> list[tuple[str, str]]:
        missing: list[tuple[str, str]] = []
        for name, source in modules.items():
            code = STRING_RE.sub('""', COMMENT_RE.sub("", source))
            for call in sorted(set(CALL_RE.findall(code))):
                if call.split(".")[0] in BUILTIN_NAMESPACES and not interp.is_builtin(call):
                    missing.append((name, call))
        return missing

    def _load(self, policy: PolicySet) -> Any:
        if self._interp is not None and self._digest == policy.digest:
            return self._interp
        from gate.engine.regopy_adapter import regopy

        Interpreter, RegoError = regopy().Interpreter, regopy().RegoError

        from gate.engine.regopy_adapter import adapted, conftest_query

        interp = Interpreter()
        interp.strict_built_in_errors = True
        # The shipped modules as rewritten for regopy, rego.metadata calls as values
        # (gate.engine.regopy_adapter).
        modules = adapted(policy.modules)
        missing = self._missing_builtins(interp, modules)
        if missing:
            where, call = missing[0]
            raise EngineError(
                f"policy {where} calls {call}(), which the embedded engine does not provide",
                "run with --engine opa (the OPA binary) for this policy",
            )
        # rego-cpp prints a module's syntax errors on stdout, where the report goes: they are
        # kept out of it, and the first one named in the error.
        with native_stdout() as printed:
            try:
                for name, source in sorted(modules.items()):
                    interp.add_module(name, source)
                interp.add_data_json(json.dumps(policy.data, ensure_ascii=False))
                # A bundle compiles the policies once; each query then skips recompiling them.
                self._bundle = interp.build(f"x = {DECISION_QUERY}")
                self._conftest_bundles = {
                    ns.package: interp.build(conftest_query(ns.package, _conftest_rules(ns)))
                    for ns in policy.conftest
                }
            except RegoError as exc:
                failure: str | None = str(exc)
            else:
                failure = None
        if failure is not None:
            detail = _first_error(failure) or _first_error(printed())
            raise EngineError(f"policy does not compile: {detail}", "fix the Rego module named")
        self._interp, self._digest = interp, policy.digest
        return interp

    def load(self, policy: PolicySet) -> None:
        """Load the runtime for the policy set now (the Wasm instance, or regopy's interpreter)
        rather than in the first evaluation; an EngineError here comes again from `evaluate`."""
        if self._wasm_for(policy) is None:
            self._load(policy)

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> EngineResult:
        """Evaluate the decision; a builtin error or an undefined decision is an EngineError."""
        instance = self._wasm_for(policy)
        if instance is not None:
            self._last = "wasm"
            return EngineResult(self._evaluate_wasm(instance, document, text))
        self._last = "regopy"
        interp = self._load(policy)
        from gate.engine.bounded import can_fork, run_bounded

        if not can_fork():  # no fork (Windows): in process, without the bounds
            return EngineResult(decision_object(self._decide_regopy(interp, policy, document)))
        value = run_bounded(
            lambda: self._decide_regopy(interp, policy, document), self.limits, "the regopy evaluation"
        )
        return EngineResult(decision_object(value))

    def _decide_regopy(self, interp: Any, policy: PolicySet, document: dict[str, Any]) -> Any:
        """The decision on regopy: conftest-style rules first, over each file, then the decision
        with their values in the input (gate.engine.regopy_adapter.conftest_values)."""
        if not policy.conftest:
            return self._query_regopy(interp, self._bundle, document)
        from gate.engine.regopy_adapter import CONFTEST_KEY, conftest_values

        files = [f for f in document.get("files") or () if isinstance(f, dict)]
        inputs: list[Any] = (
            [[{"path": f.get("path"), "contents": f.get("contents")} for f in files]]
            if policy.combine
            else [f.get("contents") for f in files]
        )
        values: dict[str, Any] = {}
        for ns in policy.conftest:
            bundle = self._conftest_bundles[ns.package]
            found = [conftest_values(self._query_regopy(interp, bundle, item) or {}) for item in inputs]
            values[ns.package] = {"combined": found[0]} if policy.combine else {"files": found}
        return self._query_regopy(interp, self._bundle, {**document, CONFTEST_KEY: values})

    def _query_regopy(self, interp: Any, bundle: Any, document: Any) -> Any:
        """The value (JSON) of `x` in the bundle's query on regopy, unchecked; evaluation errors
        are EngineErrors."""
        from gate.engine.regopy_adapter import regopy

        Input, NodeKind, RegoError = regopy().Input, regopy().NodeKind, regopy().RegoError

        value: Any = None
        try:
            # Input() builds the term directly: ~2.5x faster than regopy parsing the JSON text.
            interp.set_input(Input(_escaped(document)))
            out = interp.query_bundle(bundle)
            if out.ok() and out.node().kind != NodeKind.Undefined:
                try:
                    node = out.binding("x")
                except ValueError:  # unbound: the decision is undefined
                    node = None
                if node is not None:
                    value = json.loads(node.json())
        except RegoError as exc:
            raise EngineError(
                f"evaluation failed: {_first_error(str(exc))}", "run with --engine opa for details"
            ) from None
        except ValueError as exc:  # regopy could not decode its own output (json.JSONDecodeError)
            raise EngineError(
                f"evaluation failed: the engine returned unreadable output ({exc})", "run with --engine opa"
            ) from None
        if not out.ok():
            detail = _first_error(str(out))
            raise EngineError(
                f"evaluation failed: {detail or 'a builtin function raised an error'}",
                "the embedded engine cannot name the failing call; run with --engine opa for OPA's message",
            )
        return value[0] if isinstance(value, list) else value


@contextlib.contextmanager
def native_stdout() -> Iterator[Callable[[], str]]:
    """Within the block, what native code writes on file descriptor 1 goes to a temporary file
    instead of the process's stdout (the report); the callable returns it after the block."""
    captured: list[str] = []
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 1)
            try:
                yield lambda: "".join(captured)
            finally:
                _flush_native()
                os.dup2(saved, 1)
                tmp.seek(0)
                captured.append(tmp.read(64 * 1024).decode("utf-8", errors="replace"))
    finally:
        os.close(saved)


def _flush_native() -> None:
    """Flush the C library's stdout buffer (C++ streams write through it)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).fflush(None)


def _conftest_rules(ns: ConftestNamespace) -> tuple[str, ...]:
    return (*ns.rules, "exception") if ns.exception else ns.rules


_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f]')


def _escaped(value: Any) -> Any:
    """Strings as rego-cpp's input builder expects them: already JSON-escaped.

    regopy's Input() stores each string as a JSON string token without escaping it, so a quote,
    backslash or control character would corrupt the term. Escaping here gives the same terms as
    regopy parsing the JSON text, at a fraction of the cost.
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1] if _NEEDS_ESCAPE.search(value) else value
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def _first_error(text: str) -> str:
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in ("Errors:", "<error>")
    ]
    return " ".join(lines[:3])[:300]
