"""Every engine bounds one evaluation in time and memory (config `limits.eval_timeout_seconds`,
`limits.eval_memory_mb`): a policy that loops or allocates without end is exit 3, one line on
stderr, and an error decision recorded in the audit log. Bounds are small here so the tests end
quickly; how long they take is not asserted.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.config import load_config
from gate.engine.limits import EvalLimits
from gate.engine.opa_wasm import WasmPolicy, _Abort
from gate.engine.wasm_shipped import shipped_wasm
from gate.errors import EngineError
from gate.policy.policy_set import shipped_modules
from tests.helpers import require_binary, run_gate, write_json

# Iterates 10^10 pairs of small numbers: runs for hours, in little memory.
SLOW = """package gate.checks.user.slow

violation contains {"msg": "never", "subject": {"kind": "input"}} if {
	some i in numbers.range(0, 100000)
	some j in numbers.range(0, 100000)
	i + j < 0
}
"""
# Builds a list of 10^9 numbers: tens of GB.
GREEDY = """package gate.checks.user.greedy

violation contains {"msg": "never", "subject": {"kind": "input"}} if {
	count([x | some x in numbers.range(0, 1000000000)]) < 0
}
"""
ENGINES = ["embedded", "opa"]


def _setup(tmp_path: Path, policy: str, timeout: float, memory_mb: int) -> tuple[Path, Path, Path]:
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "user.rego").write_text(policy)
    config = tmp_path / "gate.yaml"
    config.write_text(
        yaml.safe_dump({"limits": {"eval_timeout_seconds": timeout, "eval_memory_mb": memory_mb}})
    )
    repo = tmp_path / "repo"  # no input: the user policies loop whatever they are given
    write_json(repo / "data.json", {})
    return config, folder, repo


def _check(engine: str, config: Path, folder: Path, repo: Path) -> tuple[int, dict[str, Any], list[str]]:
    if engine == "opa":
        require_binary("opa")
    run = run_gate(
        "check", repo, "--config", config, "--policy", folder, "--env", "prod", "--engine", engine,
        "--format", "json", "--allow-empty", timeout=60,
    )  # fmt: skip
    return run.code, run.json(), run.stderr.splitlines()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_looping_user_policy_stops_at_the_time_bound(engine: str, tmp_path: Path) -> None:
    code, decision, stderr = _check(engine, *_setup(tmp_path, SLOW, 2, 1024))
    assert code == 3
    assert decision["outcome"] == "error" and decision["audit"] is not None
    assert decision["error"].startswith("policy evaluation exceeded 2 s: ")
    assert stderr == [f"gate: {decision['error']}"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_user_policy_that_allocates_without_end_stops_at_the_memory_bound(
    engine: str, tmp_path: Path
) -> None:
    code, decision, stderr = _check(engine, *_setup(tmp_path, GREEDY, 60, 256))
    assert code == 3
    assert decision["outcome"] == "error" and decision["audit"] is not None
    assert decision["error"].startswith("policy evaluation exceeded 256 MB: ")
    assert stderr == [f"gate: {decision['error']}"]
    assert not any("bad_alloc" in line or "Traceback" in line for line in stderr)


def test_the_config_schema_bounds_the_limits(tmp_path: Path) -> None:
    from gate.errors import ConfigError

    for limits in ({"eval_timeout_seconds": 0}, {"eval_timeout_seconds": 7200}, {"eval_memory_mb": 10**9}):
        cfg = tmp_path / "gate.yaml"
        cfg.write_text(yaml.safe_dump({"limits": limits}))
        with pytest.raises(ConfigError):
            load_config(cfg, explicit=True)
    cfg.write_text(yaml.safe_dump({"limits": {"eval_timeout_seconds": 1.5, "eval_memory_mb": 512}}))
    config = load_config(cfg, explicit=True)
    assert (config.eval_timeout_seconds, config.eval_memory_mb) == (1.5, 512)


# ----------------------------------------------------------------- the Wasm host

LOOP_WASM = """package loop

spin := count([1 | some i in numbers.range(0, 100000); some j in numbers.range(0, 100000); i + j < 0])

grow := count([x | some x in numbers.range(0, 100000000)])

big := concat("", ["y" | some i in numbers.range(1, 10000)])
"""


@pytest.fixture(scope="module")
def loop_wasm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A module built by `opa build -t wasm` whose entrypoints spin and grow without end."""
    opa = require_binary("opa")
    root = tmp_path_factory.mktemp("loop-wasm")
    (root / "loop.rego").write_text(LOOP_WASM)
    subprocess.run(
        [
            opa,
            "build",
            "-t",
            "wasm",
            "-e",
            "loop/spin",
            "-e",
            "loop/grow",
            "-e",
            "loop/big",
            "-o",
            "b.tar.gz",
            "loop.rego",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with tarfile.open(root / "b.tar.gz") as bundle:
        member = bundle.extractfile("/policy.wasm")
        assert member is not None
        return member.read()


def test_wasm_evaluation_is_interrupted_at_the_time_bound(loop_wasm: bytes) -> None:
    policy = WasmPolicy(loop_wasm, limits=EvalLimits(timeout_seconds=1, memory_mb=1024))
    policy.set_data(b"{}")
    with pytest.raises(EngineError, match=r"^policy evaluation exceeded 1 s: "):
        policy.evaluate("loop/spin", b"{}")


def test_wasm_memory_growth_past_the_bound_is_an_engine_error_not_a_crash(loop_wasm: bytes) -> None:
    policy = WasmPolicy(loop_wasm, limits=EvalLimits(timeout_seconds=60, memory_mb=64))
    policy.set_data(b"{}")
    with pytest.raises(EngineError, match=r"^policy evaluation exceeded 64 MB: "):
        policy.evaluate("loop/grow", b"{}")
    # The instance survives, its heap is reset: the next evaluation runs.
    with pytest.raises(EngineError, match="exceeded 64 MB"):
        policy.evaluate("loop/grow", b"{}")


def _shipped() -> WasmPolicy:
    modules, _tests = shipped_modules()
    found = shipped_wasm(modules)
    assert found is not None
    return WasmPolicy(found[0])


def test_a_result_over_its_bound_is_an_engine_error(loop_wasm: bytes) -> None:
    policy = WasmPolicy(loop_wasm, max_result_bytes=2048)
    policy.set_data(b"{}")
    with pytest.raises(EngineError, match=r"the decision is a result larger than 2,048 bytes"):
        policy.evaluate("loop/big", b"{}")
    unbounded = WasmPolicy(loop_wasm)
    unbounded.set_data(b"{}")
    assert len(unbounded.evaluate("loop/big", b"{}")[0]["result"]) == 10000


def test_reads_of_wasm_memory_stay_inside_it() -> None:
    policy = _shipped()
    size = policy._size()
    for addr in (0, -1, size, size + 10**9):
        with pytest.raises(_Abort, match="outside its memory"):
            policy._read(addr)
    # No NUL before the end of memory: refused, not read past it.
    tail = 4096
    policy._memory.write(policy._store, b"x" * tail, size - tail)
    with pytest.raises(_Abort, match="without an end"):
        policy._read(size - tail, limit=2 * tail)


def test_the_wasm_build_out_of_memory_on_a_large_sbom_is_exit_3_with_a_record(tmp_path: Path) -> None:
    """The shipped library on the Wasm host: memory growth refused at the bound is exit 3, one
    line, an error decision in the log (not a segfault)."""
    from tests.helpers import cyclonedx_bom, npm_component

    algs = ("SHA-1", "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-512", "BLAKE2b-256", "BLAKE2b-512")
    comps = [
        {**npm_component(f"lib-{i}", "1.0.0"), "hashes": [{"alg": a, "content": f"{i:0128x}"} for a in algs]}
        for i in range(20_000)
    ]
    bom = write_json(tmp_path / "bom.cdx.json", cyclonedx_bom(comps))
    config = tmp_path / "gate.yaml"
    config.write_text(yaml.safe_dump({"limits": {"eval_memory_mb": 64}}))
    run = run_gate("check", bom, "--config", config, "--env", "prod", "--format", "json", timeout=120)
    decision = run.json()
    assert run.code == 3 and decision["outcome"] == "error" and decision["audit"] is not None
    assert decision["engine"]["version"].startswith("opa-wasm")
    assert decision["error"].startswith(
        "policy evaluation exceeded 64 MB: the policy module ran out of memory"
    )
    assert run.stderr.splitlines() == [f"gate: {decision['error']}"]


def test_addresses_past_2_gib_are_read_as_unsigned() -> None:
    """A module whose memory grew past 2 GiB hands back addresses with the top bit set: they are
    addresses, not negative numbers (read as negative, they pointed before the memory)."""
    import wasmtime

    from gate.engine.opa_wasm import _Calls

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(
        engine,
        '(module (func (export "high") (result i32) (i32.const 0x80000010))'
        ' (func (export "echo") (param i32) (result i32) (local.get 0)))',
    )
    exports = wasmtime.Instance(store, module, []).exports(store)
    calls = _Calls(wasmtime, store)
    assert calls.export(exports["high"], 0)() == 0x80000010
    assert calls.export(exports["echo"], 1)(0x80000010) == 0x80000010
