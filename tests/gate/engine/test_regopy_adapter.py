"""gate.engine.regopy_adapter: the shipped modules as regopy compiles them, and nothing else changed.

The rewrites (lists for the sets gate.main builds, SBOMs iterated by index) must fit the shipped
library as it is, keep every line in place, leave user modules and edited copies alone, and give
the decisions OPA gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gate.engine.opa import OpaEngine
from gate.engine.regopy_adapter import MAIN, AdapterError, _set_rule_as_list, adapted, regopy, with_metadata
from gate.pipeline import CheckOptions, run_check
from gate.policy.policy_set import PolicySet, shipped_modules
from tests.helpers import cyclonedx_bom, require_binary, write_json

PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def test_every_rewrite_fits_the_shipped_library_and_keeps_its_lines() -> None:
    modules, _tests = shipped_modules()
    out = adapted(modules)
    assert out.keys() == modules.keys()
    for name, source in modules.items():
        assert len(out[name].splitlines()) == len(source.splitlines()), name
        assert "some sbom in input.sboms" not in out[name], name
    assert "raw_violations := [" in out[MAIN] and "raw_violations contains" not in out[MAIN]
    assert "findings_of(raws, config, waivers, ctx) := [f |" in out[MAIN]
    assert any("input.sboms[gate_regopy_i" in text for text in out.values())
    checks = [text for name, text in out.items() if "/checks/" in name]
    assert len(checks) >= 30
    assert all("lib.check_meta(" not in text and "\nmeta := {" in text for text in checks)


def test_user_modules_and_edited_copies_run_as_written() -> None:
    modules, _tests = shipped_modules()
    edited = modules[MAIN] + "\n# edited\n"
    user = "package gate.checks.user.x\n\nviolation contains 1 if {\n\tsome sbom in input.sboms\n}\n"
    out = adapted({MAIN: edited, "user/x.rego": user})
    assert out == {MAIN: edited, "user/x.rego": user}


def test_a_module_without_the_expected_rule_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="raw_violations"):
        _set_rule_as_list("raw_violations")("package gate.main\n\nraw_violations := []\n")


def test_regopy_with_a_user_folder_decides_as_opa_and_reports_a_twin_finding_once(tmp_path: Path) -> None:
    """A user package that reports what SBOM-PURL-MISSING reports (a copied check): on regopy the
    adapted library gathers lists, and the gate still gives each finding once, as OPA does."""
    comps = [{"type": "library", "name": f"c{i}", "version": "1.0", "licenses": []} for i in range(30)]
    bom = write_json(tmp_path / "bom.cdx.json", cyclonedx_bom(comps))
    policy = tmp_path / "policy"
    policy.mkdir()
    twin = shipped_modules()[0]["lib/gate/checks/sbom/purl_missing.rego"].replace(
        "package gate.checks.sbom.purl_missing", "package gate.checks.copy.purl_missing"
    )
    (policy / "twin.rego").write_text(twin, encoding="utf-8")
    decided = {}
    for engine in ("embedded", "opa"):
        opts = CheckOptions(
            paths=(bom,),
            environment="dev",
            engine=engine,
            policies=(policy,),
            opa_path=Path(require_binary("opa")),
            env=PINNED,
        )
        decided[engine] = run_check(opts)
    embedded, opa = decided["embedded"], decided["opa"]
    assert embedded.engine["version"].startswith("regopy")
    assert [f.to_json() for f in embedded.findings] == [f.to_json() for f in opa.findings]
    purl = [f for f in embedded.findings if f.check == "SBOM-PURL-MISSING"]
    assert len(purl) == 30 and len({f.subject.ref for f in purl}) == 30
    assert embedded.summary() == opa.summary()


ANNOTATED = """# METADATA
# title: A user check
# description: |-
#   Two lines
#   of text: "quoted", `ticks`.
# custom:
#   id: USER-X
#   effective_on: 2026-01-01
#   levels: [1, 2]
package gate.main

# METADATA
# title: the rule
# custom:
#   n: 3
annotated := rego.metadata.chain()

plain := rego.metadata.chain()

rule := rego.metadata.rule()

f(x) := rego.metadata.rule() if x

decision := {"outcome": "pass", "findings": [], "summary": {}, "chains": [annotated, plain, rule, f(true)]}
"""


def test_metadata_values_on_regopy_are_opas() -> None:
    """rego.metadata.chain() and rule() as OPA gives them: rule and package scope, dates as text."""
    Interpreter = regopy().Interpreter

    interp = Interpreter()
    interp.add_module("user/m.rego", with_metadata({"user/m.rego": ANNOTATED})["user/m.rego"])
    regopy_value = json.loads(str(interp.query("x := data.gate.main.decision")))["bindings"]["x"]
    policy = PolicySet(modules={"user/m.rego": ANNOTATED}, data={})
    opa_value = OpaEngine(require_binary("opa")).evaluate(policy, {}).decision
    assert regopy_value == opa_value
    assert opa_value["chains"][0][1]["annotations"]["custom"]["effective_on"] == "2026-01-01T00:00:00Z"


def test_the_shipped_checks_meta_is_the_same_on_regopy_and_opa() -> None:
    Interpreter = regopy().Interpreter

    modules, _tests = shipped_modules()
    query = 'x := {p: m | some a, n; m := data.gate.checks[a][n].meta; p := concat(".", [a, n])}'
    interp = Interpreter()
    for name, source in adapted(modules).items():
        interp.add_module(name, source)
    on_regopy = json.loads(str(interp.query(query)))["bindings"]["x"]
    main = 'package gate.main\n\ndecision := {p: m | some a, n; m := data.gate.checks[a][n].meta; p := concat(".", [a, n])}\n'
    on_opa = (
        OpaEngine(require_binary("opa"))
        .evaluate(PolicySet(modules={**modules, MAIN: main}, data={}), {})
        .decision
    )
    assert on_regopy == on_opa and len(on_opa) >= 30
    assert on_opa["sbom.license_denied"] == {
        "id": "SBOM-LICENSE-DENIED",
        "title": "No component has a denied license",
        "severity": "critical",
        "remediation": "Replace the component with one under an acceptable license, or get legal approval and add a waiver.",
    }


def test_the_regopy_runtime_leaves_google_re2_working(tmp_path: Path) -> None:
    """regopy carries RE2 symbols of its own: loaded before google-re2, the first RE2 compile
    aborted the process. The audit step compiles RE2 patterns after a regopy evaluation."""
    code = (
        "from gate.engine.embedded import EmbeddedEngine\n"
        "from gate.policy.policy_set import PolicySet\n"
        'main = \'package gate.main\\n\\ndecision := {"outcome": "pass", "findings": [], "summary": {}}\\n\'\n'
        "EmbeddedEngine('regopy').evaluate(PolicySet(modules={'m.rego': main}, data={}), {})\n"
        "import re2\n"
        "assert re2.compile(b'null').search(b'a null') is not None\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr[-500:]
