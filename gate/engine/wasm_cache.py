"""A cache of Wasm modules compiled to machine code, so a process loads a policy in milliseconds.

wasmtime takes ~0.4 s to compile the shipped library; its serialised form loads in ~1 ms. The
compiled form is keyed by the module's sha256, wasmtime's version and the machine, and kept in
`$GATE_CACHE_DIR`, else `$XDG_CACHE_HOME/govgate`, else `~/.cache/govgate`. wasmtime trusts what
it deserialises, like Python trusts its .pyc files, so only a file the current user owns, in a
folder only that user can write, is loaded; anything else is compiled afresh. `GATE_CACHE_DIR=off`
turns the cache off. A cache that cannot be written costs only the compile time.
"""

from __future__ import annotations

import hashlib
import os
import platform
import stat
import tempfile
from functools import cache
from pathlib import Path
from typing import Any


def cache_dir() -> Path | None:
    """The folder of compiled modules, or None when the cache is off."""
    configured = os.environ.get("GATE_CACHE_DIR")
    if configured is not None and configured.strip().lower() in ("off", "0", "none", ""):
        return None
    if configured:
        base = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) / "govgate" if xdg else Path.home() / ".cache" / "govgate"
    return base / "wasm"


def _private(path: Path) -> bool:
    """Owned by this user and writable by no one else (files and folders alike)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _key(wasmtime: Any, wasm: bytes) -> str:
    # "epoch": compiled with epoch interruption (gate.engine.opa_wasm's time bound), which a
    # module compiled without it cannot be loaded into.
    host = f"{wasmtime_version()}-{platform.machine()}-{platform.system()}-epoch"
    tag = f"{hashlib.sha256(wasm).hexdigest()}-{host}"
    return hashlib.sha256(tag.encode()).hexdigest()[:40]


@cache
def wasmtime_version() -> str:
    """The installed wasmtime-py's version, from its dist-info folder beside the package (a
    metadata look-up over every installed distribution takes ~25 ms)."""
    import wasmtime

    site = Path(wasmtime.__file__).resolve().parent.parent
    for info in site.glob("wasmtime-*.dist-info"):
        return info.name[len("wasmtime-") : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:
        return "unknown"


def load_module(wasmtime: Any, engine: Any, wasm: bytes) -> Any:
    """The compiled module for `wasm`: from the cache when a trusted copy is there, else compiled
    (and stored for the next process)."""
    folder = cache_dir()
    if folder is None:
        return wasmtime.Module(engine, wasm)
    target = folder / f"{_key(wasmtime, wasm)}.cwasm"
    if _private(folder) and _private(target):
        try:
            return wasmtime.Module.deserialize_file(engine, str(target))
        except (wasmtime.WasmtimeError, OSError):
            pass  # stale or damaged: compile again and replace it
    module = wasmtime.Module(engine, wasm)
    _store(folder, target, module)
    return module


def _store(folder: Path, target: Path, module: Any) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(folder):
            return
        blob = module.serialize()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".cwasm")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return
