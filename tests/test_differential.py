"""Differential: the embedded engine (both runtimes), OPA (`opa eval`) and an OPA server decide
identically.

For every example scenario and every corpus input that reaches the policies, in prod and in dev,
the embedded engine on regopy and on the shipped Wasm build, `opa eval` and the server must give
the same outcome and the same set of (check, action, subject) findings. The Wasm build is OPA's
own compilation of the policies, so its decision must equal `opa eval`'s exactly: the same
findings with the same messages, in the same order once the gate orders them. The server is a real `opa run --server` on 127.0.0.1 (a free port), started for this
module, holding the policies through `gate policy push`. A disagreement fails with the input
document that caused it (and the path of a file holding it in full, to replay with
`opa eval --stdin-input`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gate import input as input_doc
from gate.collect.base import CollectError
from gate.collect.registry import collect_paths
from gate.config import GateConfig, load_config
from gate.context import build_context
from gate.decision import from_policy_result
from gate.engine.embedded import EmbeddedEngine
from gate.engine.opa import OpaEngine
from gate.engine.opa_server import OpaServerEngine
from gate.pipeline import CheckOptions, prepare
from gate.policy.policy_set import PolicySet, build_policy_set
from gate.policy.push import push
from gate.waivers import load_waivers
from tests.conftest import CORPUS
from tests.helpers import ROOT, example_check_pins, require_binary
from tests.opa_server_fixture import opa_server

EXAMPLES = ROOT / "examples"
EXAMPLE_CONFIG = EXAMPLES / "gate.yaml"
ENVIRONMENTS = ("prod", "dev")
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}
NOW_NS = 1_795_435_200 * 10**9  # 2026-11-23T12:00:00Z, the pinned time of the example
EXCERPT_CHARS = 6000
LIST_ITEMS = 5

SCENARIOS = {
    "payments-api with examples/gate.yaml": (EXAMPLES / "payments-api", EXAMPLE_CONFIG),
    "payments-api with the built-in defaults": (EXAMPLES / "payments-api", None),
}
FILES = (
    sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
    if CORPUS.is_dir()
    else []
)
CORPUS_FOLDERS = sorted({rel.split("/", 1)[0] for rel in FILES if "/" in rel} - {"schemas"})

Shape = tuple[str, list[tuple[str, str, str]]]


@dataclass
class Engines:
    """One engine of each kind for the whole run: each keeps its compiled / written policies.

    The server holds one policy set at a time: a different one is pushed before it is used.
    """

    regopy: EmbeddedEngine
    wasm: EmbeddedEngine
    opa: OpaEngine
    server: OpaServerEngine
    pushed: set[str] = field(default_factory=set)

    def decide(self, policy: PolicySet, document: dict[str, Any]) -> dict[str, Shape]:
        """Each engine's shape of the decision on the document."""
        if policy.digest not in self.pushed:
            push(policy, self.server.url)
            self.pushed = {policy.digest}
        decisions = {
            "embedded (regopy)": self.regopy.evaluate(policy, document).decision,
            "embedded (wasm)": self.wasm.evaluate(policy, document).decision,
            "opa": self.opa.evaluate(policy, document).decision,
            "opa-server": self.server.evaluate(policy, document).decision,
        }
        shapes = {name: shape(decision) for name, decision in decisions.items()}
        wasm, opa = decisions["embedded (wasm)"], decisions["opa"]
        if in_order(wasm) != in_order(opa) and shapes["opa"] == shapes["embedded (wasm)"]:
            shapes["embedded (wasm), messages and order"] = ("differ from opa", [])
        return shapes


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    """The three engines; the server runs until the module's tests end."""
    with opa_server(tmp_path_factory.mktemp("opa-server")) as srv:
        server = OpaServerEngine(srv.url)
        try:
            yield Engines(
                EmbeddedEngine("regopy"), EmbeddedEngine("wasm"), OpaEngine(require_binary("opa")), server
            )
        finally:
            server.close()


@pytest.fixture(scope="module")
def corpus_config() -> GateConfig:
    """The example config over the corpus (identities, denied licenses, a required SBOM, a
    waiver): more checks take part than with the defaults."""
    return load_config(EXAMPLE_CONFIG, explicit=True)


@pytest.fixture(scope="module")
def corpus_policy(corpus_config: GateConfig) -> PolicySet:
    assert corpus_config.waivers is not None
    today = dt.datetime.fromtimestamp(NOW_NS / 1e9, tz=dt.UTC).date()
    waivers = load_waivers(corpus_config.waivers, today, corpus_config.max_waiver_days)
    return build_policy_set(list(corpus_config.policies), corpus_config.policy_data(), waivers)


def in_order(decision: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings in full, as the gate orders them (the policies hand over a set)."""
    typed = from_policy_result(
        decision, environment="", engine={}, policy_digest="", input_digest="", inputs={}
    )
    return [f.to_json() for f in typed.findings]


def shape(decision: dict[str, Any]) -> Shape:
    """What must agree: the outcome and the set of (check, action, subject) findings."""
    keys = {
        (str(f.get("check")), str(f.get("action")), json.dumps(f.get("subject"), sort_keys=True))
        for f in decision.get("findings", [])
    }
    return str(decision.get("outcome")), sorted(keys)


def _pruned(value: Any) -> Any:
    """Long lists cut to their first items, so a big SBOM still shows its shape."""
    if isinstance(value, list):
        head = [_pruned(v) for v in value[:LIST_ITEMS]]
        return head + ([f"... {len(value) - LIST_ITEMS} more items"] if len(value) > LIST_ITEMS else [])
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items()}
    return value


def excerpt(document: dict[str, Any]) -> str:
    """The input document as JSON for a failure message: whole when short, else pruned and cut."""
    text = json.dumps(document, indent=1, sort_keys=True)
    if len(text) <= EXCERPT_CHARS:
        return text
    text = json.dumps(_pruned(document), indent=1, sort_keys=True)
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS] + f"\n... ({len(text) - EXCERPT_CHARS} more characters)"


def assert_agree(
    label: str,
    policy: PolicySet,
    document: dict[str, Any],
    engines: Engines,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    shapes = engines.decide(policy, document)
    if len(set(map(repr, shapes.values()))) == 1:
        return
    pytest.fail(disagreement(label, shapes, document, tmp_path_factory), pytrace=False)


def disagreement(
    label: str, shapes: dict[str, Shape], document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The failure message: each engine's outcome, the findings not all engines gave, the input."""
    saved = tmp_path_factory.mktemp("disagreement") / "input.json"
    saved.write_text(json.dumps(document, indent=1), encoding="utf-8")
    given = [set(findings) for _, findings in shapes.values() if findings]
    common = set.intersection(*given) if given else set()
    lines = [f"the engines disagree on {label}"]
    lines.append("outcome: " + ", ".join(f"{name} {outcome}" for name, (outcome, _) in shapes.items()))
    for name, (_, findings) in shapes.items():
        lines.append(f"findings only some engines give, on {name}: {sorted(set(findings) - common)}")
    lines.append(f"input document (in full: {saved}):\n{excerpt(document)}")
    return "\n".join(lines)


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_examples_agree(
    scenario: str,
    env_name: str,
    engines: Engines,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path, config = SCENARIOS[scenario]
    pins = example_check_pins() if config == EXAMPLE_CONFIG else {}
    opts = CheckOptions(
        paths=(path,),
        environment=env_name,
        config=config,
        env=PINNED,
        config_digest=pins.get("config_digest"),
        waivers_digest=pins.get("waivers_digest"),
    )
    prepared = prepare(opts)
    sections = collect_paths([path], prepared.config.collect_settings())
    context = build_context(env_name, PINNED)
    document = input_doc.assemble(context, prepared.config.require, sections)
    input_doc.validate(document)
    assert_agree(f"{scenario} in {env_name}", prepared.policy, document, engines, tmp_path_factory)


@pytest.mark.corpus
@pytest.mark.parametrize("folder", CORPUS_FOLDERS)
def test_corpus_agrees(
    corpus_dir: Path,
    folder: str,
    corpus_config: GateConfig,
    corpus_policy: PolicySet,
    engines: Engines,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every file of one corpus folder that reaches the policies; refused files never do."""
    reached = 0
    for rel in (r for r in FILES if r.split("/", 1)[0] == folder):
        try:
            sections = collect_paths([corpus_dir / rel], corpus_config.collect_settings())
        except CollectError:
            continue  # refused with one clear line: tests/corpus/test_corpus_all.py checks that
        reached += 1
        for env_name in ENVIRONMENTS:
            context = build_context(env_name, {}, now_ns=NOW_NS)
            document = input_doc.assemble(context, corpus_config.require, sections)
            input_doc.validate(document)
            assert_agree(f"{rel} in {env_name}", corpus_policy, document, engines, tmp_path_factory)
    assert reached > 0, f"no file under {folder}/ reached the policies"


def test_excerpt_keeps_short_documents_whole_and_prunes_long_ones() -> None:
    small = {"context": {"environment": "prod"}, "sboms": []}
    assert json.loads(excerpt(small)) == small
    big = {"sboms": [{"components": [{"name": f"c{i}", "pad": "x" * 50} for i in range(1000)]}]}
    text = excerpt(big)
    assert len(text) <= EXCERPT_CHARS + 100
    assert "... 995 more items" in text and '"c0"' in text


def test_disagreement_names_each_engine_and_the_odd_findings(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    same = ("A", "block", "{}")
    odd = ("B", "warn", "{}")
    text = disagreement(
        "x.json in prod",
        {"embedded": ("block", [same, odd]), "opa": ("block", [same]), "opa-server": ("warn", [same])},
        {"context": {}},
        tmp_path_factory,
    )
    assert "outcome: embedded block, opa block, opa-server warn" in text
    assert f"on embedded: {[odd]}" in text and "on opa: []" in text


def test_shape_ignores_order_and_messages() -> None:
    one = {"check": "A", "action": "warn", "subject": {"kind": "sbom", "ref": "x"}, "message": "one"}
    two = {"check": "B", "action": "warn", "subject": {"ref": "y", "kind": "sbom"}, "message": "two"}
    assert shape({"outcome": "warn", "findings": [one, two]}) == shape(
        {"outcome": "warn", "findings": [two, {**one, "message": "other words"}]}
    )
    assert shape({"outcome": "warn", "findings": [one, two]}) != shape({"outcome": "warn", "findings": [one]})
    assert shape({"outcome": "warn", "findings": [one]}) != shape({"outcome": "block", "findings": [one]})
