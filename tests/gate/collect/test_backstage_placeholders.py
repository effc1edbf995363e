"""Placeholders ($text, $json, $yaml, $openapi, $asyncapi) of catalog entities and templates:
resolved as Backstage's catalog resolves them, inside the checked folder only, bounded; what cannot
be resolved is left out of the checks and named."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.collect import backstage
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from tests.helpers import run_gate


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """A checkout to work in: the checked folder is the working directory."""
    root = tmp_path / "repo"
    root.mkdir()
    here = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(here)


def api(definition: Any, name: str = "payments-api") -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": name, "description": "Takes payments."},
        "spec": {
            "type": "openapi",
            "lifecycle": "production",
            "owner": "group:payments",
            "definition": definition,
        },
    }


def template(steps: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "service"},
        "spec": {"type": "service", "owner": "group:platform", "steps": steps},
    }


def put(path: Path, *docs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False), encoding="utf-8")
    return path


def collect(path: Path, max_bytes: int = 64 * 1024 * 1024) -> list[dict[str, Any]]:
    """The items of `path` as `gate check .` in the working directory collects them."""
    settings = CollectSettings(max_bytes=max_bytes, roots=backstage.checked_roots([Path(".")]))
    shown = str(path.relative_to(Path.cwd()))
    out = backstage.collect(parse_file(Path(shown), shown=shown), settings)
    return [*out["templates"], *out["catalog"]]


def test_text_placeholder_is_substituted_and_judged(repo: Path) -> None:
    (repo / "api").mkdir()
    (repo / "api" / "openapi.yaml").write_text("openapi: 3.0.0\n", encoding="utf-8")
    (item,) = collect(put(repo / "api" / "catalog-info.yaml", api({"$text": "./openapi.yaml"})))
    assert item["valid"] is True and item["errors"] == []
    assert item["entity"]["spec"]["definition"] == "openapi: 3.0.0\n"
    (record,) = item["placeholders"]
    assert (
        record["placeholder"] == "$text"
        and record["resolved"] is True
        and record["where"] == "spec.definition"
    )


@pytest.mark.parametrize("key", ["$openapi", "$asyncapi"])
def test_openapi_and_asyncapi_give_the_text(repo: Path, key: str) -> None:
    (repo / "spec.yaml").write_text("asyncapi: 2.6.0\n", encoding="utf-8")
    (item,) = collect(put(repo / "catalog-info.yaml", api({key: "spec.yaml"})))
    assert item["valid"] is True
    assert item["entity"]["spec"]["definition"] == "asyncapi: 2.6.0\n"


def test_json_and_yaml_give_the_parsed_value_which_is_judged(repo: Path) -> None:
    (repo / "spec.json").write_text(
        json.dumps({"type": "service", "lifecycle": "production"}), encoding="utf-8"
    )
    (repo / "links.yaml").write_text("- url: https://example.com\n- url: not a url\n", encoding="utf-8")
    component = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "payments", "links": {"$yaml": "./links.yaml"}},
        "spec": {"$json": "./spec.json"},
    }
    (item,) = collect(put(repo / "catalog-info.yaml", component))
    assert item["entity"]["spec"] == {"type": "service", "lifecycle": "production"}
    assert item["entity"]["metadata"]["links"][0] == {"url": "https://example.com"}
    # the substituted values are judged: the owner is missing, the second link is no URL
    assert item["errors"][0] == "spec.owner: is required"
    assert item["errors"][1].startswith('metadata.links[1].url: "not a url" fails')


def test_a_url_is_not_fetched_and_the_rest_is_judged(repo: Path) -> None:
    doc = api({"$text": "https://example.com/openapi.yaml"})
    doc["metadata"]["tags"] = ["Not A Tag"]
    (item,) = collect(put(repo / "catalog-info.yaml", doc))
    (record,) = item["placeholders"]
    assert record == {
        "pointer": "/spec/definition",
        "where": "spec.definition",
        "placeholder": "$text",
        "target": "https://example.com/openapi.yaml",
        "resolved": False,
        "reason": "it names a URL, and the gate fetches nothing",
        "line": record["line"],
    }
    assert [e.split(":")[0] for e in item["errors"]] == ["metadata.tags[0]"]  # the rest is still judged


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("./missing.yaml", "the file it names does not exist"),
        ("../outside.yaml", "it leads outside the checked folder"),
        ("/etc/hostname", "it names an absolute path, outside the checked folder"),
        ("./link.yaml", "it leads outside the checked folder"),
    ],
)
def test_what_cannot_be_read_is_named_not_judged(repo: Path, target: str, reason: str) -> None:
    (repo.parent / "outside.yaml").write_text("openapi: 3.0.0\n", encoding="utf-8")
    (repo / "link.yaml").symlink_to(repo.parent / "outside.yaml")
    (item,) = collect(put(repo / "catalog-info.yaml", api({"$text": target})))
    assert item["valid"] is True
    assert item["entity"]["spec"]["definition"] == {"$text": target}  # left as written
    (record,) = item["placeholders"]
    assert (record["resolved"], record["reason"]) == (False, reason)


def test_yaml_of_several_documents_is_not_resolved(repo: Path) -> None:
    (repo / "two.yaml").write_text("a: 1\n---\nb: 2\n", encoding="utf-8")
    (item,) = collect(put(repo / "catalog-info.yaml", api({"$yaml": "./two.yaml"})))
    (record,) = item["placeholders"]
    assert record["reason"] == "the file holds 2 documents, and Backstage reads exactly one"


def test_only_a_single_known_dollar_key_is_a_placeholder(repo: Path) -> None:
    (repo / "a.txt").write_text("x", encoding="utf-8")
    doc = api({"$text": "./a.txt", "other": 1})
    (item,) = collect(put(repo / "catalog-info.yaml", doc))
    assert item["placeholders"] == []
    assert item["entity"]["spec"]["definition"] == {"$text": "./a.txt", "other": 1}
    assert item["valid"] is False  # Backstage leaves it too, and its schema refuses it


def test_placeholders_are_bounded_in_count_and_bytes(repo: Path) -> None:
    (repo / "big.txt").write_text("x" * 5000, encoding="utf-8")
    links = [{"url": "https://example.com", "title": {"$text": "./big.txt"}}] * (
        backstage.MAX_PLACEHOLDERS + 5
    )
    doc = api("openapi: 3.0.0")
    doc["metadata"]["links"] = links
    (item,) = collect(put(repo / "catalog-info.yaml", doc), max_bytes=12_000)
    reasons = [p["reason"] for p in item["placeholders"]]
    assert reasons[:1] == [None]  # read once; the same file again comes from what was read
    assert (
        reasons[backstage.MAX_PLACEHOLDERS]
        == f"the file has more than {backstage.MAX_PLACEHOLDERS} placeholders"
    )
    (repo / "big2.txt").write_text("y" * 20_000, encoding="utf-8")
    (item,) = collect(put(repo / "catalog-info.yaml", api({"$text": "./big2.txt"})), max_bytes=12_000)
    assert item["placeholders"][0]["resolved"] is False
    assert "large" in item["placeholders"][0]["reason"] or "limit" in item["placeholders"][0]["reason"]


def test_template_steps_from_a_yaml_placeholder_register_in_the_catalog(repo: Path) -> None:
    register = {
        "id": "register",
        "name": "Register",
        "action": "catalog:register",
        "input": {"catalogInfoPath": "/catalog-info.yaml"},
    }
    (repo / "templates" / "steps").mkdir(parents=True)
    (repo / "templates" / "steps" / "register.yaml").write_text(yaml.safe_dump(register), encoding="utf-8")
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./content"}},
        {"id": "publish", "action": "publish:github", "input": {"repoUrl": "github.com?repo=x&owner=y"}},
        {"$yaml": "../steps/register.yaml"},
    ]
    path = put(repo / "templates" / "service" / "template.yaml", template(steps))
    (item,) = collect(path)
    assert item["valid"] is True
    assert [s["action"] for s in item["steps"]] == ["fetch:template", "publish:github", "catalog:register"]
    run = run_gate("check", ".", "--format", "json", cwd=repo)
    checks = {f["check"] for f in json.loads(run.stdout)["findings"]}
    assert "TEMPLATE-REGISTERS-CATALOG" not in checks and "TEMPLATE-VALID" not in checks
    assert "CATALOG-PLACEHOLDER-UNCHECKED" not in checks


def test_a_named_file_reads_only_inside_its_own_folder(repo: Path) -> None:
    (repo / "openapi.yaml").write_text("openapi: 3.0.0\n", encoding="utf-8")
    (repo / "apis" / "openapi.yaml").parent.mkdir()
    (repo / "apis" / "openapi.yaml").write_text("openapi: 3.1.0\n", encoding="utf-8")
    path = put(
        repo / "apis" / "catalog-info.yaml",
        api({"$text": "../openapi.yaml"}),
        api({"$text": "./openapi.yaml"}, "b"),
    )
    run = run_gate("check", path.relative_to(repo), "--format", "json", cwd=repo)
    (finding,) = [
        f for f in json.loads(run.stdout)["findings"] if f["check"] == "CATALOG-PLACEHOLDER-UNCHECKED"
    ]
    assert finding["message"].endswith("was not checked: it leads outside the checked folder")
    assert finding["subject"]["ref"] == "api:default/payments-api"


def test_a_file_outside_the_checked_folders_reads_nothing(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("openapi: 3.0.0\n", encoding="utf-8")
    path = put(tmp_path / "catalog-info.yaml", api({"$text": "./openapi.yaml"}))
    settings = CollectSettings(roots=backstage.checked_roots([repo]))
    (item,) = backstage.collect(parse_file(path), settings)["catalog"]
    assert item["placeholders"][0]["reason"] == "its file lies outside the checked folders"


def test_unchecked_placeholder_is_a_low_finding_not_a_schema_error(repo: Path) -> None:
    path = put(repo / "catalog-info.yaml", api({"$text": "https://example.com/openapi.yaml"}))
    run = run_gate("check", path, "--env", "prod", "--format", "json", cwd=repo)
    findings = json.loads(run.stdout)["findings"]
    assert "CATALOG-VALID" not in {f["check"] for f in findings}
    (unchecked,) = [f for f in findings if f["check"] == "CATALOG-PLACEHOLDER-UNCHECKED"]
    assert unchecked["severity"] == "low" and unchecked["action"] == "warn"
    assert "$text placeholder at spec.definition" in unchecked["message"]
    assert unchecked["subject"]["line"] == 10
