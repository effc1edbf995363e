"""Untrusted strings cannot inject workflow commands or terminal escapes into what the gate prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.report.escape import terminal_safe
from tests.helpers import component_entity, run_gate, write_yaml

INJECTIONS = ("\n::error::pwned", "\r\n::add-mask::secret", "\n::stop-commands::tok", "\x1b[2J\x1b[31mred")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\n::error::x", "a\\x0a::error::x"),
        ("::warning::y", "\\x3a:warning::y"),
        ("  \t::x", "  \\x09::x"),
        (" ::x", " \\x3a:x"),
        ("a::b", "a::b"),
        ("\x1b[31mred\x9b", "\\x1b[31mred\\x9b"),
        ("abc\u202eevil\u2028", "abc\\u202eevil\\u2028"),
        ("plain, ünïcode ✓", "plain, ünïcode ✓"),
    ],
)
def test_terminal_safe(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def _gate_lines(text: str) -> list[str]:
    return text.split("\n")


def _assert_clean(text: str, *, commands_allowed: bool = False) -> None:
    assert "\x1b" not in text and "\r" not in text
    for line in _gate_lines(text):
        if line.lstrip().startswith("::"):
            assert commands_allowed, line
            # Only the gate's own annotations, never a command the input spelled.
            assert line.startswith(("::error ", "::warning ", "::notice ")), line
            assert "::add-mask::" not in line.split("::", 2)[1]


@pytest.fixture
def hostile_repo(tmp_path: Path) -> Path:
    """Catalog files whose owner and file name carry workflow commands and escape sequences."""
    repo = tmp_path / "repo"
    for n, injection in enumerate(INJECTIONS):
        entity = component_entity(f"svc{n}", owner=f"user:jdoe{injection}")
        write_yaml(repo / f"catalog{n}{injection.replace('/', '')}.yaml", entity)
    return repo


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_findings_stay_on_their_lines(hostile_repo: Path, fmt: str) -> None:
    run = run_gate("check", hostile_repo, "--format", fmt, "--no-audit")
    assert run.code == 0, run.stderr
    assert "jdoe" in run.stdout
    _assert_clean(run.stdout, commands_allowed=fmt == "github")
    _assert_clean(run.stderr)


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_an_error_line_stays_one_line(tmp_path: Path, fmt: str) -> None:
    bad = tmp_path / "bad\n::error::pwned\x1b[31m.yaml"
    bad.write_text("a: [unclosed\n", encoding="utf-8")
    run = run_gate("check", bad, "--format", fmt)
    assert run.code == 2
    lines = [line for line in run.stderr.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("gate: "), run.stderr
    assert "pwned" in lines[0]
    _assert_clean(run.stderr)
    _assert_clean(run.stdout, commands_allowed=fmt == "github")
