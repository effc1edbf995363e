"""`gate audit list`, `show` and `verify` print strings from the change under review escaped: no
control character reaches the terminal and no printed line starts with `::`."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from audit.log import RECORDS
from audit.writer import write_record
from gate.report.escape import terminal_safe
from tests.audit.logs import Keys, document, facts, make_keys
from tests.helpers import run_gate

HOSTILE_SERVICE = "svc\n::error::x"
HOSTILE_REPOSITORY = "\x1b[31mhttps://github.com/acme/red\u202e\r::add-mask::y"
HOSTILE_MESSAGE = "fine\n::stop-commands::z\x9b31m\u2028done"
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    """A log with one record whose context and finding hold workflow commands and escapes."""
    log = tmp_path_factory.mktemp("hostile") / "log"
    base = facts(0)
    decision = dict(base.decision)
    decision["findings"] = [{**decision["findings"][0], "message": HOSTILE_MESSAGE}]
    context = {**base.context, "service": HOSTILE_SERVICE, "repository": HOSTILE_REPOSITORY}
    write_record(
        keys.settings(log), dataclasses.replace(base, decision=decision, context=context), document(0)
    )
    return log


def safe_lines(text: str) -> None:
    for line in text.split("\n"):
        assert not line.startswith("::"), line
        assert not UNSAFE.search(line), repr(line)


def test_terminal_safe_escapes_controls_and_bidi() -> None:
    assert terminal_safe("a\n::error::x") == "a\\x0a::error::x"
    assert terminal_safe("\x1b[31m\x7f\x85\t") == "\\x1b[31m\\x7f\\x85\\x09"
    assert terminal_safe("\u2028\u2029\u202a\u202e\u2066\u2069") == (
        "\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069"
    )
    assert terminal_safe("café ✓ 漢字") == "café ✓ 漢字"


def test_list_escapes_the_records_strings(hostile: Path) -> None:
    run = run_gate("audit", "list", "--log", hostile)
    assert run.code == 0
    safe_lines(run.stdout)
    assert "svc\\x0a::error::x" in run.stdout and "\\x1b[31mhttps://github.com/acme/red\\u202e" in run.stdout
    run = run_gate("audit", "list", "--log", hostile, "--format", "json")
    safe_lines(run.stdout)
    (row,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert row["service"] == HOSTILE_SERVICE and row["repository"] == HOSTILE_REPOSITORY


def test_show_escapes_the_records_strings(hostile: Path, keys: Keys) -> None:
    run = run_gate("audit", "show", "--log", hostile, "0", "--key", keys.pub, "--log-key", keys.log_pub)
    assert run.code == 0, run.stderr
    safe_lines(run.stdout)
    detail = run.json()["statement"]["predicate"]["https://govgate.dev/decision/v1"]
    assert detail["context"]["service"] == HOSTILE_SERVICE
    assert detail["findings"][0]["message"] == HOSTILE_MESSAGE


def test_errors_and_problems_name_hostile_files_escaped(hostile: Path, keys: Keys, tmp_path: Path) -> None:
    import shutil

    log = tmp_path / "log"
    shutil.copytree(hostile, log)
    (log / RECORDS / "x\n::error::planted\x1b[2J").write_text("x")
    run = run_gate("audit", "verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub)
    assert run.code == 1
    safe_lines(run.stdout)
    safe_lines(run.stderr)
    assert "FAIL records/x\\x0a::error::planted\\x1b[2J: unexpected file in the log" in run.stdout
    ref = "no\n::error::such\x1b[31m"
    run = run_gate("audit", "show", "--log", log, ref, "--key", keys.pub, "--log-key", keys.log_pub)
    assert run.code == 2 and "no record match" in run.stderr and run.stderr.count("\n") == 1
    safe_lines(run.stderr)
