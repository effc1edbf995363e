"""The Backstage schema files are Backstage's as published: each one equals the schema the pinned
@backstage/catalog-model or @backstage/plugin-scaffolder-common package exports (read from the
packages scripts/install-node-tools.sh unpacks), and what Backstage accepts the gate accepts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gate.collect import backstage
from tests.gate.npm_packages import CATALOG_MODEL, SCAFFOLDER_COMMON, package_dir

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "schemas" / "backstage"

# shipped file -> (package, file in its dist/ that exports the schema)
SOURCES = {
    "Entity.schema.json": (CATALOG_MODEL, "schema/Entity.schema.json.cjs.js"),
    "EntityEnvelope.schema.json": (CATALOG_MODEL, "schema/EntityEnvelope.schema.json.cjs.js"),
    "EntityMeta.schema.json": (CATALOG_MODEL, "schema/EntityMeta.schema.json.cjs.js"),
    "common.schema.json": (CATALOG_MODEL, "schema/shared/common.schema.json.cjs.js"),
    **{
        name: (CATALOG_MODEL, f"schema/kinds/{name}.cjs.js")
        for name in (*backstage.KIND_SCHEMAS.values(), backstage.MCP_SERVER_SCHEMA)
        if name != backstage.KIND_SCHEMAS["Template"]
    },
    backstage.KIND_SCHEMAS["Template"]: (SCAFFOLDER_COMMON, "Template.v1beta3.schema.json.cjs.js"),
}


def test_every_shipped_schema_has_a_published_source() -> None:
    assert {p.name for p in SHIPPED.glob("*.json")} == set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_shipped_schema_is_the_published_one(name: str) -> None:
    package, module = SOURCES[name]
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI")
        pytest.skip("node is not installed")
    script = "process.stdout.write(JSON.stringify(require(process.argv[1]).default))"
    path = package_dir(package) / "dist" / module
    run = subprocess.run(
        [node, "-e", script, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    published = json.loads(run.stdout)
    assert json.loads((SHIPPED / name).read_text(encoding="utf-8")) == published


def errors_of(doc: Mapping[str, Any]) -> list[str]:
    return backstage.validate_entity(backstage.json_safe(doc))


def test_location_with_an_empty_spec_is_valid() -> None:
    doc = {"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "org"}, "spec": {}}
    assert errors_of(doc) == []


@pytest.mark.parametrize(
    "metadata",
    [
        {"name": "a", "namespace": "team--a"},  # Backstage's DNS labels allow runs of -
        {"name": "a", "labels": {"team--a.example.com/tier": "gold"}},
        {"name": "a", "links": [{"url": "https://example.com", "icon": "Git Hub"}]},  # any non-blank icon
        {"name": "a", "links": [{"url": "mailto:team@example.com"}]},
        {"name": "a", "links": [{"url": "urn:isbn:0451450523"}]},
    ],
)
def test_what_backstage_accepts_the_gate_accepts(metadata: dict[str, object]) -> None:
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": {"type": "service", "lifecycle": "production", "owner": "group:a"},
    }
    assert errors_of(doc) == []


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ({"name": "a", "namespace": "-a"}, "metadata.namespace"),
        ({"name": "a", "links": [{"url": "https://"}]}, "metadata.links[0].url"),
        ({"name": "a", "links": [{"url": "https://x", "icon": " "}]}, "metadata.links[0].icon"),
        ({"name": "a", "tags": ["a--b"]}, "metadata.tags[0]"),
    ],
)
def test_what_backstage_refuses_the_gate_refuses(metadata: dict[str, object], where: str) -> None:
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": {"type": "service", "lifecycle": "production", "owner": "group:a"},
    }
    errors = errors_of(doc)
    assert len(errors) == 1 and errors[0].startswith(where + ": "), errors
