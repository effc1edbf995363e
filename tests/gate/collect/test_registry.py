"""The collector registry: which collectors read a file, and what the one reader may release."""

from __future__ import annotations

import json
from pathlib import Path

from gate.collect import cyclonedx
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from gate.collect.registry import SECTIONS, collect_file, collectors
from tests.helpers import component_entity, cyclonedx_bom, npm_component, write_yaml


def _bom_file(tmp_path: Path, **extra: object) -> Path:
    comps = [npm_component(f"lib-{i}", "1.0.0") for i in range(5)]
    comps[2]["components"] = [npm_component("nested", "2.0.0")]
    path = tmp_path / "bom.cdx.json"
    path.write_text(json.dumps({**cyclonedx_bom(comps), **extra}), encoding="utf-8")
    return path


def test_the_one_reader_of_a_bom_releases_its_components_and_normalises_them_alike(tmp_path: Path) -> None:
    path = _bom_file(tmp_path)
    kept = parse_file(path)
    expected = cyclonedx.collect(kept, CollectSettings())  # not the sole reader: kept whole
    parsed = parse_file(path)
    found = collect_file(parsed, CollectSettings(), collectors())
    assert found == expected
    assert [c["name"] for c in found["sboms"][0]["components"]] == [
        "lib-0",
        "lib-1",
        "lib-2",
        "nested",
        "lib-3",
        "lib-4",
    ]
    assert parsed.documents[0]["components"] == [None] * 5  # released once read
    assert kept.documents[0]["components"][0]["name"] == "lib-0"


def test_a_file_two_collectors_read_keeps_its_document_whole(tmp_path: Path) -> None:
    entity = component_entity()
    path = _bom_file(
        tmp_path, apiVersion=entity["apiVersion"], kind=entity["kind"], metadata=entity["metadata"]
    )
    parsed = parse_file(path)
    found = collect_file(parsed, CollectSettings(), collectors())
    assert found["sboms"] and found["catalog"]
    assert [c["name"] for c in parsed.documents[0]["components"]] == [f"lib-{i}" for i in range(5)]


def test_every_collector_keeps_the_one_protocol_and_returns_items_by_section(tmp_path: Path) -> None:
    """One result shape for every kind: a dict of the collector's own SECTIONS to lists of items,
    the Backstage collector (two sections) included."""
    mods = collectors()
    for mod in mods:
        kind: object = mod.KIND  # the modules are checked as they are, not as typed
        assert isinstance(kind, str) and mod.SECTIONS and set(mod.SECTIONS) <= set(SECTIONS), mod
    paths = [write_yaml(tmp_path / "catalog-info.yaml", component_entity()), _bom_file(tmp_path)]
    seen = set()
    for path in paths:
        parsed = parse_file(path)
        for mod in (m for m in mods if m.recognise(parsed)):
            found: object = mod.collect(parsed, CollectSettings())
            assert isinstance(found, dict) and set(found) <= set(mod.SECTIONS)
            assert all(isinstance(items, list) for items in found.values())
            seen.add(mod.KIND)
    assert seen == {"backstage", "sbom"}
