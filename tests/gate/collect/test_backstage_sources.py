"""Template sources and skeleton files: the folders a template's fetch:template steps copy are left
out of a folder walk, whatever their name, and a skeleton file named on the command line is refused
with one line, also when its Nunjucks happens to be valid YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.collect import backstage
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from tests.helpers import run_gate


def template(url: str, action: str = "fetch:template") -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "service", "description": "A service."},
        "spec": {
            "type": "service",
            "owner": "group:platform",
            "steps": [
                {
                    "id": "fetch",
                    "action": action,
                    "input": {"url": url, "values": {"name": "${{ parameters.name }}"}},
                },
                {
                    "id": "publish",
                    "action": "publish:github",
                    "input": {"repoUrl": "${{ parameters.repoUrl }}"},
                },
                {
                    "id": "register",
                    "action": "catalog:register",
                    "input": {"catalogInfoPath": "/catalog-info.yaml"},
                },
            ],
        },
    }


# A skeleton catalog file whose expressions are valid YAML (plain scalars), and one that is not.
SKELETON_VALID_YAML = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
  description: ${{ values.description }}
spec:
  type: service
  lifecycle: experimental
  owner: ${{ values.owner }}
"""
SKELETON_BROKEN_YAML = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {{ values.name }}
spec: {type: service, lifecycle: experimental, owner: group:a}
"""


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("folder", ["template", "skeleton", "content", "files/app-source"])
def test_walk_skips_the_folder_fetch_template_copies(tmp_path: Path, folder: str) -> None:
    put(tmp_path / "tpl" / "template.yaml", yaml.safe_dump(template(f"./{folder}")))
    put(tmp_path / "tpl" / folder / "catalog-info.yaml", SKELETON_VALID_YAML)
    put(tmp_path / "tpl" / folder / "broken.yaml", SKELETON_BROKEN_YAML)
    run = run_gate("check", "tpl", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    decision = json.loads(run.stdout)
    assert decision["inputs"]["templates"] == 1 and decision["inputs"]["catalog"] == 0
    assert "CATALOG-VALID" not in {f["check"] for f in decision["findings"]}


def test_source_folders_of_the_parsed_templates(tmp_path: Path) -> None:
    items = [
        {"path": str(tmp_path / "a" / "template.yaml"), "entity": template("./content")},
        {
            "path": str(tmp_path / "b" / "template.yaml"),
            "entity": template("../shared/skeleton", "fetch:plain"),
        },
        {"path": str(tmp_path / "c" / "template.yaml"), "entity": template("./src/${{ parameters.lang }}")},
        {
            "path": str(tmp_path / "d" / "template.yaml"),
            "entity": template("https://github.com/acme/x/tree/main/s"),
        },
        {"path": str(tmp_path / "e" / "template.yaml"), "entity": template(".")},
        {"path": str(tmp_path / "f" / "template.yaml"), "entity": template("./${{ parameters.lang }}")},
    ]
    assert backstage.template_source_folders(items) == {
        str(tmp_path / "a" / "content"),
        str(tmp_path / "shared" / "skeleton"),
        str(tmp_path / "c" / "src"),
    }


def test_a_file_beside_the_source_folder_is_still_checked(tmp_path: Path) -> None:
    put(tmp_path / "tpl" / "template.yaml", yaml.safe_dump(template("./content")))
    put(
        tmp_path / "tpl" / "content-info" / "catalog-info.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "x y"},
                "spec": {"type": "library", "lifecycle": "experimental", "owner": "group:a"},
            }
        ),
    )
    run = run_gate("check", "tpl", "--format", "json", cwd=tmp_path)
    decision = json.loads(run.stdout)
    assert decision["inputs"]["catalog"] == 1
    assert "CATALOG-VALID" in {f["check"] for f in decision["findings"]}


@pytest.mark.parametrize("text", [SKELETON_VALID_YAML, SKELETON_BROKEN_YAML])
def test_a_named_skeleton_file_is_refused_with_one_line(tmp_path: Path, text: str) -> None:
    path = put(tmp_path / "catalog-info.yaml", text)
    run = run_gate("check", path.name, "--format", "json", cwd=tmp_path)
    assert run.code == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "catalog-info.yaml" in lines[0] and "template skeleton" in lines[0]
    assert "check the rendered file instead" in lines[0]
    assert "Traceback" not in run.stderr


def test_collect_names_the_unrendered_expression(tmp_path: Path) -> None:
    path = put(tmp_path / "catalog-info.yaml", SKELETON_VALID_YAML)
    with pytest.raises(backstage.Unrendered) as caught:
        backstage.collect(parse_file(path), CollectSettings())
    assert (
        'holds the unrendered template expression "${{ values.name }}" at metadata.name'
        in caught.value.message
    )


def test_a_template_may_hold_expressions_in_its_steps(tmp_path: Path) -> None:
    path = put(tmp_path / "template.yaml", yaml.safe_dump(template("./content")))
    out = backstage.collect(parse_file(path), CollectSettings())
    assert [i["valid"] for i in out["templates"]] == [True]


def test_a_skeleton_met_in_a_walk_is_skipped_with_a_notice(tmp_path: Path) -> None:
    put(tmp_path / "repo" / "docs" / "example.yaml", SKELETON_VALID_YAML)
    put(
        tmp_path / "repo" / "catalog-info.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "x"},
                "spec": {"type": "library", "lifecycle": "experimental", "owner": "group:a"},
            }
        ),
    )
    run = run_gate("check", "repo", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["inputs"]["catalog"] == 1
    assert "skipped repo/docs/example.yaml" in run.stderr and "template skeleton" in run.stderr
