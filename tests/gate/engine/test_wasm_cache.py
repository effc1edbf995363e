"""The cache of compiled Wasm modules: used when trusted, rebuilt when not, off when asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.engine import wasm_cache
from gate.engine.wasm_shipped import shipped_wasm
from gate.policy.policy_set import shipped_modules


@pytest.fixture
def wasm() -> bytes:
    modules, _ = shipped_modules()
    found = shipped_wasm(modules)
    assert found is not None
    return found[0]


def _load(wasm: bytes) -> object:
    import wasmtime

    return wasm_cache.load_module(wasmtime, wasmtime.Engine(), wasm)


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wasm: bytes) -> Path:
    """The compiled copy a first load left in a cache under tmp_path (the cache stays set)."""
    monkeypatch.setenv("GATE_CACHE_DIR", str(tmp_path))
    _load(wasm)
    [copy] = sorted((tmp_path / "wasm").glob("*.cwasm"))
    return copy


def test_first_load_stores_a_private_compiled_copy_the_next_load_reads(
    tmp_path: Path, stored: Path, wasm: bytes
) -> None:
    assert stored.stat().st_mode & 0o077 == 0
    assert (tmp_path / "wasm").stat().st_mode & 0o077 == 0
    before = stored.stat().st_mtime_ns
    module = _load(wasm)
    assert stored.stat().st_mtime_ns == before  # read, not written again
    assert {i.name for i in module.imports} >= {"memory", "opa_abort"}  # type: ignore[attr-defined]


def test_a_damaged_copy_is_compiled_again_and_replaced(stored: Path, wasm: bytes) -> None:
    stored.write_bytes(b"not a compiled module")
    module = _load(wasm)
    assert {i.name for i in module.imports} >= {"memory"}  # type: ignore[attr-defined]
    assert stored.read_bytes() != b"not a compiled module"


def test_a_copy_others_can_write_is_never_loaded(
    stored: Path, monkeypatch: pytest.MonkeyPatch, wasm: bytes
) -> None:
    os.chmod(stored, 0o666)
    calls: list[str] = []
    import wasmtime

    real = wasmtime.Module.deserialize_file

    def spy(*args: object) -> object:
        calls.append("deserialize")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(wasmtime.Module, "deserialize_file", staticmethod(spy))
    _load(wasm)
    assert calls == []


def test_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wasm: bytes) -> None:
    monkeypatch.setenv("GATE_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert wasm_cache.cache_dir() is None
    _load(wasm)
    assert not any(tmp_path.rglob("*.cwasm"))


def test_unwritable_cache_only_costs_the_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wasm: bytes
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GATE_CACHE_DIR", str(blocker))
    module = _load(wasm)
    assert {i.name for i in module.imports} >= {"memory"}  # type: ignore[attr-defined]


def test_default_location_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert wasm_cache.cache_dir() == tmp_path / "govgate" / "wasm"
