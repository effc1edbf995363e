"""Bad and hostile input: exit 2, one line naming the file, bounded time and memory, no traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import component_entity, run_gate, write_yaml

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)

SAM_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt Role.Arn
"""

SKELETON = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
  {%- if values.description %}
  description: ${{ values.description }}
  {%- endif %}
spec:
  owner: ${{ values.owner }}
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components><component type="library">
<name>&xxe;</name></component></components></bom>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>&lol2;</components></bom>
"""


def _write(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(content)
        return p

    return make


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing path": (lambda tmp: tmp / "nope.yaml", "no such file"),
    "empty file": (_write("empty.yaml", b""), "empty"),
    "invalid utf-8": (_write("latin1.yaml", b"name: caf\xe9\n"), "UTF-8"),
    "binary garbage": (_write("garbage.json", bytes(range(256)) * 4), "binary"),
    "malformed yaml": (
        _write("bad.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: [Component\n"),
        "malformed YAML",
    ),
    "yaml with a C1 control character": (_write("c1.yaml", 'a: "\u008c"\n'.encode()), "U+008C"),
    "malformed json": (_write("bad.json", b'{"bomFormat": "CycloneDX", "specVersion": '), "malformed JSON"),
    "yaml custom tags (AWS SAM)": (_write("template.yaml", SAM_TEMPLATE.encode()), "custom tag"),
    "yaml alias bomb": (_write("bomb.yaml", ALIAS_BOMB.encode()), "alias bomb"),
    "json nested 100000 deep": (_write("deep.json", b"[" * 100_000 + b"]" * 100_000), "nested"),
    "xml external entity": (_write("bom.xml", XXE), "DTD"),
    "xml billion laughs": (_write("lol.xml", BILLION_LAUGHS), "DTD"),
    "nunjucks skeleton": (_write("catalog-info.yaml", SKELETON.encode()), "skeleton"),
    "not an input": (_write("notes.yaml", b"just: a mapping\n"), "not a recognised input"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    make, needle = CASES[case]
    path = make(tmp_path)
    run = run_gate("check", path, "--env", "prod", cwd=tmp_path, timeout=60)
    assert run.code == 2, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert path.name in lines[0]
    assert needle.lower() in lines[0].lower()
    assert run.stdout == ""


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("limits: {max_file_bytes: 2048}\n")
    big = write_yaml(tmp_path / "catalog-info.yaml", component_entity(description="x" * 4096))
    run = run_gate("check", big, cwd=tmp_path)
    assert run.code == 2
    assert "catalog-info.yaml" in run.stderr and "limit" in run.stderr


def test_unknown_environment(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate("check", cat, "--env", "qa", cwd=tmp_path)
    assert run.code == 2
    assert "unknown environment 'qa'" in run.stderr and "dev, prod, staging" in run.stderr


def test_waiver_missing_expiry(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    waivers = write_yaml(
        tmp_path / "waivers.yaml",
        {
            "waivers": [
                {
                    "id": "W-1",
                    "check": "CATALOG-OWNER",
                    "subject": "*",
                    "owner": "team-a",
                    "reason": "migration in Q3",
                }
            ]
        },
    )
    run = run_gate("check", cat, "--waivers", waivers, cwd=tmp_path)
    assert run.code == 2
    assert "waivers.yaml" in run.stderr and "expires" in run.stderr and "W-1" in run.stderr


def test_waiver_beyond_maximum_lifetime(tmp_path: Path) -> None:
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    waivers = write_yaml(
        tmp_path / "waivers.yaml",
        {
            "waivers": [
                {
                    "id": "W-2",
                    "check": "CATALOG-OWNER",
                    "subject": "*",
                    "owner": "team-a",
                    "reason": "migration in Q3",
                    "expires": "2027-06-30",
                }
            ]
        },
    )
    run = run_gate(
        "check", cat, "--waivers", waivers, cwd=tmp_path, env={"GATE_TIME": "2026-11-23T00:00:00Z"}
    )
    assert run.code == 2
    assert "W-2" in run.stderr and "90 days" in run.stderr


def test_invalid_config_key(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("enviroment: prod\n")
    cat = write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    run = run_gate("check", cat, cwd=tmp_path)
    assert run.code == 2
    assert "gate.yaml" in run.stderr and "enviroment" in run.stderr


# Hostile inputs that were a traceback, a hang or a gigabyte in the audit log: each is exit 2 with
# one line naming the file, in dev as in prod, and the refusal is recorded.


def _alias_text_bomb(tmp: Path) -> tuple[Path, str]:
    """A Component whose spec holds 100 KB of text aliased 100 x 100 times: 1 GB once expanded."""
    text = "x" * 100_000
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Component",
        "metadata:",
        "  name: payments",
        f"  description: &s0 {text}",
        "spec:",
        "  type: service",
        "  lifecycle: production",
        "  owner: group:payments",
        "  l1: &s1 [" + ", ".join(["*s0"] * 100) + "]",
        "  l2: [" + ", ".join(["*s1"] * 100) + "]",
    ]
    path = tmp / "catalog-info.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, "catalog-info.yaml"


def _long_int(name: str, text: str) -> Callable[[Path], tuple[Path, str]]:
    def make(tmp: Path) -> tuple[Path, str]:
        (tmp / name).write_text(text)
        return tmp / name, name

    return make


def _fifo(tmp: Path) -> tuple[Path, str]:
    os.mkfifo(tmp / "p.yaml")  # no writer: opening it to read would wait forever
    return tmp / "p.yaml", "p.yaml"


def _loop(tmp: Path) -> tuple[Path, str]:
    (tmp / "a.yaml").symlink_to("b.yaml")
    (tmp / "b.yaml").symlink_to("a.yaml")
    return tmp / "a.yaml", "a.yaml"


def _loop_in_a_walk(tmp: Path) -> tuple[Path, str]:
    """A walk stops at a loop under an input's name (a loop under any other name is skipped)."""
    repo = tmp / "repo"
    write_yaml(repo / "catalog-info.yaml", component_entity())
    _loop(repo)
    (repo / "svc").mkdir()
    (repo / "svc" / "catalog-info.yaml").symlink_to("catalog-info.yaml")
    return repo, "repo/svc/catalog-info.yaml"


DIGITS = "1" * 5000
HOSTILE: dict[str, tuple[Callable[[Path], tuple[Path, str]], str]] = {
    "yaml aliases expanding to 1 GB of text": (
        _alias_text_bomb,
        "yaml aliases expand to more than 67108864 bytes",
    ),
    "json integer of 5000 digits": (
        _long_int("bom.cdx.json", f'{{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": {DIGITS}}}'),
        "json holds an integer of more than 4300 digits",
    ),
    "yaml integer of 5000 digits": (
        _long_int("catalog-info.yaml", f"apiVersion: backstage.io/v1alpha1\nkind: Component\nx: {DIGITS}\n"),
        "yaml holds an integer of more than 4300 digits at line 3",
    ),
    "yaml hex integer of 4817 digits": (
        _long_int("catalog-info.yaml", f"kind: Component\nx: 0x{'f' * 4000}\n"),
        "yaml holds an integer of more than 4300 digits at line 2",
    ),
    "fifo named on the command line": (_fifo, "a named pipe (fifo), not a regular file"),
    "char device named on the command line": (
        lambda tmp: (Path("/dev/zero"), "/dev/zero"),
        "a character device",
    ),
    "symbolic link loop named on the command line": (_loop, "symbolic link loop"),
    "symbolic link loop met in a walk": (_loop_in_a_walk, "symbolic link loop"),
}


def _records(log: Path) -> list[dict[str, Any]]:
    run = run_gate("audit", "list", "--log", log, "--format", "json")
    assert run.code == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_exits_2_with_one_line_and_a_record(case: str, env: str, tmp_path: Path) -> None:
    make, needle = HOSTILE[case]
    path, shown = make(tmp_path)
    log = tmp_path / "log"
    run = run_gate("check", path, "--env", env, cwd=tmp_path, env={"GATE_AUDIT_LOG": str(log)}, timeout=120)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"gate: {shown}: "), run.stderr
    assert needle in lines[0].lower()
    assert run.stdout == ""
    (row,) = _records(log)
    assert row["outcome"] == "error" and needle in row["error"].lower()


def _outside_secret(tmp: Path) -> tuple[Path, str]:
    """A repository whose links lead to a recognised entity outside it, holding a marker."""
    marker = "exfiltrated-" + "7f3a9c" * 4
    outside = tmp / "outside"
    write_yaml(outside / "secret.yaml", component_entity("stolen", description=marker))
    repo = tmp / "repo"
    write_yaml(repo / "catalog-info.yaml", component_entity())
    (repo / "link.yaml").symlink_to(outside / "secret.yaml")
    (repo / "relative.yaml").symlink_to("../outside/secret.yaml")
    (repo / "docs").symlink_to(outside)
    return repo, marker


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_links_out_of_the_walked_folder_are_skipped_and_never_stored(env: str, tmp_path: Path) -> None:
    _, marker = _outside_secret(tmp_path)
    log = tmp_path / "log"
    run = run_gate(
        "check", "repo", "--env", env, "--format", "json", cwd=tmp_path, env={"GATE_AUDIT_LOG": str(log)}
    )
    assert run.code in (0, 1), run.stderr
    assert [ln for ln in run.stderr.splitlines() if ln.strip()] == [
        f"gate: warning: skipped repo/{name}: symbolic link leads outside repo"
        for name in ("docs", "link.yaml", "relative.yaml")
    ]
    assert run.json()["inputs"]["catalog"] == 1  # the entity inside the folder, only
    assert marker not in run.stdout and "stolen" not in run.stdout
    stored = [p for p in log.rglob("*") if p.is_file()]
    assert stored and not [p for p in stored if marker.encode() in p.read_bytes()]
    (row,) = _records(log)
    assert row["outcome"] in ("pass", "warn", "block")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_fifo_met_in_a_walk_is_skipped_not_waited_for(env: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_yaml(repo / "catalog-info.yaml", component_entity())
    os.mkfifo(repo / "p.yaml")
    plain = run_gate("check", repo / "catalog-info.yaml", "--env", env, cwd=tmp_path)
    run = run_gate("check", "repo", "--env", env, cwd=tmp_path, timeout=120)
    assert run.code == plain.code, run.stderr
    fifo = "gate: warning: skipped repo/p.yaml: a named pipe (FIFO), not a regular file"
    assert run.stderr.splitlines() == [fifo, *plain.stderr.splitlines()]


def test_a_named_input_linked_out_of_the_checkout_is_refused_in_prod(tmp_path: Path) -> None:
    outside = tmp_path / "runner-secrets.json"
    outside.write_text(json.dumps({"token": "s3cr3t"}), encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "sbom.cdx.json").symlink_to(outside)
    run = run_gate("check", "sbom.cdx.json", "--env", "prod", cwd=repo)
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "gate: sbom.cdx.json: symbolic link leads outside the working directory."
        " name the file itself, not a link to it"
    ], run.stderr
    assert "s3cr3t" not in run.stdout + run.stderr
