"""The host's builtins print what OPA prints, and refuse what they do not implement."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from gate.engine.wasm_builtins import BuiltinFailure, hex_encode, sprintf
from tests.helpers import require_binary

SPRINTF_CASES: list[tuple[str, list[Any]]] = [
    ("%010d", [42]),
    ("%010d", [-42]),
    ("%010d", [12345678901]),
    ("%d", [0]),
    ("%5d|%-5d|%+d", [7, 7, 7]),
    ("%s and %v", ["a", "b"]),
    ("%v", [12]),
    ("%8s|%-8s|", ["ab", "cd"]),
    ("100%% of %s", ["it"]),
    ("no verbs", []),
    ("%s", ['é"\\\n']),
]
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


def test_sprintf_prints_what_opa_prints() -> None:
    calls = [f"sprintf({json.dumps(fmt)}, {json.dumps(args)})" for fmt, args in SPRINTF_CASES]
    assert [sprintf(fmt, args) for fmt, args in SPRINTF_CASES] == _opa(calls)


def test_hex_encode_encodes_what_opa_encodes() -> None:
    assert [hex_encode(s) for s in HEX_CASES] == _opa([f"hex.encode({json.dumps(s)})" for s in HEX_CASES])


@pytest.mark.parametrize(
    ("fmt", "args"),
    [
        ("%x", [255]),
        ("%.2f", [1.5]),
        ("%d", [1.5]),
        ("%s", [[1, 2]]),
        ("%d", []),
        ("%d", [1, 2]),
        ("50%", []),
        ("%d", [True]),
        (5, [1]),
        ("%d", "notalist"),
    ],
)
def test_sprintf_refuses_what_it_does_not_print_like_opa(fmt: Any, args: Any) -> None:
    with pytest.raises(BuiltinFailure):
        sprintf(fmt, args)


def test_hex_encode_refuses_non_strings() -> None:
    with pytest.raises(BuiltinFailure, match="operand 1 must be string but got number"):
        hex_encode(5)
