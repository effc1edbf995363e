"""Bad and hostile input: exit 2, one line naming the file, bounded time and memory, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
