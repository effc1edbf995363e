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
    """sprintf, which the shipped build never asked for, is not a host builtin: a module that
    needs it runs on regopy or OPA, not on a host builtin of its own."""
    assert set(HOST_BUILTINS) == {"hex.encode", "json.marshal_with_options"}


def test_hex_encode_refuses_non_strings() -> None:
    with pytest.raises(BuiltinFailure, match="operand 1 must be string but got number"):
        hex_encode(5)


# json.marshal_with_options: the shipped library sorts findings through it (OPA's Wasm sort() is
# insertion sort). Through a real module on the host, it must print what `opa eval` prints.
MARSHAL_REGO = """package gate.main

decision := {
	"strings": json.marshal_with_options({x | some x in input.strings}, {}),
	"arrays": json.marshal_with_options({x | some x in input.arrays}, {}),
	"mixed": json.marshal_with_options({x | some x in input.mixed}, {}),
	"array": json.marshal_with_options(input.mixed, {"pretty": false}),
	"object": json.marshal_with_options(input.object, {}),
	"empty": json.marshal_with_options(set(), {}),
}
"""
MARSHAL_INPUT: dict[str, Any] = {
    "strings": ["b", "a b", "a", "é", "z", "<&>", "\u2028\u2029", "\x01\x1f\x7f", 'q"\\', "日本", "😀", ""],
    "arrays": [["b"], ["a", "z"], ["a"], ["a", "b", "c"], [], ["é", "a"], ["a", "é"]],
    "mixed": [3, -1, None, True, False, "s", ["x"], {"k": 1}, {"a": [2]}, 10**15, {"k": 0, "a": 1}],
    "object": {"z": 1, "a": {"c": [1, "<"], "b": None}, "é": True},
}


def test_marshal_with_options_prints_what_opa_prints_through_the_wasm_host(tmp_path: Any) -> None:
    from gate.engine.opa_wasm import WasmPolicy
    from gate.engine.wasm_build import ENTRYPOINT, build_wasm

    opa = require_binary("opa")
    policy = WasmPolicy(build_wasm({"main.rego": MARSHAL_REGO}, opa))
    policy.set_data(b"{}")
    host = policy.evaluate(ENTRYPOINT, json.dumps(MARSHAL_INPUT).encode())[0]["result"]
    rego = tmp_path / "main.rego"
    rego.write_text(MARSHAL_REGO)
    proc = subprocess.run(
        [opa, "eval", "--format", "json", "--stdin-input", "-d", str(rego), "data.gate.main.decision"],
        input=json.dumps(MARSHAL_INPUT),
        capture_output=True,
        text=True,
        check=True,
    )
    assert host == json.loads(proc.stdout)["result"][0]["expressions"][0]["value"]


@pytest.mark.parametrize(
    "value",
    ["{{1}, {2}}", '[{"a"}]', '{"k": {"v"}}', "{1: 2}", "{1.5}"],
    ids=["set of sets", "set in array", "set in object", "non-string key", "float"],
)
def test_marshal_with_options_refuses_what_it_does_not_print_like_opa(value: str) -> None:
    from gate.engine.opa_wasm import WasmPolicy
    from gate.engine.wasm_build import ENTRYPOINT, build_wasm
    from gate.errors import EngineError

    rego = f'package gate.main\n\ndecision := {{"x": json.marshal_with_options({value}, {{}})}}\n'
    policy = WasmPolicy(build_wasm({"main.rego": rego}, require_binary("opa")))
    policy.set_data(b"{}")
    with pytest.raises(EngineError, match=r"json\.marshal_with_options"):
        policy.evaluate(ENTRYPOINT, b"{}")


def test_marshal_with_options_refuses_other_options() -> None:
    from gate.engine.wasm_builtins import marshal_with_options

    with pytest.raises(BuiltinFailure, match="options"):
        marshal_with_options([1], {"pretty": True})
    with pytest.raises(BuiltinFailure, match="options"):
        marshal_with_options([1], {"indent": "  "})
