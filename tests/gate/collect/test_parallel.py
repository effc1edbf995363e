"""Collecting on every core gives what one process gives: the same sections, the same first error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.collect import parallel
from gate.collect.base import CollectError, CollectSettings
from gate.collect.registry import collect_paths
from tests.helpers import component_entity, cyclonedx_bom, npm_component, write_json, write_yaml


def _tree(root: Path, catalogs: int, boms: int) -> Path:
    for i in range(catalogs):
        write_yaml(root / f"services/svc-{i:03d}/catalog-info.yaml", component_entity(f"svc-{i:03d}"))
    for j in range(boms):
        comps = [
            npm_component(f"lib-{j}-{k}", "1.0.0", "MIT" if k % 3 else "GPL-3.0-only") for k in range(20)
        ]
        write_json(root / f"sboms/app-{j:02d}.cdx.json", cyclonedx_bom(comps))
    (root / "README.md").write_text("not an input\n")
    return root


def test_parallel_collection_equals_sequential(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", catalogs=90, boms=12)
    assert parallel.workers_for(103) > 1, "this test needs two cores and fork"
    settings = CollectSettings()
    one = collect_paths([root], settings)
    many = collect_paths([root], settings, parallel=True)
    assert json.dumps(many, sort_keys=True) == json.dumps(one, sort_keys=True)
    assert len(many["catalog"]) == 90 and len(many["sboms"]) == 12


def test_the_first_error_in_walk_order_is_the_one_raised(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", catalogs=80, boms=0)
    (root / "services/svc-010/broken.cdx.json").write_text('{"a": ')
    (root / "services/svc-050/broken.cdx.json").write_text("[1,")
    with pytest.raises(CollectError) as sequential:
        collect_paths([root], CollectSettings())
    with pytest.raises(CollectError) as forked:
        collect_paths([root], CollectSettings(), parallel=True)
    assert forked.value.one_line() == sequential.value.one_line()
    assert "svc-010/broken.cdx.json" in forked.value.one_line()


def test_few_files_stay_in_process() -> None:
    assert parallel.workers_for(parallel.PARALLEL_MIN - 1) == 1


def test_a_failed_worker_has_its_files_collected_by_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo", catalogs=70, boms=4)
    one = collect_paths([root], CollectSettings())

    def crash(jobs: object) -> bytes:
        raise MemoryError("worker out of memory")

    monkeypatch.setattr(parallel, "_run_packed", crash)  # the forked worker inherits it
    many = collect_paths([root], CollectSettings(), parallel=True)
    assert json.dumps(many, sort_keys=True) == json.dumps(one, sort_keys=True)


def test_files_are_dealt_by_size_in_walk_order() -> None:
    sizes = [100_000, 1_000, 1_000, 1_000, 100_000, 1_000]
    groups = parallel.deal(sizes, 2)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    assert all(g == sorted(g) for g in groups)
    load = [sum(sizes[i] for i in g) for g in groups]
    assert max(load) < 0.7 * sum(sizes)  # not dealt by count: the two large files part
    parent, worker = parallel.deal([10] * 100, 2)
    assert len(parent) == len(worker) == 50
