"""While the embedded engine evaluates, the input document's schema check, digest and the audit
step's stored input are made in another thread: the decision and the record are the same."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from audit.log import AuditLog
from audit.writer import stored_input_bytes
from gate import input as gate_input
from gate.audit_step import AuditOptions, StoredInput, record
from gate.check import CheckOptions, evaluate, prepare
from gate.engine.embedded import EmbeddedEngine
from gate.errors import EngineError
from gate.input import digest_of
from tests.helpers import ROOT, audit_env

EXAMPLE = ROOT / "examples" / "payments-api"


def _opts(engine: str) -> CheckOptions:
    env = {"GATE_TIME": "2026-11-23T12:00:00Z", **audit_env()}
    return CheckOptions(paths=(EXAMPLE,), environment="prod", engine=engine, env=env)


def test_alongside_gets_the_document_and_its_bytes_in_another_thread() -> None:
    seen: list[tuple[Any, bytes, int]] = []
    opts = _opts("embedded")
    decision = evaluate(
        prepare(opts), opts, alongside=lambda doc, text: seen.append((doc, text, threading.get_ident()))
    )
    assert len(seen) == 1
    doc, text, thread = seen[0]
    assert doc is decision.document and text is decision.document_json
    assert thread != threading.get_ident()
    assert decision.input_digest == digest_of(text)
    assert decision.outcome.value == "block"


def test_the_record_stores_the_bytes_made_alongside(tmp_path: Path) -> None:
    opts = _opts("embedded")
    prepared = prepare(opts)
    stored = StoredInput(AuditOptions())
    decision = evaluate(prepared, opts, alongside=stored)
    assert decision.document is not None and decision.document_json is not None
    assert stored.for_decision(decision) == stored_input_bytes(decision.document, decision.document_json)
    audit = AuditOptions(log=tmp_path / "log")
    result = record(decision, audit, prepared.config, opts.env, stored=stored)
    field = result.decision.audit
    assert field is not None
    log = AuditLog(tmp_path / "log")
    entry = log.entry(field["index"])
    assert entry.input is not None
    assert log.stored_input(entry.input) == stored.for_decision(decision)
    assert json.loads(log.stored_input(entry.input)) == json.loads(decision.document_json)


def test_stored_input_is_not_made_without_audit() -> None:
    opts = _opts("embedded")
    stored = StoredInput(AuditOptions(disabled=True))
    decision = evaluate(prepare(opts), opts, alongside=stored)
    assert stored.for_decision(decision) is None


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_a_document_failing_its_schema_raises_on_every_engine(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "opa":
        from tests.helpers import require_binary

        require_binary("opa")
    evaluated: list[str] = []

    def refuse(document: dict[str, Any]) -> None:
        raise EngineError("input document fails its schema", "report this as a bug")

    opts = _opts(engine)
    prepared = prepare(opts)
    real = prepared.engine.evaluate

    def spy(*args: Any, **kwargs: Any) -> Any:
        evaluated.append(engine)
        return real(*args, **kwargs)

    monkeypatch.setattr(gate_input, "validate", refuse)
    monkeypatch.setattr(prepared.engine, "evaluate", spy)
    with pytest.raises(EngineError, match="fails its schema"):
        evaluate(prepared, opts)
    # the embedded engine may have evaluated meanwhile; others never see such a document
    assert evaluated == (["embedded"] if engine == "embedded" else [])


def test_the_wasm_module_says_when_it_runs() -> None:
    opts = _opts("embedded")
    prepared = prepare(opts)
    decision = evaluate(prepared, opts)
    engine = prepared.engine
    assert isinstance(engine, EmbeddedEngine) and decision.document is not None
    running = threading.Event()
    raw = engine.evaluate(prepared.policy, decision.document, decision.document_json, running=running)
    assert running.is_set() and engine.version().startswith("opa-wasm")
    assert len(raw["findings"]) == len(decision.findings)
