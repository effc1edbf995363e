"""The Wasm runtime's evaluation in parts (gate.engine.parts): the same decision as the whole's.

The inputs make every shipped check over SBOM components report, next to an SBOM without
components, vulnerabilities, catalog findings, a matching waiver and an expired one; evaluated in
parts of a few components (so that parts cut through SBOMs and leave some SBOMs out), the decision
must be the whole evaluation's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from gate import input as input_doc
from gate.collect.registry import collect_paths
from gate.context import build_context
from gate.engine import parts
from gate.engine.embedded import EmbeddedEngine
from gate.engine.limits import EvalLimits
from gate.errors import EngineError
from gate.pipeline import CheckOptions, prepare
from tests.helpers import component_entity, cyclonedx_bom, npm_component, write_json, write_yaml

PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}
COMPONENT_CHECKS = {
    "SBOM-PURL-MISSING",
    "SBOM-PURL-INVALID",
    "SBOM-LICENSE-MISSING",
    "SBOM-LICENSE-INVALID",
    "SBOM-LICENSE-DENIED",
    "SBOM-PACKAGE-DENIED",
}


def _components(n: int) -> list[dict[str, Any]]:
    """n components, cycling through clean ones and ones each component check reports."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        comp = npm_component(f"lib-{i}", "1.0.0")
        kind = i % 7
        if kind == 1:
            del comp["purl"]
        elif kind == 2:
            comp["purl"] = f"npm/lib-{i}"  # no pkg: scheme
        elif kind == 3:
            del comp["licenses"]
        elif kind == 4:
            comp["licenses"] = [{"expression": "MIT/GPL-3.0-only"}]
        elif kind == 5:
            comp["licenses"] = [{"license": {"id": "GPL-3.0"}}]  # deprecated: GPL-3.0-only
        elif kind == 6:
            comp["purl"] = "pkg:npm/event-stream@3.3.6"
            comp["name"] = "event-stream"
        out.append(comp)
    return out


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of inputs and a config beside it (outside the checked folder)."""
    folder = tmp_path / "in"
    write_json(folder / "a.cdx.json", cyclonedx_bom(_components(23)))
    vulns = [
        {"id": "CVE-2026-0001", "ratings": [{"severity": "critical"}], "affects": [{"ref": "c1"}]},
        {"id": "CVE-2026-0002", "ratings": [{"severity": "high"}], "affects": [{"ref": "c2"}]},
    ]
    write_json(folder / "b.cdx.json", cyclonedx_bom(_components(5), vulnerabilities=vulns))
    write_json(folder / "empty.cdx.json", cyclonedx_bom([]))
    write_json(folder / "c.cdx.json", cyclonedx_bom(_components(11)))
    write_yaml(folder / "catalog-info.yaml", component_entity(owner="jdoe"))
    waivers = write_yaml(
        tmp_path / "cfg" / "waivers.yaml",
        {
            "waivers": [
                {
                    "id": "W-1",
                    "check": "SBOM-LICENSE-MISSING",
                    "subject": "pkg:npm/lib-3@*",
                    "owner": "team-payments",
                    "reason": "the license is being confirmed with the vendor, ticket PLAT-1",
                    "expires": "2027-01-31",
                },
                {
                    "id": "W-2",
                    "check": "SBOM-PURL-MISSING",
                    "subject": "lib-1",
                    "owner": "team-payments",
                    "reason": "an expired waiver, reported by WAIVER-EXPIRED in every part",
                    "expires": "2026-01-31",
                },
            ]
        },
    )
    config = write_yaml(
        tmp_path / "cfg" / "gate.yaml",
        {
            "require": ["sbom"],
            "waivers": str(waivers),
            "data": {
                "denied_licenses": ["GPL-3.0-only"],
                "denied_packages": ["pkg:npm/event-stream@*"],
            },
        },
    )
    return folder, config


def _document(folder: Path, config: Path, environment: str) -> tuple[Any, dict[str, Any]]:
    opts = CheckOptions(
        paths=(folder,), environment=environment, config=config, engine="embedded", env=PINNED
    )
    prepared = prepare(opts)
    sections = collect_paths([folder], prepared.config.collect_settings(()))
    context = build_context(environment, PINNED)
    return prepared.policy, input_doc.assemble(context, prepared.config.require, sections)


def _canonical(decision: dict[str, Any]) -> dict[str, Any]:
    """The decision with its findings in one order (the engine's order is not the contract)."""
    findings = sorted(decision["findings"], key=lambda f: orjson.dumps(f, option=orjson.OPT_SORT_KEYS))
    return {**decision, "findings": findings}


def _wasm() -> EmbeddedEngine:
    return EmbeddedEngine("wasm")


@pytest.mark.parametrize("environment", ["prod", "dev"])
@pytest.mark.parametrize("per_part", [1, 4, 9])
def test_the_decision_in_parts_is_the_whole_decision(tmp_path: Path, environment: str, per_part: int) -> None:
    folder, config = _inputs(tmp_path)
    policy, document = _document(folder, config, environment)
    whole = _wasm().evaluate(policy, document).decision
    reported = {f["check"] for f in whole["findings"]}
    assert reported >= COMPONENT_CHECKS, COMPONENT_CHECKS - reported
    assert {"SBOM-NOT-EMPTY", "SBOM-VULN-CRITICAL", "SBOM-VULN-HIGH", "WAIVER-EXPIRED"} <= reported
    assert whole["summary"]["waived"] >= 1
    assert len(list(parts.split(document, per_part))) == -(-parts.component_count(document) // per_part)

    engine = _wasm()
    engine.parts_above = engine.components_per_part = per_part
    in_parts = engine.evaluate(policy, document).decision
    assert _canonical(in_parts) == _canonical(whole)


def test_a_part_keeps_an_sbom_with_components_from_looking_empty() -> None:
    document = {
        "sboms": [
            {"path": "a", "components": [{"name": "a0"}, {"name": "a1"}, {"name": "a2"}]},
            {"path": "b", "components": []},
            {"path": "c", "components": [{"name": "c0"}]},
        ]
    }
    got = [[[c["name"] for c in s["components"]] for s in part["sboms"]] for part in parts.split(document, 2)]
    assert got == [[["a0", "a1"], [], ["c0"]], [["a2"], [], ["c0"]]]


def test_an_unknown_environment_is_an_error_in_parts_too(tmp_path: Path) -> None:
    folder, config = _inputs(tmp_path)
    policy, document = _document(folder, config, "prod")
    document = {**document, "context": {**document["context"], "environment": "staging-eu"}}
    engine = _wasm()
    engine.parts_above = engine.components_per_part = 5
    decision = engine.evaluate(policy, document).decision
    assert decision["outcome"] == "error"
    assert decision == _wasm().evaluate(policy, document).decision | {"findings": decision["findings"]}


def test_a_field_that_differs_between_parts_fails_the_evaluation() -> None:
    one = {"outcome": "pass", "findings": [], "summary": {}, "scorecard": {"components": 2}}
    two = {**one, "scorecard": {"components": 1}}
    with pytest.raises(EngineError, match="'scorecard' differs between parts"):
        parts.merge([one, two])


def test_the_time_bound_covers_all_parts(tmp_path: Path) -> None:
    folder, config = _inputs(tmp_path)
    policy, document = _document(folder, config, "prod")
    engine = EmbeddedEngine("wasm", limits=EvalLimits(timeout_seconds=0.001))
    engine.parts_above = engine.components_per_part = 1
    with pytest.raises(EngineError, match="exceeded"):
        engine.evaluate(policy, document)
