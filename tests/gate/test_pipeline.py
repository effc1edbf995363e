"""The one check pipeline (gate.pipeline): every decision, errors included, leaves one record, and a
library call leaves the process as it found it."""

from __future__ import annotations

import ast
import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.log import AuditLog
from gate import input as gate_input
from gate import pipeline
from gate.audit_step import AuditOptions
from gate.cli.main import main
from gate.decision import Outcome
from gate.errors import EngineError
from tests.helpers import ROOT, audit_env, require_binary

EXAMPLE = ROOT / "examples" / "payments-api"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _opts(engine: str = "embedded", **env: str) -> pipeline.CheckOptions:
    return pipeline.CheckOptions(
        paths=(EXAMPLE,), environment="prod", engine=engine, env={**PINNED, **audit_env(), **env}
    )


def _schema_bug(document: dict[str, Any]) -> None:
    """What gate.input.validate raises for a document that fails its schema: a collector bug,
    which no input made by hand reaches while the collectors are right."""
    raise EngineError(
        "input document fails its schema: data.sboms[0] must be object",
        "this is a bug in a collector; please report it with the input file",
    )


@pytest.fixture
def gc_restored() -> Iterator[None]:
    """Whatever a test does to the collector, the next test finds it as it was."""
    was = gc.isenabled()
    yield
    if was:
        gc.enable()


def test_a_document_failing_its_schema_is_exit_3_and_an_error_on_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gc_restored: None
) -> None:
    """`gate check` used to exit 3 with no record here, while `gate serve` recorded an error
    decision: now both record it."""
    log = tmp_path / "log"
    for key, value in {**PINNED, **audit_env(), "GATE_AUDIT_LOG": str(log), "NO_COLOR": "1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gate_input, "validate", _schema_bug)
    result = CliRunner().invoke(main, ["check", str(EXAMPLE), "--env", "prod", "--format", "json"])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "gate: input document fails its schema: data.sboms[0] must be object. "
        "this is a bug in a collector; please report it with the input file"
    ]
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "error" and decision["audit"]["index"] == 0
    assert decision["engine"]["version"] == "not run"
    audit = AuditLog(log)
    assert audit.size() == 1
    assert audit.entry(0).input is not None  # the document is kept, to report the collector bug


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_no_engine_sees_a_document_that_fails_its_schema(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "opa":
        require_binary("opa")
    opts = _opts(engine)
    prepared = pipeline.prepare(opts)
    evaluated: list[str] = []
    real = prepared.engine.evaluate

    def spy(*args: Any, **kwargs: Any) -> Any:
        evaluated.append(engine)
        return real(*args, **kwargs)

    monkeypatch.setattr(gate_input, "validate", _schema_bug)
    monkeypatch.setattr(prepared.engine, "evaluate", spy)
    decision = pipeline.run(prepared, opts, AuditOptions(disabled=True, signer=None), lambda _: None)
    assert decision.outcome is Outcome.ERROR and decision.error is not None
    assert "fails its schema" in decision.error and decision.exit_code() == 3
    assert evaluated == []


def test_every_decision_of_the_pipeline_is_recorded_with_its_input(tmp_path: Path) -> None:
    log = tmp_path / "log"
    opts = _opts(GATE_AUDIT_LOG=str(log))
    prepared = pipeline.prepare(opts)
    notices: list[str] = []
    decision = pipeline.run(prepared, opts, AuditOptions(), notices.append)
    assert decision.outcome is Outcome.BLOCK and decision.audit is not None
    audit = AuditLog(log)
    entry = audit.entry(decision.audit["index"])
    assert entry.input is not None and decision.document_json is not None
    assert json.loads(audit.stored_input(entry.input)) == json.loads(decision.document_json)


def test_a_refused_input_is_recorded_and_raised(tmp_path: Path) -> None:
    from gate.errors import InputError

    bad = tmp_path / "sbom.cdx.json"
    bad.write_text('{"bomFormat": "CycloneDX", ', encoding="utf-8")
    log = tmp_path / "log"
    opts = pipeline.CheckOptions(
        paths=(bad,), environment="prod", env={**PINNED, **audit_env(), "GATE_AUDIT_LOG": str(log)}
    )
    prepared = pipeline.prepare(opts)
    with pytest.raises(InputError) as refused:
        pipeline.run(prepared, opts, AuditOptions(), lambda _: None)
    audit = AuditLog(log)
    assert audit.size() == 1 and audit.entry(0).input is None
    assert str(bad) in refused.value.one_line()


def test_the_library_check_leaves_the_garbage_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert gc.isenabled()
    decision = pipeline.run_check(_opts())
    assert decision.outcome is Outcome.BLOCK
    assert gc.isenabled()


def test_gate_check_through_click_leaves_the_garbage_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gc_restored: None
) -> None:
    """`gate check` turned the collector off for good, in whatever process called it; only the
    console script (a process of its own) may, and it ends right after."""
    for key, value in {**PINNED, **audit_env(), "GATE_AUDIT_LOG": str(tmp_path / "log")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert gc.isenabled()
    result = CliRunner().invoke(main, ["check", str(EXAMPLE), "--env", "dev", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()


def test_the_runtime_does_not_import_the_wasm_build_tool(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from gate import pipeline; "
        f"d = pipeline.run_check(pipeline.CheckOptions(paths=(Path({str(EXAMPLE)!r}),), env={PINNED!r})); "
        "assert d.engine['version'].startswith('opa-wasm'), d.engine; "
        "print('gate.engine.wasm_build' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_check_without_ignores_or_leftovers_imports_neither_pathspec_nor_the_verifier(
    tmp_path: Path,
) -> None:
    """Both cost every `gate check` their import; they are needed only for ignore patterns
    (`--exclude`, .gitignore) and for adopting a leftover log entry."""
    work = tmp_path / "work"
    service = work / "service"
    service.mkdir(parents=True)
    shutil.copy(EXAMPLE / "catalog-info.yaml", service / "catalog-info.yaml")
    code = (
        "import sys; from gate.cli.main import main\n"
        "try:\n"
        f"    main(['check', {str(service)!r}, '--env', 'dev', '--format', 'json'], standalone_mode=False)\n"
        "finally:\n"
        "    print(sorted(m for m in ('pathspec', 'audit.verify') if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert (work / ".gate" / "audit").is_dir(), out.stderr
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_no_isinstance_on_an_engine_outside_the_engine_package() -> None:
    """Callers speak to engines through the protocol (gate.engine.base.Engine) alone."""
    engine_room = ROOT / "gate" / "engine"
    engines = {
        node.name
        for path in engine_room.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Engine")
    }
    assert {"Engine", "EmbeddedEngine", "OpaEngine", "OpaServerEngine"} <= engines
    found = []
    for path in sorted((ROOT / "gate").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py")):
        if engine_room in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                named = {
                    n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")
                    for n in ast.walk(node.args[1])
                }
                if named & engines:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def _document(prepared: pipeline.Prepared) -> dict[str, Any]:
    from gate.context import build_context

    context = build_context(prepared.environment, {**PINNED})
    return pipeline.assemble(prepared, context, pipeline.collect(prepared, (EXAMPLE,)))


def test_work_beside_the_engine_runs_while_it_evaluates_and_changes_nothing() -> None:
    """`beside` (the record step's stored form, in `gate check`) runs in a thread while the
    engine evaluates: the decision is the one made without it, the stored form is the one the
    record step makes itself, and the thread is gone when decide returns."""
    import threading

    from audit import stored_input_bytes
    from gate.audit_step import stored_form

    prepared = pipeline.prepare(_opts())
    document = _document(prepared)
    plain = pipeline.decide(prepared, document)
    ran: list[str] = []

    def beside(doc: dict[str, Any], text: bytes) -> bytes:
        ran.append(threading.current_thread().name)
        return stored_form(doc, text)

    made = pipeline.decide(prepared, document, beside=beside)
    assert ran == ["gate-beside-engine"]
    assert not [t for t in threading.enumerate() if t.name == "gate-beside-engine"]
    assert made.to_json() == plain.to_json() and made.document_json == plain.document_json
    assert plain.stored_json is None and plain.document_json is not None
    assert made.stored_json == stored_input_bytes(document, plain.document_json)


def test_what_the_work_beside_the_engine_raises_is_raised() -> None:
    prepared = pipeline.prepare(_opts())
    document = _document(prepared)

    def broken(doc: dict[str, Any], text: bytes) -> bytes:
        raise RuntimeError("the record step's modules could not be imported")

    with pytest.raises(RuntimeError, match="could not be imported"):
        pipeline.decide(prepared, document, beside=broken)


def test_gate_check_stores_the_input_made_beside_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/compare.py --against measured the record step's imports and stored form, made after
    the evaluation, at over 10% of a check of a 10,000-component SBOM: they are made beside it,
    and what is stored is what was made there. With --no-audit nothing is made."""
    from gate import audit_step

    calls: list[int] = []
    real = audit_step.stored_form

    def counted(doc: dict[str, Any], text: bytes) -> bytes:
        calls.append(len(text))
        return real(doc, text)

    monkeypatch.setattr(audit_step, "stored_form", counted)
    log = tmp_path / "log"
    opts = _opts(GATE_AUDIT_LOG=str(log))
    prepared = pipeline.prepare(opts)
    decision = pipeline.run(prepared, opts, AuditOptions(), lambda _: None)
    assert len(calls) == 1 and decision.stored_json is not None and decision.audit is not None
    audit = AuditLog(log)
    entry = audit.entry(decision.audit["index"])
    assert entry.input is not None and audit.stored_input(entry.input) == decision.stored_json
    pipeline.run(prepared, opts, AuditOptions(disabled=True, signer=None), lambda _: None)
    assert len(calls) == 1
