"""The embedded engine: evaluation, compile errors, missing and failing builtins."""

from __future__ import annotations

import pytest

from gate.engine.embedded import EmbeddedEngine
from gate.errors import EngineError
from gate.policy.policy_set import PolicySet

MAIN = """package gate.main

decision := {"outcome": outcome, "environment": input.context.environment, "findings": [], "summary": {}}

outcome := "block" if input.x > 1
else := "pass"
"""


def _policy(extra: dict[str, str] | None = None, main: str = MAIN) -> PolicySet:
    return PolicySet(modules={"lib/gate/main.rego": main, **(extra or {})}, data={"gate": {"config": {}}})


def _input(**kw: object) -> dict[str, object]:
    return {"context": {"environment": "prod"}, **kw}


def test_evaluates_the_decision() -> None:
    engine = EmbeddedEngine()
    assert engine.evaluate(_policy(), _input(x=2)).decision["outcome"] == "block"
    assert engine.evaluate(_policy(), _input(x=0)).decision["outcome"] == "pass"
    assert engine.version().startswith("regopy ")


def test_missing_builtin_names_it_and_suggests_opa() -> None:
    user = {
        "user/net.rego": 'package gate.checks.x.y\n\nok if http.send({"method": "get", "url": "http://x"})\n'
    }
    with pytest.raises(EngineError) as err:
        EmbeddedEngine().evaluate(_policy(user), _input(x=0))
    assert "http.send" in err.value.message and "user/net.rego" in err.value.message
    assert "--engine opa" in err.value.remediation


def test_rego_metadata_reads_the_metadata_annotations() -> None:
    """regopy has no rego.metadata builtins: the adapter gives their values (as OPA's compiler)."""
    main = MAIN.replace(
        '"summary": {}}', '"summary": {}, "rule": rego.metadata.rule(), "title": chain[1].annotations.title}'
    ).replace("package gate.main\n", "# METADATA\n# title: The main package\npackage gate.main\n")
    main += "\n# METADATA\n# title: a chain\nchain := rego.metadata.chain()\n"
    decision = EmbeddedEngine("regopy").evaluate(_policy(main=main), _input(x=0)).decision
    assert decision["rule"] == {} and decision["title"] == "The main package"


def test_rego_metadata_of_another_scope_suggests_opa() -> None:
    user = {
        "user/m.rego": "# METADATA\n# scope: subpackages\npackage gate.checks.x.y\n\nm := rego.metadata.chain()\n"
    }
    with pytest.raises(EngineError, match="scope 'subpackages'") as err:
        EmbeddedEngine().evaluate(_policy(user), _input(x=0))
    assert "--engine opa" in err.value.remediation


def test_compile_error_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="does not compile"):
        EmbeddedEngine().evaluate(
            _policy({"user/bad.rego": "package gate.checks.x.y\n\nz := 1 +\n"}), _input(x=0)
        )


def test_builtin_error_is_surfaced_not_swallowed() -> None:
    main = MAIN.replace('outcome := "block" if input.x > 1', 'outcome := "block" if to_number(input.s) > 1')
    with pytest.raises(EngineError, match="evaluation failed"):
        EmbeddedEngine().evaluate(_policy(main=main), _input(s="not a number"))


def test_undefined_decision_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="undefined"):
        EmbeddedEngine().evaluate(_policy(main="package gate.main\n\nother := 1\n"), _input(x=0))


def test_comments_and_strings_do_not_count_as_calls() -> None:
    user = {
        "user/c.rego": '# http.send(req) is not used here\npackage gate.checks.x.y\n\nmsg := "call http.send(x) later"\n'
    }
    assert EmbeddedEngine().evaluate(_policy(user), _input(x=0)).decision["outcome"] == "pass"


def test_strings_with_quotes_backslashes_and_newlines_survive() -> None:
    main = """package gate.main

decision := {"outcome": "pass", "environment": "prod", "findings": [], "summary": {}, "echo": input.s,
             "same": input.s == data.gate.config.s, "joined": concat("|", [input.s, "x"])}
"""
    text = 'we"ird\\pkg\nline2\ttab é'
    policy = PolicySet(modules={"lib/gate/main.rego": main}, data={"gate": {"config": {"s": text}}})
    out = EmbeddedEngine().evaluate(policy, {"s": text}).decision
    assert out["echo"] == text
    assert out["same"] is True
    assert out["joined"] == text + "|x"
