"""Every corpus file, named explicitly: collected into a valid input document that the shipped
policies decide on, or refused with one clear line naming the file. Never anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate import input as input_doc
from gate.collect.base import CollectError
from gate.collect.registry import collect_paths
from gate.config import from_mapping
from gate.context import build_context
from gate.decision import Outcome, from_policy_result
from gate.engine.embedded import EmbeddedEngine
from gate.policy.policy_set import PolicySet, build_policy_set
from tests.conftest import CORPUS

FILES = (
    sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
    if CORPUS.is_dir()
    else []
)


@pytest.fixture(scope="module")
def policy() -> PolicySet:
    cfg = from_mapping({}, None)
    return build_policy_set([], cfg.policy_data(), [])


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine()


def test_corpus_is_not_empty(corpus_dir: Path) -> None:
    assert len(FILES) > 300


@pytest.mark.parametrize("rel", FILES)
def test_corpus_file_is_decided_or_refused_clearly(
    corpus_dir: Path, rel: str, policy: PolicySet, engine: EmbeddedEngine
) -> None:
    path = corpus_dir / rel
    settings = from_mapping({}, None).collect_settings()
    try:
        sections = collect_paths([path], settings)
    except CollectError as exc:
        line = exc.one_line()
        assert "\n" not in line
        assert path.name in line
        assert exc.remediation, line
        return
    assert any(sections.values())
    document = input_doc.assemble(build_context("prod", {}, now_ns=1_800_000_000 * 10**9), (), sections)
    input_doc.validate(document)
    raw = engine.evaluate(policy, document).decision
    decision = from_policy_result(
        raw, environment="prod", engine={}, policy_digest="", input_digest="", inputs={}
    )
    assert decision.outcome in (Outcome.PASS, Outcome.WARN, Outcome.BLOCK)
    for f in decision.findings:
        assert f.check and f.message and f.remediation, json.dumps(f.to_json())
        assert (
            f.subject.path is None
            or f.subject.path.endswith(path.name)
            or f.subject.kind in ("input", "waiver", "signature", "attestation")
        )
