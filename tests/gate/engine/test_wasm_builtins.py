"""The host's builtins print what OPA prints, and refuse what they do not implement."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from gate.engine.wasm_builtins import HOST_BUILTINS, BuiltinFailure, hex_encode
from tests.helpers import require_binary

HEX_CASES = ["", "abc", "é", "日本", "\x00\x7f", '"\\']


def _opa(query_values: list[str]) -> list[Any]:
    """What `opa eval` gives for a list of builtin calls, in order."""
    query = "x := [" + ", ".join(query_values) + "]"
    proc = subprocess.run(
        [require_binary("opa"), "eval", "--format", "json", "--strict-builtin-errors", query],
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[Any] = json.loads(proc.stdout)["result"][0]["bindings"]["x"]
    return result


def test_hex_encode_encodes_what_opa_encodes() -> None:
    assert [hex_encode(s) for s in HEX_CASES] == _opa([f"hex.encode({json.dumps(s)})" for s in HEX_CASES])


def test_the_host_provides_only_the_builtins_the_shipped_library_needs() -> None:
    """The host builtins are exactly those the shipped build asks for: a module that needs any
    other runs on regopy or OPA, not on a host builtin of its own."""
    from gate.engine.opa_wasm import WasmPolicy
    from gate.engine.wasm_shipped import shipped_wasm
    from gate.policy.policy_set import build_policy_set

    found = shipped_wasm(build_policy_set([], {}, []).modules)
    assert found is not None
    assert set(HOST_BUILTINS) == WasmPolicy(found[0]).builtin_names == {"hex.encode"}


def test_hex_encode_refuses_non_strings() -> None:
    with pytest.raises(BuiltinFailure, match="operand 1 must be string but got number"):
        hex_encode(5)
