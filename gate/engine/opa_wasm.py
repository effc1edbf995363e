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
"""

from __future__ import annotations

import ctypes
import json
import threading
from collections.abc import Callable
from typing import Any

from gate.engine.wasm_builtins import HOST_BUILTINS, BuiltinFailure
from gate.engine.wasm_cache import load_module
from gate.errors import EngineError

ABI_MAJOR = 1
ABI_MIN_MINOR = 2  # opa_eval, the one-call evaluation, is ABI 1.2
_MAX_REMEMBERED = 100_000


class WasmUnsupported(Exception):
    """The module cannot run on this host (ABI, a builtin, wasmtime); the caller falls back."""


class _Abort(Exception):
    """The module called opa_abort (or a builtin failed): evaluation stops with this message."""


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
                out = func(store, *args)
                return int(out) if out is not None else 0

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
            return int(slots[0].i32)

        return fast

    def host(self, nparams: int, nresults: int, fn: Callable[..., int | None]) -> Any:
        """A wasmtime function of `nparams` i32 parameters (and 0 or 1 i32 result) calling `fn`."""
        wt = self._wasmtime
        i32 = wt.ValType.i32()
        ty = wt.FuncType([i32] * nparams, [i32] * nresults)
        if self.raw is None:
            return wt.Func(self._store, ty, fn)
        b = self.raw

        def callback(_env: Any, _caller: Any, slots: Any, _n: int) -> int:
            try:
                out = fn(*(slots[i].i32 for i in range(nparams)))
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
    text = str(problem).strip().splitlines()
    raise _Abort(f"the policy module trapped ({text[0] if text else 'no detail'})")


class WasmPolicy:
    """One compiled policy module, instantiated once; `evaluate` may be called many times.

    `fast=False` keeps to wasmtime-py's public API (the raw entry points are then never used).
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

    def __init__(self, wasm: bytes, *, fast: bool = True) -> None:
        try:
            import wasmtime
        except ImportError as exc:  # no wheel for this platform
            raise WasmUnsupported(f"wasmtime is not installed ({exc})") from None
        self._wasmtime = wasmtime
        try:
            engine = wasmtime.Engine()
            self._store = wasmtime.Store(engine)
            module = load_module(wasmtime, engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise WasmUnsupported(f"the module does not load: {str(exc).splitlines()[0]}") from None
        self._calls = _Calls(wasmtime, self._store, fast)
        self._results: dict[tuple[Any, ...], bytes] = {}
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

    def _read(self, addr: int) -> bytes:
        return ctypes.string_at(self._base() + addr)

    def _write(self, data: bytes) -> int:
        addr: int = self._malloc(len(data))
        ctypes.memmove(self._base() + addr, data, len(data))
        return addr

    def _dump(self, value_addr: int) -> Any:
        return json.loads(self._read(self._json_dump(value_addr)))

    def _value_of_json(self, text: bytes) -> int:
        addr: int = self._json_parse(self._write(text), len(text))
        if not addr:
            raise _Abort("the host could not hand a value to the module")
        return addr

    # ----------------------------------------------------------------- host functions

    def _abort(self, addr: int) -> None:
        raise _Abort(self._read(addr).decode("utf-8", "replace"))

    def _builtin(self, builtin_id: int, _ctx: int, *args: int) -> int:
        # The host builtins are pure: a call is remembered by its arguments' JSON (a decision
        # makes thousands of calls on a few hundred distinct values).
        key: tuple[Any, ...] = (builtin_id, *(self._read(self._json_dump(a)) for a in args))
        known = self._results.get(key)
        if known is None:
            name = self._builtin_ids.get(builtin_id, f"#{builtin_id}")
            impl = HOST_BUILTINS.get(name)
            if impl is None:
                raise _Abort(f"builtin {name} is not available")
            try:
                result = impl(*(json.loads(text) for text in key[1:]))
            except BuiltinFailure as exc:
                raise _Abort(f"{name}: {exc}") from None
            known = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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

    def evaluate(self, entrypoint: str, input_json: bytes, running: threading.Event | None = None) -> Any:
        """The result set of `entrypoint` for the input (JSON text): a list of {"result": …}.

        `running`, when given, is set as the module starts evaluating: from then on until the
        result is back, this thread runs no Python, and other threads can.
        """
        try:
            ep = self.entrypoints[entrypoint]
        except KeyError:
            raise EngineError(f"the compiled policy has no entrypoint {entrypoint}", "rebuild it") from None
        try:
            self._heap_set(self._eval_heap)
            addr = self._write(input_json)
            heap = self._heap_get()
            if running is not None:
                running.set()
            out = self._eval(0, ep, self._data_addr, addr, len(input_json), heap, 0)
            text = self._read(out)
        except _Abort as exc:
            raise EngineError(
                f"evaluation failed: {exc}", "run with --engine opa for OPA's message"
            ) from None
        except (self._wasmtime.WasmtimeError, self._wasmtime.Trap) as exc:
            raise EngineError(
                f"evaluation failed: the policy module trapped ({str(exc).splitlines()[0]})",
                "run with --engine opa",
            ) from None
        finally:
            _PENDING.clear()
        return json.loads(text)
