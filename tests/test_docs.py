"""The documentation: README.md (the front door) and the pages of docs/.

Every command a page shows in a `sh` block runs here as shown, in page order, in a fresh folder
holding a copy of examples/ (as a clone of this repository would), and its output is compared with
the output block shown after it; the few commands that cannot run inside the test suite are named
with the reason and checked otherwise. Every option a page names exists in the help of the command
it is named for, every relative link resolves, and the README stays a front door.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from defusedxml.ElementTree import parse as defused_parse

from gate.cli.main import main
from tests.helpers import GATE, ROOT, require_binary
from tests.litewitness_fixture import Litewitness, litewitness

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
README_MAX_LINES = 200
# The decision time the shown outputs were made with (the list table shows it).
PINNED_TIME = "2026-11-23T12:00:00Z"

# The install command of the README and docs/install.md: a fresh venv, a regular `pip install .`,
# then the example in dev. Its gate part runs with the other commands; the whole line runs in
# test_the_install_command_installs_and_checks_the_example.
INSTALL = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && "
    ".venv/bin/gate check examples/payments-api --config examples/gate.yaml --env dev"
)
INSTALL_STEPS = ("python3 -m venv .venv", ".venv/bin/pip install -q .")


@dataclass(frozen=True)
class Expect:
    """What a shown command must do when it runs: its exit code, text in its stdout, files it
    writes (relative to the folder it runs in), the tools it needs, where it runs, and whether it
    talks to the witness the page shows."""

    code: int
    stdout_has: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    cwd_is_root: bool = False
    witness: bool = False


_PROD_PINNED = (
    ".venv/bin/gate check examples/payments-api --config examples/gate.yaml --env prod "
    "--config-digest sha256:8f6986c9595b99708d887040c84ee3d3190599d21cded7e5ae314143b2e7642d "
    "--waivers-digest sha256:12e5224dc72e02671fc321c9ae30cbaf563bf59b3e35e5ca16f4e23979a393c0"
)
# The key folder of a user who sets no XDG_DATA_HOME (the commands run with a home of their own).
_KEY_DIR = "~/.local/share/govgate/keys"
_KEYS = f"--key {_KEY_DIR}/audit.pub --log-key {_KEY_DIR}/log.pub"
# The witness the walk-through shows; the test starts litewitness on a free port in its place,
# adds the page's log to it and keeps its verifier key as witness.vkey.
SHOWN_WITNESS_URL = "http://127.0.0.1:7380"
WITNESS_VKEY = "witness.vkey"

# Every command the pages run, as shown (tokens joined by one space, comments dropped).
RUNS: dict[str, Expect] = {
    ".venv/bin/gate check examples/payments-api --config examples/gate.yaml --env dev": Expect(
        0, ("WARNINGS (4)", "govgate: WARN in dev")
    ),
    _PROD_PINNED: Expect(1, ("BLOCKING (2)", "govgate: BLOCK in prod")),
    _PROD_PINNED.replace("--env prod ", "--env prod --engine opa "): Expect(
        1, ("BLOCKING (2)", "govgate: BLOCK in prod"), needs=("opa",)
    ),
    "gate check . --env prod --format github --report sarif=govgate.sarif "
    "--report junit=govgate.junit.xml --report json=decision.json": Expect(
        1, ("::error ",), writes=("govgate.sarif", "govgate.junit.xml", "decision.json")
    ),
    f".venv/bin/gate audit checkpoint --log-key {_KEY_DIR}/log.pub": Expect(0, writes=("saved.checkpoint",)),
    f".venv/bin/gate audit verify {_KEYS} --checkpoint saved.checkpoint": Expect(
        0, ("OK: .gate/audit: 2 records",)
    ),
    ".venv/bin/gate audit list --env prod --outcome block": Expect(0, ("1 record(s)",)),
    f".venv/bin/gate audit show 1 {_KEYS}": Expect(0, ('"index": 1',)),
    ".venv/bin/gate audit prove 1 --out 1.tlog-proof": Expect(0, writes=("1.tlog-proof",)),
    f".venv/bin/gate audit verify-proof 1.tlog-proof --log-key {_KEY_DIR}/log.pub": Expect(
        0, ("OK: 1.tlog-proof: entry 1 ",)
    ),
    f".venv/bin/gate audit witness --url {SHOWN_WITNESS_URL} --witness-key {WITNESS_VKEY} "
    f"--log-key {_KEY_DIR}/log.pub": Expect(0, needs=("litewitness", "witnessctl"), witness=True),
    f".venv/bin/gate audit verify {_KEYS} --witness {WITNESS_VKEY} --witnesses-required 1": Expect(
        0, ("OK: .gate/audit: 2 records",), witness=True
    ),
    f".venv/bin/gate audit verify {_KEYS} --since saved.checkpoint": Expect(
        0, ("OK: .gate/audit: 1 new records since the checkpoint of size 2",)
    ),
    ".venv/bin/gate audit replay --config examples/gate-next.yaml": Expect(1, ("2 decisions replayed",)),
    ".venv/bin/gate audit export 0 --out record.json": Expect(0, writes=("record.json",)),
    ".venv/bin/gate audit export 0 --envelope --out record.dsse.json": Expect(
        0, writes=("record.dsse.json",)
    ),
    ".venv/bin/gate policy test": Expect(0, ("0 failed",)),
    ".venv/bin/gate policy test --engine opa --fail-under 90": Expect(0, ("0 failed",), needs=("opa",)),
    ".venv/bin/gate policy check": Expect(0, needs=("opa", "regal")),
    ".venv/bin/python -m gate.engine.wasm_build --check": Expect(
        0, ("matches the shipped library",), cwd_is_root=True
    ),
}

# Commands CI runs itself: each is a line of .ci/run (or .ci/run itself, which the workflow runs).
BY_CI = ("bash scripts/test.sh", "bash scripts/lint.sh", "bash .ci/run")

# Commands that cannot run inside the test suite, by the start of what is shown, and why.
NOT_RUN: dict[str, str] = {
    ".venv/bin/python -m gate.engine.wasm_build": "rewrites policies/build/ in the checkout; its --check "
    "form runs here, and tests/gate/engine/test_opa_wasm.py checks the build is current",
    "gate serve ": "a server that runs until stopped: tests/gate/serve starts it; its options are checked here",
    "gate audit serve ": "a server on a PostgreSQL: tests/gate/cli/test_central_log.py starts it on a cluster of "
    "its own; its options are checked here",
    "gate audit token create ": "needs the service's PostgreSQL: tests/gate/cli/test_central_log.py runs it",
    "export GATE_SERVE_TOKEN=": "sets the server's token in the user's shell",
    "curl ": "needs a running server and jq; tests/gate/serve/test_api.py posts requests of this shape",
    "cd integrations/backstage": "changes the shell's folder (the folder is checked to exist)",
    "npm ci": "Node: tests/integrations/test_backstage_action.py runs npm ci and the package's tests",
    "npm pack": "Node: builds the tarball of the package tests/integrations/test_backstage_action.py tests",
    "yarn --cwd packages/backend add ": "runs in the user's Backstage repository",
    "cosign verify-blob-attestation ": "tests/audit/test_standard_verifiers.py runs it (v2 and v3) on "
    "records gate check wrote",
    "slsa-verifier verify-vsa ": "tests/audit/test_standard_verifiers.py runs it on records gate check wrote",
}

# Options the pages name for tools other than gate, with the tool.
EXTERNAL_OPTIONS = {
    "--rawfile": "jq",
    "--output": "cosign verify",
    "--server": "opa run",
    "--cwd": "yarn",
    "--strict": "mypy, mkdocs, opa check",
    "--all-namespaces": "conftest test",
    "--combine": "conftest test",
    "--v0-v1": "opa fmt",
    "--insecure-ignore-tlog": "cosign verify-blob-attestation",
    "--type": "cosign verify-blob-attestation",
    "--trusted-root": "cosign verify-blob-attestation",
    "--attestation-path": "slsa-verifier verify-vsa",
    "--public-key-path": "slsa-verifier verify-vsa",
    "--subject-digest": "slsa-verifier verify-vsa",
    "--verifier-id": "slsa-verifier verify-vsa",
    "--resource-uri": "slsa-verifier verify-vsa",
    "--verified-level": "slsa-verifier verify-vsa",
}


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page."""

    page: Path
    line: int
    lang: str
    text: str
    start: int
    end: int


@dataclass
class Shown:
    """One command of a `sh` block, and the output block shown after it (for the block's last)."""

    page: Path
    line: int
    key: str
    argv: list[str]
    redirect: str | None = None
    output: str | None = None
    env: dict[str, str] = field(default_factory=dict)


_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.S | re.M
)


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, in order (indented ones inside list items too)."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        indent = len(m["indent"])
        body = "\n".join(line[indent:] for line in m["body"].splitlines())
        found.append(Block(page, text.count("\n", 0, m.start()) + 1, m["lang"], body, m.start(), m.end()))
    return found


def prose(page: Path) -> str:
    """The page without its fenced code blocks."""
    return _FENCE.sub("", page.read_text(encoding="utf-8"))


def inline_code(page: Path) -> list[str]:
    """The inline code spans of a page's prose (a span may run over a line break)."""
    return [" ".join(m[1].split()) for m in re.finditer(r"`([^`\n]+(?:\n[^`\n]+)*)`", prose(page))]


def _logical_lines(body: str) -> Iterator[tuple[int, str]]:
    """Lines of a shell block with continuations joined and quotes balanced over line breaks."""
    pending, start = "", 0
    for number, line in enumerate(body.splitlines()):
        if not pending:
            start = number
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):  # continued on the next line
            pending = pending[:-1]
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        yield start, pending
        pending = ""
    assert not pending, f"unbalanced shell quoting: {pending!r}"


def shown_commands(page: Path) -> list[Shown]:
    """Every command of the page's `sh` blocks; `a && b` and `a; b` are two commands."""
    all_blocks = blocks(page)
    text = page.read_text(encoding="utf-8")
    commands: list[Shown] = []
    for i, block in enumerate(all_blocks):
        if block.lang not in ("sh", "bash", "shell", "console"):
            continue
        in_block: list[Shown] = []
        for offset, line in _logical_lines(block.text):
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
            lexer.whitespace_split = True
            segment: list[str] = []
            for token in [*lexer, ";"]:
                if token in (";", "&&", "||", "|"):
                    if segment:
                        in_block.append(_shown(page, block.line + 1 + offset, segment))
                    segment = []
                else:
                    segment.append(token)
        if in_block and i + 1 < len(all_blocks):
            nxt = all_blocks[i + 1]
            if nxt.lang == "" and not text[block.end : nxt.start].strip():
                in_block[-1].output = nxt.text
        commands.extend(in_block)
    return commands


def _shown(page: Path, line: int, tokens: list[str]) -> Shown:
    env: dict[str, str] = {}
    while tokens and re.fullmatch(r"[A-Z_]+=.*", tokens[0]) and len(tokens) > 1:
        name, _, value = tokens.pop(0).partition("=")
        env[name] = value
    redirect = None
    if ">" in tokens:
        at = tokens.index(">")
        redirect = tokens[at + 1]
        tokens = tokens[:at] + tokens[at + 2 :]
    return Shown(page, line, " ".join(tokens), tokens, redirect, env=env)


def every_shown() -> list[Shown]:
    """Every command shown in README.md and docs/."""
    return [c for page in PAGES for c in shown_commands(page)]


def _rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


# --- the README -----------------------------------------------------------------------------


def test_the_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"
    text = "\n".join(lines)
    assert INSTALL in text and "\nbash scripts/test.sh\n" in text  # the two set-up commands
    assert "## Exit codes" in text and "BLOCKING (2)" in text  # the codes and the example's output


def test_every_page_is_in_the_navigation() -> None:
    """mkdocs --strict fails on pages left out of the nav; this names them without a build."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav: object) -> Iterator[str]:
        if isinstance(nav, str):
            yield nav
        elif isinstance(nav, list):
            for item in nav:
                yield from pages(item)
        elif isinstance(nav, dict):
            for item in nav.values():
                yield from pages(item)

    assert sorted(pages(config["nav"])) == sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))


# --- links ----------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor of a heading, as Python-Markdown's toc (mkdocs) and GitHub make it for ours."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text).strip("-")


def anchors(page: Path) -> set[str]:
    """The anchors a Markdown page's headings make."""
    return {slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", prose(page), re.M)}


def relative_links(page: Path) -> list[str]:
    """The page's relative link targets (prose only: links inside code are not links)."""
    text = re.sub(r"`[^`\n]*`", "", prose(page))
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_relative_link_resolves(page: Path) -> None:
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{_rel(page)}: link to {target}: {dest} does not exist"
        if page.is_relative_to(DOCS):
            assert dest.is_relative_to(DOCS), f"{_rel(page)}: link to {target} leaves docs/ (the site)"
        if anchor:
            assert dest.suffix == ".md", f"{_rel(page)}: anchor into a non-Markdown file: {target}"
            assert anchor in anchors(dest), f"{_rel(page)}: {target}: no heading makes #{anchor}"


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n[ok](#a-page), [gone](other.md), `[code](not-a-link.md)`\n")
    assert relative_links(page) == ["#a-page", "other.md"]
    assert anchors(page) == {"a-page"}
    assert slug("`gate serve`: pre-publish checks over HTTP") == "gate-serve-pre-publish-checks-over-http"


# --- commands -------------------------------------------------------------------------------


def _classify(cmd: Shown) -> str:
    if cmd.key in RUNS:
        return "run"
    if cmd.key in BY_CI:
        return "ci"
    if cmd.key in INSTALL_STEPS:
        return "install"
    if any(cmd.key.startswith(prefix) for prefix in NOT_RUN):
        return "not run"
    return "unknown"


def test_every_shown_command_is_run_or_accounted_for() -> None:
    shown = every_shown()
    unknown = [f"{_rel(c.page)}:{c.line}: {c.key}" for c in shown if _classify(c) == "unknown"]
    assert not unknown, "commands the docs show that no test runs (add them to RUNS):\n" + "\n".join(unknown)
    keys = {c.key for c in shown}
    assert not set(RUNS) - keys, f"RUNS names commands no page shows: {set(RUNS) - keys}"
    for prefix in NOT_RUN:
        assert any(k.startswith(prefix) for k in keys), f"NOT_RUN names a command no page shows: {prefix}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    for command in BY_CI:
        assert command in ci or (command == "bash .ci/run" and "bash .ci/run" in workflow), command
    assert (ROOT / "integrations" / "backstage" / "package.json").is_file()
    import importlib.util

    assert importlib.util.find_spec("gate.engine.wasm_build") is not None


def test_the_install_command_is_the_same_everywhere() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for line in text.splitlines():
            if "pip install" in line and ".venv" in line and not line.startswith(("|", "`")):
                assert line.strip() == INSTALL, f"{_rel(page)}: {line}"


def _sandbox(tmp_path: Path) -> Path:
    """A fresh folder with a copy of examples/, where the shown relative paths resolve."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def _env() -> dict[str, str]:
    """The user's environment, less CI and gate variables: keys and the log are the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))}
    env.update({"NO_COLOR": "1", "GATE_TIME": PINNED_TIME})
    return env


_PER_RUN = re.compile(r"…|[A-Za-z0-9+/=]{12,}")


def matches_shown(shown: str, actual: str) -> bool:
    """Whether the actual output is the one shown: `…` stands for any text on its line, and a
    run of 12 or more base64 characters with a digit in it for any such run (keys, tree roots and
    signatures differ on every machine)."""
    pattern, at = "", 0
    for m in _PER_RUN.finditer(shown):
        pattern += re.escape(shown[at : m.start()])
        if m[0] == "…":
            pattern += r"[^\n]*"
        elif re.search(r"\d", m[0]):
            pattern += r"[A-Za-z0-9+/=]{12,}"
        else:
            pattern += re.escape(m[0])
        at = m.end()
    pattern += re.escape(shown[at:])
    return re.fullmatch(pattern, actual.strip("\n")) is not None


def test_shown_output_matching() -> None:
    assert matches_shown("root ATp1AtwxVWemi3wVM7lyqLeZxvlZR2mXQInTnP9GX50=", "root Zm9vYmFyYmF6cXV4MTIzNDU=")
    assert matches_shown("policy sha256:…", "policy sha256:80dc1f30d6a3…")
    assert not matches_shown("BLOCKING (2)", "BLOCKING (3)")
    assert not matches_shown("examples/payments-api", "examples/paymentz-api")


def _argv(cmd: Shown, home: Path) -> list[str]:
    """The command's argv, with `~/` expanded to `home` as the reader's shell would."""
    head = cmd.argv[0]
    args = [str(home / a[2:]) if a.startswith("~/") else a for a in cmd.argv[1:]]
    if head in (".venv/bin/gate", "gate"):
        return [*GATE, *args]
    if head == ".venv/bin/python":
        return [sys.executable, *args]
    raise AssertionError(f"{_rel(cmd.page)}:{cmd.line}: cannot run {cmd.key}")


def _pages_that_run() -> list[Path]:
    return [p for p in PAGES if any(c.key in RUNS for c in shown_commands(p))]


@pytest.mark.parametrize("page", _pages_that_run(), ids=_rel)
def test_every_command_the_page_shows_runs_as_shown(
    page: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The page's commands in order, in one fresh folder, as a reader runs them."""
    folder = _sandbox(tmp_path)
    # A home of the reader's own, where the gate makes its keys on first use; `go install`'s
    # folder (where the tools are found) stays the user's.
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in _env().items() if k != "XDG_DATA_HOME"}
    env.update({"HOME": str(home), "GOPATH": env.get("GOPATH") or str(Path.home() / "go")})
    with ExitStack() as stack:
        witness: Litewitness | None = None
        for cmd in shown_commands(page):
            expect = RUNS.get(cmd.key)
            if expect is None:
                continue
            for tool in expect.needs:
                require_binary(tool)
            argv = _argv(cmd, home)
            if expect.witness:
                if witness is None:
                    witness = stack.enter_context(litewitness("witness.example/w1"))
                    _witness_knows_the_log(witness, home, folder)
                argv = [a.replace(SHOWN_WITNESS_URL, witness.url) for a in argv]
            _run_shown(cmd, expect, argv, folder if not expect.cwd_is_root else ROOT, tmp_path, env)


def _witness_knows_the_log(witness: Litewitness, home: Path, folder: Path) -> None:
    """What the witness's operator does: add the log (origin and key from its log.pub), and publish
    the witness's verifier key, which the reader keeps as witness.vkey."""
    vkey = (home / _KEY_DIR.removeprefix("~/") / "log.pub").read_text(encoding="utf-8").strip()
    witness.add_log(vkey.split("+", 1)[0], vkey)
    (folder / WITNESS_VKEY).write_text(witness.vkey + "\n", encoding="utf-8")


def _run_shown(
    cmd: Shown, expect: Expect, argv: list[str], cwd: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """Run one shown command and check it did what the page says."""
    where = f"{_rel(cmd.page)}:{cmd.line}: {cmd.key}"
    if cmd.key.startswith("gate check . "):  # a service's checkout: the example service
        cwd = tmp_path / "service"
        shutil.copytree(ROOT / "examples" / "payments-api", cwd)
    proc = subprocess.run(argv, cwd=cwd, env={**env, **cmd.env}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == expect.code, f"{where}: exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, where
    out = proc.stdout
    if cmd.redirect:
        (cwd / cmd.redirect).write_text(out, encoding="utf-8")
    for text in expect.stdout_has:
        assert text in out, f"{where}: {text!r} not in its output:\n{out}"
    for name in expect.writes:
        written = cwd / name
        assert written.is_file() and written.stat().st_size > 0, f"{where}: wrote no {name}"
        _parses(written)
    if cmd.output is not None:
        assert matches_shown(cmd.output, out), f"{where}: the output differs from the page's:\n{out}"


def _parses(path: Path) -> None:
    """A report file the command writes is well-formed in its format."""
    import json

    if path.suffix in (".json", ".sarif"):
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".xml":
        defused_parse(path)  # the gate's report, read as any XML from outside is


@pytest.mark.slow
def test_the_install_command_installs_and_checks_the_example(tmp_path: Path) -> None:
    """The README's first command, verbatim, in a copy of the checkout: a regular (not editable)
    install that carries the policies, the schemas and the py.typed markers, then the example."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    clone = tmp_path / "clone"
    for name in filter(None, files.split("\0")):
        src = ROOT / name
        if src.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / name)
    proc = subprocess.run(
        ["bash", "-c", INSTALL], cwd=clone, env=_env(), capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "govgate: WARN in dev" in proc.stdout
    [site] = (clone / ".venv" / "lib").glob("python3*/site-packages")
    for shipped in (
        "gate/py.typed",
        "audit/py.typed",
        "gate/policies/gate/main.rego",
        "gate/schema_files/input.schema.json",
    ):
        assert (site / shipped).is_file(), shipped
    assert not list(site.glob("__editable__*")), "pip install . must not be an editable install"


# --- options --------------------------------------------------------------------------------


@cache
def gate_commands() -> dict[str, click.Command]:
    """Every gate command by its name after `gate` ("check", "audit verify", ...)."""
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            found[f"{prefix}{name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(main, "")
    return found


@cache
def help_options(name: str) -> frozenset[str]:
    """The options `gate NAME --help` prints."""
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    return frozenset(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", result.output))


_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_INVOCATION = re.compile(r"(?:^|(?<=[\s`'\"(]))(?:\.venv/bin/)?gate\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?")


def invocations(page: Path) -> Iterator[tuple[str, str]]:
    """(gate command, the text that follows it up to the end of the command) for every gate
    invocation the page's code shows: blocks (usage lines continued by indented `[`) and spans."""
    texts = list(inline_code(page))
    for block in blocks(page):
        text = block.text.replace("\\\n", " ")
        texts.extend(re.sub(r"\n\s+(?=\[)", " ", text).splitlines())
    for text in texts:
        for m in _INVOCATION.finditer(text):
            name = m[1] if m[1] in ("check", "serve") or not m[2] else f"{m[1]} {m[2]}"
            rest = re.split(r"&&|;| # |\$\(", text[m.end() :])[0]
            sub = re.match(r"\s+([a-z][a-z-]*)", rest)
            if sub and isinstance(gate_commands().get(name), click.Group):  # e.g. `gate audit token create`
                name, rest = f"{name} {sub[1]}", rest[sub.end() :]
            yield name, rest


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_the_options_a_page_names_exist_in_gate_help(page: Path) -> None:
    commands = gate_commands()
    for name, rest in invocations(page):
        if name in ("audit", "policy"):  # the group itself, named in prose
            continue
        assert name in commands, f"{_rel(page)}: `gate {name}` is not a gate command"
        missing = set(_OPTION.findall(rest)) - help_options(name)
        assert not missing, f"{_rel(page)}: `gate {name}` has no {sorted(missing)} (see `gate {name} --help`)"


def _bench_options() -> set[str]:
    found: set[str] = set()
    for source in (*(ROOT / "bench").glob("*.py"), ROOT / "gate" / "engine" / "wasm_build.py"):
        found |= set(
            re.findall(r"add_argument\(\s*\"(--[a-z][a-z0-9-]*)\"", source.read_text(encoding="utf-8"))
        )
    return found


def test_every_option_the_docs_name_is_an_option_of_something() -> None:
    """Options named anywhere on a page, without their command: gate's (any command), the bench
    scripts' and the maintainer command's, or an external tool's the page uses."""
    known = set(EXTERNAL_OPTIONS) | _bench_options()
    for name in gate_commands():
        known |= help_options(name)
    for page in PAGES:
        unknown = set(_OPTION.findall(page.read_text(encoding="utf-8"))) - known
        assert not unknown, f"{_rel(page)} names options nothing has: {sorted(unknown)}"


def test_the_usage_the_check_page_shows_names_every_option_of_gate_check() -> None:
    usage = next(b.text for b in blocks(DOCS / "check.md") if b.text.startswith("gate check [PATH]"))
    assert set(_OPTION.findall(usage)) == help_options("check") - {"--help"}


def test_the_serve_page_lists_every_option_of_gate_serve() -> None:
    table = [
        line
        for line in (DOCS / "integrations" / "serve.md").read_text().splitlines()
        if line.startswith("| `--")
    ]
    assert set(_OPTION.findall("\n".join(table))) == help_options("serve") - {"--help"}


# --- what the configuration page shows ------------------------------------------------------


def test_the_config_and_waivers_the_docs_show_are_valid() -> None:
    from gate.schemas import shipped

    shown = [yaml.safe_load(b.text) for b in blocks(DOCS / "configuration.md") if b.lang == "yaml"]
    config = next(doc for doc in shown if "environment" in doc)
    waivers = next(doc for doc in shown if "waivers" in doc and "environment" not in doc)
    assert shipped("config.schema.json").errors(config) == []
    for waiver in waivers["waivers"]:
        waiver["expires"] = str(waiver["expires"])  # YAML reads a date; the gate takes its text
    assert shipped("waivers.schema.json").errors(waivers) == []


# --- what the integration pages show --------------------------------------------------------


def _input_rows(page: Path) -> dict[str, str]:
    """The rows of a page's inputs table: every input the first cell names, with its default cell."""
    rows: dict[str, str] = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and not cells[0].startswith("`--"):
            for name in re.findall(r"`([a-z][a-z0-9-]*)`", cells[0]):
                rows[name] = cells[1]
    return rows


def _check_inputs(page: Path, inputs: dict[str, dict[str, object]]) -> None:
    rows = _input_rows(page)
    assert set(rows) == set(inputs), f"{_rel(page)}: the inputs table and the inputs differ"
    for name, spec in inputs.items():
        default = spec.get("default")
        if default not in (None, ""):
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"`{shown}`" in rows[name], (
                f"{_rel(page)}: {name}'s default is {shown!r}, not {rows[name]}"
            )


def test_the_github_page_lists_every_input_of_the_action_with_its_default() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    _check_inputs(DOCS / "integrations" / "github.md", action["inputs"])
    text = (DOCS / "integrations" / "github.md").read_text(encoding="utf-8")
    for output in action["outputs"]:
        assert f"`{output}`" in text, output


def test_the_gitlab_page_lists_every_input_of_the_component_with_its_default() -> None:
    spec = next(yaml.safe_load_all((ROOT / "templates" / "govgate.yml").read_text(encoding="utf-8")))
    _check_inputs(DOCS / "integrations" / "gitlab.md", spec["spec"]["inputs"])


def test_the_defaults_the_serve_page_shows_are_gate_serves() -> None:
    params = {opt: p for p in gate_commands()["serve"].params for opt in p.opts}
    checked = 0
    for line in (DOCS / "integrations" / "serve.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        options = _OPTION.findall(cells[0]) if line.startswith("| `--") else []
        defaults = re.findall(r"`([^`]+)`", cells[1]) if len(cells) > 1 else []
        if len(options) != len(defaults):
            continue  # a default in words (an environment variable, the config, the CPU count)
        for option, shown in zip(options, defaults, strict=True):
            default = params[option].default
            if not isinstance(default, int | float | str):
                continue  # no default of its own: the page names where the value comes from
            if isinstance(default, int | float):
                assert float(shown) == float(default), (
                    f"{option}: the page says {shown}, gate serve {default}"
                )
            else:
                assert shown == default, f"{option}: the page says {shown}, gate serve {default}"
            checked += 1
    assert checked >= 5
