"""A host for policies compiled by `opa build -t wasm`, over wasmtime, in process.

It speaks OPA's Wasm ABI 1.x: the module imports its memory and the `opa_builtin0`..`opa_builtin4`
and `opa_abort` functions; the host parses the data document once into the module's heap, then
for each evaluation resets the heap to just after it, copies the input JSON in and calls
`opa_eval`, which returns the result set as JSON text.

Calls between Python and the module go through wasmtime's raw ("unchecked") C entry points where
the installed wasmtime-py has them: its public `Func.__call__` checks the function's type on every
call, which costs ~60 µs, and a decision makes thousands of calls into the module from its
builtins. Where they are missing the public API is used; the results are the same, only slower.

Builtins the module does not carry natively (the SDK-dependent ones OPA lists in the module's
`builtins` export) are computed here by gate.engine.wasm_builtins; a module that needs one of
those that is not implemented is refused when it loads.

Bounds (gate.engine.limits): the store's memory is capped, so a module that needs more sees its
memory growth refused and aborts (an EngineError, never a crash); an evaluation is interrupted at
its time bound (wasmtime's epoch interruption); every read of the module's memory is checked
against the memory's current size, and a result larger than its bound is an EngineError.
"""

from __future__ import annotations

import ctypes
import json
import threading
from collections.abc import Callable
from typing import Any

from gate.engine.limits import EvalLimits
from gate.engine.wasm_builtins import HOST_BUILTINS, SET_ARGUMENTS, BuiltinFailure, RegoSet
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
    """Calls into the module's exports and host functions for its imports, fast where possible."""

    def __init__(self, wasmtime: Any, store: Any, fast: bool) -> None:
        self._wasmtime = wasmtime
        self._store = store
        self.raw: Any = None
        if not fast:
            return
        try:
            from wasmtime import _bindings

            needed = (
                "_wasmtime_func_call_unchecked",
                "_wasmtime_func_new_unchecked",
                "wasmtime_func_unchecked_callback_t",
                "wasmtime_val_raw_t",
                "wasm_trap_t",
                "wasmtime_func_t",
                "_wasmtime_trap_new",
                "_wasmtime_error_delete",
                "_wasm_trap_delete",
            )
            if all(hasattr(_bindings, n) for n in needed) and hasattr(store, "_context"):
                self.raw = _bindings
        except ImportError:
            self.raw = None
        self._keep: list[Any] = []  # ctypes callbacks must outlive the module

    @property
    def fast(self) -> bool:
        """Whether the raw entry points are in use."""
        return self.raw is not None

    def export(self, func: Any, nparams: int) -> Callable[..., int]:
        """A Python callable for an exported function of i32 parameters returning one i32 (or none)."""
        if self.raw is None:
            store = self._store

            def slow(*args: int) -> int:
                out = func(store, *(a - (1 << 32) if a > 0x7FFFFFFF else a for a in args))
                return int(out) & _U32 if out is not None else 0

            return slow
        b = self.raw
        slots = (b.wasmtime_val_raw_t * max(nparams, 1))()
        func_ref = ctypes.byref(func._func)
        context = self._store._context()
        call = b._wasmtime_func_call_unchecked
        trap_type = ctypes.POINTER(b.wasm_trap_t)
        count = max(nparams, 1)

        def fast(*args: int) -> int:
            for i, a in enumerate(args):
                slots[i].i32 = a
            trap = trap_type()
            error = call(context, func_ref, slots, count, ctypes.byref(trap))
            if error or trap:
                _raise_from(error, trap)
            return int(slots[0].i32) & _U32

        return fast

    def host(self, nparams: int, nresults: int, fn: Callable[..., int | None]) -> Any:
        """A wasmtime function of `nparams` i32 parameters (and 0 or 1 i32 result) calling `fn`."""
        wt = self._wasmtime
        i32 = wt.ValType.i32()
        ty = wt.FuncType([i32] * nparams, [i32] * nresults)
        if self.raw is None:
            return wt.Func(self._store, ty, lambda *args: fn(*(a & _U32 for a in args)))
        b = self.raw

        def callback(_env: Any, _caller: Any, slots: Any, _n: int) -> int:
            try:
                out = fn(*(slots[i].i32 & _U32 for i in range(nparams)))
                if nresults:
                    slots[0].i32 = int(out or 0)
                return 0
            except BaseException as exc:  # handed back to the caller of the export
                _PENDING.append(exc)
                message = b"host function failed"
                return int(
                    ctypes.cast(b._wasmtime_trap_new(message, len(message)), ctypes.c_void_p).value or 0
                )

        c_callback = b.wasmtime_func_unchecked_callback_t(callback)
        finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _env: None)
        self._keep += [c_callback, finalizer]
        out = b.wasmtime_func_t()
        b._wasmtime_func_new_unchecked(
            self._store._context(), ty.ptr(), c_callback, None, finalizer, ctypes.byref(out)
        )
        return wt.Func._from_raw(out)


# Exceptions raised inside host functions, re-raised where the export call returns.
_PENDING: list[BaseException] = []


def _raise_from(error: Any, trap: Any) -> None:
    """Raise for a failed raw call: the host function's exception if one failed, else the trap."""
    from wasmtime import Trap, WasmtimeError

    problem: Exception = WasmtimeError._from_ptr(error) if error else Trap._from_ptr(trap)
    pending = _PENDING.pop() if _PENDING else None
    _PENDING.clear()
    if isinstance(pending, _Abort):
        raise pending from None
    if pending is not None:
        raise _Abort(f"a host function failed: {pending!r}") from None
    raise _trap_abort(problem)


def _trap_abort(problem: Exception) -> _Abort:
    """The _Abort for a trap: _Interrupted when the epoch deadline stopped the module."""
    from wasmtime import Trap, TrapCode

    if isinstance(problem, Trap) and problem.trap_code == TrapCode.INTERRUPT:
        return _Interrupted("interrupted at the time bound")
    text = str(problem).strip().splitlines()
    return _Abort(f"the policy module trapped ({text[0] if text else 'no detail'})")


class WasmPolicy:
    """One compiled policy module, instantiated once; `evaluate` may be called many times.

    `fast=False` keeps to wasmtime-py's public API (the raw entry points are then never used).
    `limits` bound each evaluation's time and the module's memory; `max_result_bytes` the JSON
    text of a result.
    """

    _malloc: Callable[..., int]
    _json_parse: Callable[..., int]
    _json_dump: Callable[..., int]
    _value_dump: Callable[..., int]
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
        fast: bool = True,
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
        self._calls = _Calls(wasmtime, self._store, fast)
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
        exports = instance.exports(self._store)
        if self._memory is None:
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
        self._value_dump = fn("opa_value_dump", 1)
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
    def fast_calls(self) -> bool:
        """Whether calls use wasmtime's raw entry points."""
        return self._calls.fast

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

    def _base(self) -> int:
        return int(ctypes.addressof(self._memory.data_ptr(self._store).contents))

    def _size(self) -> int:
        return int(self._memory.data_len(self._store))

    def _read(self, addr: int, limit: int | None = None) -> bytes:
        """The NUL-terminated bytes at addr, read only inside the memory's current size; more
        than `limit` bytes (default: the result bound) is an _Abort."""
        size = self._size()
        if not 0 < addr < size:
            raise _Abort(f"the module returned an address outside its memory ({addr})")
        bound = self.max_result_bytes if limit is None else limit
        base = self._base()
        parts: list[bytes] = []
        pos, total, chunk = addr, 0, 4096
        while pos < size:
            piece = ctypes.string_at(base + pos, min(chunk, size - pos))  # checked length
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
        ctypes.memmove(self._base() + addr, data, len(data))
        return addr

    def _dump(self, value_addr: int) -> Any:
        return json.loads(self._read(self._json_dump(value_addr)))

    def _value_of_json(self, text: bytes) -> int:
        addr: int = self._json_parse(self._write(text), len(text))
        if not addr:
            raise _Abort("the host could not hand a value to the module")
        return addr

    def _argument(self, addr: int, sets: bool) -> tuple[Any, int]:
        """A builtin argument as a Python value (when `sets`, a set as a RegoSet), and its size.

        JSON has no sets (opa_json_dump writes them as arrays). For the builtins that treat sets
        differently the Rego form (opa_value_dump) is read instead: it is JSON unless the value
        holds a set (`{"a", "b"}`, `set()`) or a non-string key. A set at the top is taken; a set
        or a non-string key further down is refused rather than handled differently from OPA.
        """
        if not sets:
            text = self._read(self._json_dump(addr))
            return json.loads(text), len(text)
        rego = self._read(self._value_dump(addr))
        if rego == b"set()":
            return RegoSet(), len(rego)
        try:
            return json.loads(rego), len(rego)
        except ValueError:
            pass
        if rego[:1] == b"{" and rego[-1:] == b"}":
            try:
                return RegoSet(json.loads(b"[" + rego[1:-1] + b"]")), len(rego)
            except ValueError:
                pass
        raise BuiltinFailure("the host does not handle sets or non-string keys inside a value")

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
            read = [self._argument(a, name in SET_ARGUMENTS) for a in args]
        except BuiltinFailure as exc:
            raise _Abort(f"{name}: {exc}") from None
        values = [value for value, _ in read]
        remember = sum(size for _, size in read) <= _MAX_REMEMBERED_KEY
        # Remembered by the arguments' JSON (a set's items in the module's order), when short.
        key = (builtin_id, json.dumps([[type(v) is RegoSet, v] for v in values]) if remember else "")
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

    def evaluate(
        self,
        entrypoint: str,
        input_json: bytes,
        running: threading.Event | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The result set of `entrypoint` for the input (JSON text): a list of {"result": …}.

        `running`, when given, is set as the module starts evaluating: from then on until the
        result is back, this thread runs no Python, and other threads can. Past the time bound
        (`timeout` seconds, or the limits'), the memory bound, or for a result over its bound,
        an EngineError.
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
            if running is not None:
                running.set()
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
            _PENDING.clear()
        return json.loads(text)

    def _failure(self, detail: str) -> EngineError:
        """The EngineError for an abort or trap: out of memory when the memory reached its bound."""
        # The allocator aborts when memory.grow is refused; a trap can follow a failed allocation.
        near_bound = self._size() + 64 * 65536 > min(self.limits.memory_bytes, _WASM32_MAX_BYTES)
        if near_bound or "malloc" in detail:
            return self.limits.memory_exceeded(f"the policy module ran out of memory ({detail})")
        return EngineError(f"evaluation failed: {detail}", "run with --engine opa for OPA's message")
