"""The Wasm host: OPA-compiled modules run on wasmtime, the shipped build and the runtime choice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.engine.embedded import EmbeddedEngine
from gate.engine.opa_wasm import WasmPolicy, WasmUnsupported
from gate.engine.wasm_build import ENTRYPOINT, build_shipped, build_wasm
from gate.engine.wasm_builtins import HOST_BUILTINS
from gate.engine.wasm_shipped import shipped_wasm
from gate.errors import EngineError
from gate.pipeline import CheckOptions, run_check
from gate.policy.policy_set import PolicySet, build_policy_set, shipped_modules
from gate.trust import policy_digest
from tests.helpers import ROOT, require_binary

EXAMPLE = ROOT / "examples" / "payments-api"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _module(rego: str) -> bytes:
    """A decision module compiled by the real OPA from one Rego source."""
    return build_wasm({"lib/gate/main.rego": rego}, require_binary("opa"))


def _run(wasm: bytes, data: object, doc: object) -> object:
    policy = WasmPolicy(wasm)
    policy.set_data(json.dumps(data).encode())
    return policy.evaluate(ENTRYPOINT, json.dumps(doc).encode())


def test_shipped_build_is_current_and_runs_on_this_host() -> None:
    """The committed policies/build/ is what the pinned OPA makes of policies/ today."""
    wasm, manifest = build_shipped(require_binary("opa"))
    modules, _ = shipped_modules()
    found = shipped_wasm(modules)
    assert found is not None, "policies/build/ is stale: run `.venv/bin/python -m gate.engine.wasm_build`"
    assert found[0] == wasm and found[1] == manifest
    policy = WasmPolicy(wasm)
    assert set(policy.entrypoints) == {ENTRYPOINT}


def test_shipped_build_is_used_only_for_the_shipped_modules() -> None:
    modules, _ = shipped_modules()
    assert shipped_wasm(modules) is not None
    assert shipped_wasm({**modules, "user/extra.rego": "package gate.checks.x.y\n"}) is None
    changed = dict(modules)
    name = sorted(changed)[0]
    changed[name] += "\n# edited\n"
    assert shipped_wasm(changed) is None


def test_evaluates_with_data_and_input() -> None:
    rego = (
        "package gate.main\n\n"
        'decision := {"outcome": o, "n": count(input.xs), "label": concat("-", [input.w, data.tag]),'
        ' "hex": hex.encode(input.s)}\n\n'
        'o := "block" if input.n > data.limit\nelse := "pass"\n'
    )
    wasm = _module(rego)
    doc = {"xs": [1, 2, 3], "n": 42, "w": "00042", "s": 'é"\\'}
    out = _run(wasm, {"limit": 10, "tag": "t"}, doc)
    assert out == [{"result": {"outcome": "block", "n": 3, "label": "00042-t", "hex": 'é"\\'.encode().hex()}}]


def test_heap_is_reset_between_evaluations() -> None:
    wasm = _module('package gate.main\n\ndecision := {"n": count(input.xs)}\n')
    policy = WasmPolicy(wasm)
    policy.set_data(b"{}")
    big = json.dumps({"xs": list(range(200_000))}).encode()
    for _ in range(5):  # 5 x ~1.3 MB of input: the heap must not keep growing
        assert policy.evaluate(ENTRYPOINT, big) == [{"result": {"n": 200_000}}]
    assert policy.evaluate(ENTRYPOINT, b'{"xs": []}') == [{"result": {"n": 0}}]


def test_failing_host_builtin_is_an_engine_error_not_a_wrong_answer() -> None:
    wasm = _module('package gate.main\n\ndecision := {"h": hex.encode(input.s)}\n')
    policy = WasmPolicy(wasm)
    policy.set_data(b"{}")
    with pytest.raises(EngineError, match=r"hex\.encode: operand 1 must be string"):
        policy.evaluate(ENTRYPOINT, b'{"s": 5}')
    assert policy.evaluate(ENTRYPOINT, b'{"s": "ok"}') == [{"result": {"h": "6f6b"}}]


def test_module_needing_a_builtin_the_host_lacks_is_refused() -> None:
    wasm = _module('package gate.main\n\ndecision := {"n": time.parse_rfc3339_ns(input.t)}\n')
    try:
        WasmPolicy(wasm)
    except WasmUnsupported as exc:
        assert "time.parse_rfc3339_ns" in str(exc)
    else:  # OPA compiles this builtin natively; then the module must simply work
        out = _run(wasm, {}, {"t": "2026-01-01T00:00:00Z"})
        assert out == [{"result": {"n": 1767225600000000000}}]


def test_not_a_module_is_unsupported() -> None:
    with pytest.raises(WasmUnsupported):
        WasmPolicy(b"\x00asm\x01\x00\x00\x00garbage")


def test_host_builtins_cover_the_shipped_build() -> None:
    modules, _ = shipped_modules()
    found = shipped_wasm(modules)
    assert found is not None
    policy = WasmPolicy(found[0])
    assert policy.builtin_names <= set(HOST_BUILTINS)


def test_embedded_engine_runs_the_shipped_library_on_wasm_and_user_policies_on_regopy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATE_EMBEDDED_RUNTIME", raising=False)
    monkeypatch.chdir(tmp_path)
    decided = run_check(CheckOptions(paths=(EXAMPLE,), environment="prod", env=PINNED))
    assert decided.engine["version"].startswith("opa-wasm (opa ")
    regopy = run_check(
        CheckOptions(paths=(EXAMPLE,), environment="prod", env={**PINNED, "GATE_EMBEDDED_RUNTIME": "regopy"})
    )
    assert regopy.engine["version"].startswith("regopy ")
    assert regopy.findings == decided.findings and regopy.outcome == decided.outcome
    user = tmp_path / "pol"
    user.mkdir()
    (user / "x.rego").write_text("package gate.checks.team.x\n\nviolation contains 1 if false\n")
    custom = run_check(
        CheckOptions(
            paths=(EXAMPLE,),
            environment="prod",
            policies=(user,),
            policy_digest=policy_digest([user]),
            env=PINNED,
        )
    )
    assert custom.engine["version"].startswith("regopy ")


def test_forcing_wasm_for_other_policies_is_an_engine_error() -> None:
    policy = build_policy_set([], {}, [])
    other = PolicySet(
        modules={**policy.modules, "user/x.rego": "package gate.checks.t.x\n"}, data=policy.data
    )
    with pytest.raises(EngineError, match="only the shipped library has a Wasm build"):
        EmbeddedEngine("wasm").evaluate(other, {"context": {}})


def test_unknown_runtime_is_refused() -> None:
    from gate.errors import ConfigError

    with pytest.raises(ConfigError, match="GATE_EMBEDDED_RUNTIME"):
        EmbeddedEngine("jit")


def test_many_findings_come_out_as_opa_orders_them(tmp_path: Path) -> None:
    """6,000 findings (components without purl or license): the Wasm build must give `opa eval`'s
    decision exactly; the findings are a set, which the gate orders (gate.decision.ordered)."""
    from gate.engine.opa import OpaEngine
    from tests.helpers import cyclonedx_bom, write_json

    comps = [{"type": "library", "name": f"c{i % 1500}", "version": f"1.{i}"} for i in range(3000)]
    bom = write_json(tmp_path / "bom.cdx.json", cyclonedx_bom(comps))
    opts = CheckOptions(paths=(bom,), environment="prod", engine="embedded", env=PINNED)
    decision = run_check(opts)
    assert decision.engine["version"].startswith("opa-wasm") and len(decision.findings) >= 6000
    assert decision.document is not None and decision.document_json is not None
    from gate.pipeline import prepare

    policy = prepare(opts).policy
    wasm = EmbeddedEngine("wasm").evaluate(policy, decision.document, decision.document_json).decision
    opa = (
        OpaEngine(require_binary("opa")).evaluate(policy, decision.document, decision.document_json).decision
    )

    def as_set(d: dict[str, Any]) -> list[str]:
        return sorted(json.dumps(f, sort_keys=True) for f in d["findings"])

    assert as_set(wasm) == as_set(opa) and len(wasm["findings"]) == len(decision.findings)
    assert {k: v for k, v in wasm.items() if k != "findings"} == {
        k: v for k, v in opa.items() if k != "findings"
    }
