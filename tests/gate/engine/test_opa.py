"""The opa engine: `opa eval` on the real binary; compile and builtin errors with OPA's file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gate.engine import get_engine
from gate.engine.opa import OpaEngine, locate_opa, module_path, write_modules
from gate.errors import ConfigError, EngineError
from gate.policy.policy_set import PolicySet
from gate.trust import policy_digest
from tests.helpers import ROOT, component_entity, require_binary, run_gate, write_yaml

MAIN = """package gate.main

decision := {"outcome": outcome, "environment": input.context.environment, "findings": [], "summary": {}}

outcome := "block" if input.x > data.gate.config.limit
else := "pass"
"""
EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


@pytest.fixture(scope="module")
def opa() -> str:
    return require_binary("opa")


@pytest.fixture
def engine(opa: str) -> OpaEngine:
    return OpaEngine(opa)


def _policy(extra: dict[str, str] | None = None, main: str = MAIN, limit: int = 1) -> PolicySet:
    return PolicySet(
        modules={"lib/gate/main.rego": main, **(extra or {})}, data={"gate": {"config": {"limit": limit}}}
    )


def _input(**kw: object) -> dict[str, object]:
    return {"context": {"environment": "prod"}, **kw}


def test_evaluates_the_decision_with_data_at_the_root(engine: OpaEngine) -> None:
    assert engine.evaluate(_policy(), _input(x=2)).decision["outcome"] == "block"
    assert engine.evaluate(_policy(), _input(x=0)).decision["outcome"] == "pass"
    assert (
        engine.evaluate(_policy(limit=5), _input(x=2)).decision["outcome"] == "pass"
    )  # data.gate.config.limit


def test_version_names_opa(engine: OpaEngine) -> None:
    assert engine.version().startswith("opa 1.")


def test_get_engine_wires_opa(opa: str) -> None:
    engine = get_engine("opa", opa_path=opa)
    assert engine.name == "opa" and isinstance(engine, OpaEngine)
    assert engine.evaluate(_policy(), _input(x=2)).decision["outcome"] == "block"


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        get_engine("wasm")


def test_policies_are_written_once_per_digest(engine: OpaEngine) -> None:
    engine.evaluate(_policy(), _input(x=0))
    first = engine.policy_dir
    assert first is not None and (first / "lib" / "gate" / "main.rego").is_file()
    engine.evaluate(_policy(), _input(x=1))
    assert engine.policy_dir == first
    engine.evaluate(_policy(limit=3), _input(x=1))  # new digest: new folder, old one removed
    assert engine.policy_dir != first and not first.exists()
    second = engine.policy_dir
    assert second is not None
    assert oct(second.parent.stat().st_mode & 0o777) == "0o700"  # a private temp dir
    engine.close()
    assert not second.exists()


def test_compile_error_carries_opas_file_and_line(engine: OpaEngine) -> None:
    bad = {"user/team/bad.rego": "package gate.checks.team.bad\n\nz := if {\n"}
    with pytest.raises(EngineError) as err:
        engine.evaluate(_policy(bad), _input(x=0))
    message = err.value.message
    assert message.startswith("policy does not compile: user/team/bad.rego:3:")
    assert "rego_parse_error" in message
    assert "govgate-opa-" not in message and "/tmp" not in message  # temp paths mapped back


def test_unsafe_variable_is_a_compile_error(engine: OpaEngine) -> None:
    bad = {"user/u.rego": "package gate.checks.team.u\n\nx := y\n"}
    with pytest.raises(EngineError, match=r"user/u\.rego:3:\d+: rego_unsafe_var_error: var y is unsafe"):
        engine.evaluate(_policy(bad), _input(x=0))


def test_builtin_error_is_an_error_not_undefined(engine: OpaEngine) -> None:
    main = MAIN.replace("input.x > data.gate.config.limit", "to_number(input.s) > 1")
    with pytest.raises(EngineError) as err:
        engine.evaluate(_policy(main=main), _input(s="not a number"))
    assert err.value.message.startswith("evaluation failed: lib/gate/main.rego:5:")
    assert "eval_builtin_error" in err.value.message and "to_number" in err.value.message


def test_undefined_decision_is_an_engine_error(engine: OpaEngine) -> None:
    with pytest.raises(EngineError, match="undefined"):
        engine.evaluate(_policy(main="package gate.main\n\nother := 1\n"), _input())


def test_module_names_stay_inside_the_temp_dir(tmp_path: Path) -> None:
    assert module_path("user//tmp/pol/x.rego").as_posix() == "user/tmp/pol/x.rego"
    assert module_path("user/../../etc/passwd").as_posix() == "user/etc/passwd.rego"
    assert module_path("C:\\pol\\x.rego").as_posix() == "C_/pol/x.rego"
    tree = write_modules(tmp_path / "p", {"user/a.rego": "package a\n", "user/./a.rego": "package b\n"})
    assert sorted(tree.names) == ["user/a.rego", "user/a~2.rego"]
    assert tree.name_of(str(tmp_path / "p" / "user" / "a~2.rego")) in ("user/a.rego", "user/./a.rego")
    assert all(p.is_relative_to(tmp_path / "p") for p in (tmp_path / "p").rglob("*.rego"))


def test_missing_opa_names_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("gate.tools.go_bin_dirs", lambda: [tmp_path / "go" / "bin"])
    with pytest.raises(EngineError) as err:
        OpaEngine().evaluate(_policy(), _input(x=0))
    text = err.value.one_line()
    assert "opa binary was not found" in text
    assert "scripts/install-tools.sh" in text and "open-policy-agent/setup-opa" in text


def test_opa_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="--opa-path"):
        locate_opa(tmp_path / "nope")


def test_opa_path_that_is_not_opa() -> None:
    echo = shutil.which("echo")
    if echo is None:
        pytest.skip("no echo binary")
    with pytest.raises(EngineError, match="does not answer `opa version`"):
        OpaEngine(echo).version()


# --- through the CLI, as a real subprocess ---------------------------------------------------


def _check(*extra: str | Path) -> tuple[int, dict[str, object], str]:
    run = run_gate("check", EXAMPLE, "--config", CONFIG, "--format", "json", *extra, env=PINNED)
    return run.code, run.json(), run.stderr


@pytest.mark.parametrize("env_name", ["prod", "dev"])
def test_example_gives_the_same_decision_json_as_embedded(opa: str, env_name: str) -> None:
    code_e, embedded, _ = _check("--env", env_name)
    code_o, on_opa, stderr = _check("--env", env_name, "--engine", "opa", "--opa-path", opa)
    assert stderr == ""
    assert code_o == code_e == (1 if env_name == "prod" else 0)
    assert on_opa.pop("engine") == {"name": "opa", "version": OpaEngine(opa).version()}
    assert embedded.pop("engine") != {}
    # each run is its own decision: its own record, at the next index of the log
    audit_e, audit_o = embedded.pop("audit"), on_opa.pop("audit")
    assert isinstance(audit_e, dict) and isinstance(audit_o, dict)
    assert audit_o["index"] == audit_e["index"] + 1
    assert on_opa == embedded


def test_builtin_error_exits_3_with_opas_message(opa: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "broken.rego").write_text(
        "package gate.checks.custom.broken\n\n"
        'meta := {"id": "CUSTOM-BROKEN", "title": "t", "severity": "low", "remediation": "r"}\n\n'
        'violation contains {"msg": "m", "subject": {"kind": "input", "path": null, "ref": null, "line": null}} if {\n'
        '\tto_number("not a number") > 1\n'
        "}\n"
    )
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate(
        "check", cat, "--policy", pol, "--policy-digest", policy_digest([pol]), "--env", "prod",
        "--engine", "opa", "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 3
    assert run.json()["outcome"] == "error"
    assert f"user/{pol.as_posix().lstrip('/')}/broken.rego:6:" in run.stderr
    assert "eval_builtin_error: to_number" in run.stderr


def test_compile_error_exits_3_with_file_and_line(opa: str, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "bad.rego").write_text("package gate.checks.custom.bad\n\nx := y\n")
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    pin = policy_digest([pol])
    run = run_gate(
        "check",
        cat,
        "--policy",
        "pol",
        "--policy-digest",
        pin,
        "--engine",
        "opa",
        "--env",
        "prod",
        cwd=tmp_path,
    )
    assert run.code == 3
    assert (
        "policy does not compile: user/pol/bad.rego:3:6: rego_unsafe_var_error: var y is unsafe" in run.stderr
    )


def test_missing_opa_exits_3_and_says_how_to_install(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    empty = tmp_path / "empty"
    empty.mkdir()
    run = run_gate(
        "check",
        cat,
        "--engine",
        "opa",
        "--env",
        "prod",
        "--format",
        "json",
        cwd=tmp_path,
        env={"PATH": str(empty), "HOME": str(tmp_path)},
    )
    assert run.code == 3
    assert run.json()["outcome"] == "error"
    assert "opa binary was not found" in run.stderr and "scripts/install-tools.sh" in run.stderr


def test_engine_from_the_config_file(opa: str, tmp_path: Path) -> None:
    write_yaml(tmp_path / "gate.yaml", {"engine": "opa"})
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate("check", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json()["engine"]["name"] == "opa"
