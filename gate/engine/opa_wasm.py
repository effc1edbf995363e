"""A host for policies compiled by `opa build -t wasm`, over wasmtime, in process.

It speaks OPA's Wasm ABI 1.x: the module imports its memory and the `opa_builtin0`..`opa_builtin4`
and `opa_abort` functions; the host parses the data document once into the module's heap, then
for each evaluation resets the heap to just after it, copies the input JSON in and calls
`opa_eval`, which returns the result set as JSON text.

Calls between Python and the module go through wasmtime-py's public API only (`Func.__call__`,
`Func(store, type, fn)`, `Memory.read`/`Memory.write`).

Builtins the module does not carry natively (the SDK-dependent ones OPA lists in the module's
`builtins` export) are computed here by gate.engine.wasm_builtins; a module that needs one of
those that is not implemented is refused when it loads.

Bounds (gate.engine.limits): the store's memory is capped, so a module that needs more sees its
memory growth refused and aborts (an EngineError, never a crash); an evaluation is interrupted at
its time bound (wasmtime's epoch interruption); every read of the module's memory is checked
against the memory's current size, and a result larger than its bound is an EngineError.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from gate.engine.limits import EvalLimits
from gate.engine.wasm_builtins import HOST_BUILTINS, BuiltinFailure
from gate.engine.wasm_cache import load_module
from gate.errors import EngineError

ABI_MAJOR = 1
ABI_MIN_MINOR = 2  # opa_eval, the one-call evaluation, is ABI 1.2
_MAX_REMEMBERED = 100_000
# Builtin calls whose arguments' JSON is longer than this are not remembered (they are rare, and
# would keep large texts alive).
_MAX_REMEMBERED_KEY = 4096
# The largest result (JSON text) read back from the module, unless the caller gives another.
DEFAULT_MAX_RESULT_BYTES = 1024 * 1024 * 1024
_WASM32_MAX_BYTES = 4 * 1024 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
_MAX_ABORT_MESSAGE = 4096
# Outside an evaluation the epoch deadline is this far away: never reached.
_NO_DEADLINE = 1 << 62
# The module's i32 values are addresses and sizes: unsigned (memory past 2 GiB has addresses
# that read as negative numbers).
_U32 = 0xFFFFFFFF


class WasmUnsupported(Exception):
    """The module cannot run on this host (ABI, a builtin, wasmtime); the caller falls back."""


class _Abort(Exception):
    """The module called opa_abort (or a builtin failed): evaluation stops with this message."""


class _Interrupted(_Abort):
    """The evaluation reached its time bound (the epoch deadline)."""


class _TooLarge(_Abort):
    """A text in the module's memory is longer than the bound read back."""

    def __init__(self, bound: int) -> None:
        super().__init__(f"a result larger than {bound:,} bytes")
        self.bound = bound


class _Calls:
    """Calls into the module's exports, and host functions for its imports (wasmtime's public API)."""

    def __init__(self, wasmtime: Any, store: Any) -> None:
        self._wasmtime = wasmtime
        self._store = store

    def export(self, func: Any, nparams: int) -> Callable[..., int]:
        """A Python callable for an exported function of `nparams` i32 parameters returning one
        i32 (or none), its values unsigned."""
        store = self._store

        def call(*args: int) -> int:
            out = func(store, *(a - (1 << 32) if a > 0x7FFFFFFF else a for a in args))
            return int(out) & _U32 if out is not None else 0

        return call

    def host(self, nparams: int, nresults: int, fn: Callable[..., int | None]) -> Any:
        """A wasmtime function of `nparams` i32 parameters (and 0 or 1 i32 result) calling `fn`
        with unsigned values; what `fn` raises is raised again where the export call returns."""
        wt = self._wasmtime
        i32 = wt.ValType.i32()
        ty = wt.FuncType([i32] * nparams, [i32] * nresults)
        return wt.Func(self._store, ty, lambda *args: fn(*(a & _U32 for a in args)))


def _trap_abort(problem: Exception) -> _Abort:
    """The _Abort for a trap: _Interrupted when the epoch deadline stopped the module."""
    from wasmtime import Trap, TrapCode

    if isinstance(problem, Trap) and problem.trap_code == TrapCode.INTERRUPT:
        return _Interrupted("interrupted at the time bound")
    text = str(problem).strip().splitlines()
    return _Abort(f"the policy module trapped ({text[0] if text else 'no detail'})")


class WasmPolicy:
    """One compiled policy module, instantiated once; `evaluate` may be called many times.

    `limits` bound each evaluation's time and the module's memory; `max_result_bytes` the JSON
    text of a result.
    """

    _malloc: Callable[..., int]
    _json_parse: Callable[..., int]
    _json_dump: Callable[..., int]
    _heap_get: Callable[..., int]
    _heap_set: Callable[..., int]
    _eval: Callable[..., int]
    _base_heap: int
    _eval_heap: int
    _data_addr: int

    def __init__(
        self,
        wasm: bytes,
        *,
        limits: EvalLimits | None = None,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    ) -> None:
        try:
            import wasmtime
        except ImportError as exc:  # no wheel for this platform
            raise WasmUnsupported(f"wasmtime is not installed ({exc})") from None
        self._wasmtime = wasmtime
        self.limits = limits or EvalLimits()
        self.max_result_bytes = max_result_bytes
        try:
            config = wasmtime.Config()
            config.epoch_interruption = True  # the time bound: a timer moves the epoch on
            engine = wasmtime.Engine(config)
            self._engine = engine
            self._store = wasmtime.Store(engine)
            self._store.set_epoch_deadline(_NO_DEADLINE)
            # Growth past the bound is refused (memory.grow returns -1): the module's allocator
            # then aborts, which is an EngineError here, not a crash.
            self._store.set_limits(memory_size=min(self.limits.memory_bytes, _WASM32_MAX_BYTES))
            module = load_module(wasmtime, engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise WasmUnsupported(f"the module does not load: {str(exc).splitlines()[0]}") from None
        self._calls = _Calls(wasmtime, self._store)
        self._results: dict[tuple[int, str], bytes] = {}
        self._builtin_ids: dict[int, str] = {}
        imports: list[Any] = []
        self._memory: Any = None
        for imp in module.imports:
            imports.append(self._import(imp))
        try:
            instance = wasmtime.Instance(self._store, module, imports)
        except wasmtime.WasmtimeError as exc:
            raise WasmUnsupported(f"the module does not instantiate: {str(exc).splitlines()[0]}") from None
        exports: Any = instance.exports(
            self._store
        )  # read defensively below: any export may be missing or odd
        if not self._has_memory():
            raise WasmUnsupported("the module does not import its memory")

        def fn(name: str, nparams: int) -> Callable[..., int]:
            try:
                return self._calls.export(exports[name], nparams)
            except KeyError:
                raise WasmUnsupported(f"the module has no export {name}") from None

        try:
            major = int(exports["opa_wasm_abi_version"].value(self._store))
            minor = int(exports["opa_wasm_abi_minor_version"].value(self._store))
        except (KeyError, AttributeError, TypeError, ValueError):
            raise WasmUnsupported("the module names no OPA Wasm ABI version") from None
        if major != ABI_MAJOR or minor < ABI_MIN_MINOR:
            raise WasmUnsupported(f"OPA Wasm ABI {major}.{minor} is not supported (needs 1.{ABI_MIN_MINOR}+)")
        self._malloc = fn("opa_malloc", 1)
        self._json_parse = fn("opa_json_parse", 2)
        self._json_dump = fn("opa_json_dump", 1)
        self._heap_get = fn("opa_heap_ptr_get", 0)
        self._heap_set = fn("opa_heap_ptr_set", 1)
        self._eval = fn("opa_eval", 7)
        try:
            self._builtin_ids = {v: k for k, v in self._dump(fn("builtins", 0)()).items()}
            self.entrypoints: dict[str, int] = dict(self._dump(fn("entrypoints", 0)()))
        except (_Abort, ValueError, AttributeError, TypeError):
            raise WasmUnsupported("the module does not list its builtins and entrypoints") from None
        missing = sorted(set(self._builtin_ids.values()) - set(HOST_BUILTINS))
        if missing:
            raise WasmUnsupported(f"the module needs builtins this host lacks: {', '.join(missing)}")
        self._data_addr = 0
        self._base_heap = self._heap_get()

    @property
    def builtin_names(self) -> set[str]:
        """The builtins the module asks its host for."""
        return set(self._builtin_ids.values())

    def _import(self, imp: Any) -> Any:
        wt = self._wasmtime
        if imp.module != "env":
            raise WasmUnsupported(f"unknown import {imp.module}.{imp.name}")
        if imp.name == "memory":
            limits = imp.type.limits
            self._memory = wt.Memory(self._store, wt.MemoryType(wt.Limits(limits.min, None)))
            return self._memory
        if imp.name == "opa_abort":
            return self._calls.host(1, 0, self._abort)
        if imp.name == "opa_println":
            return self._calls.host(1, 0, lambda _addr: None)
        if imp.name.startswith("opa_builtin") and imp.name[-1].isdigit():
            arity = int(imp.name[len("opa_builtin") :])
            return self._calls.host(arity + 2, 1, self._builtin)
        raise WasmUnsupported(f"unknown import env.{imp.name}")

    # ----------------------------------------------------------------- memory

    def _has_memory(self) -> bool:
        """Whether the module imported its memory (`_import` sets it)."""
        return self._memory is not None

    def _size(self) -> int:
        return int(self._memory.data_len(self._store))

    def _read(self, addr: int, limit: int | None = None) -> bytes:
        """The NUL-terminated bytes at addr, read only inside the memory's current size; more
        than `limit` bytes (default: the result bound) is an _Abort."""
        size = self._size()
        if not 0 < addr < size:
            raise _Abort(f"the module returned an address outside its memory ({addr})")
        bound = self.max_result_bytes if limit is None else limit
        parts: list[bytes] = []
        pos, total, chunk = addr, 0, 4096
        while pos < size:
            piece = bytes(self._memory.read(self._store, pos, min(pos + chunk, size)))  # checked length
            end = piece.find(b"\0")
            if end >= 0:
                piece = piece[:end]
            total += len(piece)
            if total > bound:
                raise _TooLarge(bound)
            parts.append(piece)
            if end >= 0:
                return b"".join(parts)
            pos += len(piece)
            chunk = min(chunk * 2, _READ_CHUNK)
        raise _Abort("the module returned text without an end inside its memory")

    def _write(self, data: bytes) -> int:
        addr: int = self._malloc(len(data))
        if addr <= 0 or addr + len(data) > self._size():
            raise _Abort(f"the module's allocator returned no room for {len(data)} bytes")
        self._memory.write(self._store, data, addr)
        return addr

    def _dump(self, value_addr: int) -> Any:
        return json.loads(self._read(self._json_dump(value_addr)))

    def _value_of_json(self, text: bytes) -> int:
        addr: int = self._json_parse(self._write(text), len(text))
        if not addr:
            raise _Abort("the host could not hand a value to the module")
        return addr

    def _argument(self, addr: int) -> tuple[Any, int]:
        """A builtin argument as a Python value, and the size of its JSON."""
        text = self._read(self._json_dump(addr))
        return json.loads(text), len(text)

    # ----------------------------------------------------------------- host functions

    def _abort(self, addr: int) -> None:
        try:
            message = self._read(addr, _MAX_ABORT_MESSAGE).decode("utf-8", "replace")
        except _TooLarge:
            message = "the module aborted with an overlong message"
        raise _Abort(message)

    def _builtin(self, builtin_id: int, _ctx: int, *args: int) -> int:
        # The host builtins are pure: a call is remembered by its arguments' JSON (a decision
        # makes thousands of calls on a few hundred distinct values).
        name = self._builtin_ids.get(builtin_id, f"#{builtin_id}")
        impl = HOST_BUILTINS.get(name)
        if impl is None:
            raise _Abort(f"builtin {name} is not available")
        try:
            read = [self._argument(a) for a in args]
        except BuiltinFailure as exc:
            raise _Abort(f"{name}: {exc}") from None
        values = [value for value, _ in read]
        remember = sum(size for _, size in read) <= _MAX_REMEMBERED_KEY
        # Remembered by the arguments' JSON, when short.
        key = (builtin_id, json.dumps(values) if remember else "")
        known = self._results.get(key) if remember else None
        if known is None:
            try:
                result = impl(*values)
            except BuiltinFailure as exc:
                raise _Abort(f"{name}: {exc}") from None
            known = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            if remember:
                if len(self._results) >= _MAX_REMEMBERED:
                    self._results.clear()
                self._results[key] = known
        return self._value_of_json(known)

    # ----------------------------------------------------------------- evaluation

    def set_data(self, data_json: bytes) -> None:
        """Parse the data document into the heap; every later evaluation reads it."""
        self._heap_set(self._base_heap)
        try:
            addr = self._json_parse(self._write(data_json), len(data_json))
        except _Abort as exc:
            raise EngineError(
                f"the policy data does not load: {exc}", "check the config and --data files"
            ) from None
        if not addr:
            raise EngineError("the policy data is not valid JSON for the module", "check --data files")
        self._data_addr = addr
        self._eval_heap = self._heap_get()

    def evaluate(self, entrypoint: str, input_json: bytes, timeout: float | None = None) -> Any:
        """The result set of `entrypoint` for the input (JSON text): a list of {"result": …}.

        Past the time bound (`timeout` seconds, or the limits'), the memory bound, or for a
        result over its bound, an EngineError.
        """
        try:
            ep = self.entrypoints[entrypoint]
        except KeyError:
            raise EngineError(f"the compiled policy has no entrypoint {entrypoint}", "rebuild it") from None
        seconds = (
            self.limits.timeout_seconds if timeout is None else min(timeout, self.limits.timeout_seconds)
        )
        timer = threading.Timer(seconds, self._engine.increment_epoch)
        timer.daemon = True
        try:
            self._heap_set(self._eval_heap)
            addr = self._write(input_json)
            heap = self._heap_get()
            self._store.set_epoch_deadline(1)
            timer.start()
            out = self._eval(0, ep, self._data_addr, addr, len(input_json), heap, 0)
            timer.cancel()
            self._store.set_epoch_deadline(_NO_DEADLINE)
            text = self._read(out)
        except _Interrupted:
            raise self.limits.time_exceeded("the policy module was interrupted") from None
        except _TooLarge as exc:
            raise EngineError(
                f"evaluation failed: the decision is {exc}",
                "check the policies and input for runaway findings",
            ) from None
        except _Abort as exc:
            raise self._failure(str(exc)) from None
        except (self._wasmtime.WasmtimeError, self._wasmtime.Trap) as exc:
            problem = _trap_abort(exc)
            if isinstance(problem, _Interrupted):
                raise self.limits.time_exceeded("the policy module was interrupted") from None
            raise self._failure(str(problem)) from None
        finally:
            timer.cancel()
            self._store.set_epoch_deadline(_NO_DEADLINE)
        return json.loads(text)

    def _failure(self, detail: str) -> EngineError:
        """The EngineError for an abort or trap: out of memory when the memory reached its bound."""
        # The allocator aborts when memory.grow is refused; a trap can follow a failed allocation.
        near_bound = self._size() + 64 * 65536 > min(self.limits.memory_bytes, _WASM32_MAX_BYTES)
        if near_bound or "malloc" in detail:
            return self.limits.memory_exceeded(f"the policy module ran out of memory ({detail})")
        return EngineError(f"evaluation failed: {detail}", "run with --engine opa for OPA's message")
