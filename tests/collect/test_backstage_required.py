"""Missing required fields are worded from jsonschema-rs's errors exactly as the Python validator's
errors word them: the same messages, in the same order, for every entity the fast path takes."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.collect import backstage
from tests.helpers import component_entity

Place = tuple[str, ...]


def _python_messages(entity: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    with monkeypatch.context() as m:
        m.setattr(backstage, "_required_messages", lambda _v, _e: None)
        return backstage.validate_entity(entity)


def _places(value: Any, prefix: Place = ()) -> Iterator[Place]:
    if isinstance(value, dict) and len(prefix) < 4:
        for key, inner in value.items():
            yield (*prefix, str(key))
            yield from _places(inner, (*prefix, str(key)))


def _without(entity: dict[str, Any], places: tuple[Place, ...]) -> dict[str, Any]:
    out = copy.deepcopy(entity)
    for place in places:
        at: Any = out
        for key in place[:-1]:
            at = at.get(key) if isinstance(at, dict) else None
        if isinstance(at, dict):
            at.pop(place[-1], None)
    return out


def _mutations(entity: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    places = list(_places(entity))
    for place in places:
        yield _without(entity, (place,))
    for size in (2, 3):
        for _ in range(12):
            if len(places) >= size:
                yield _without(entity, tuple(rng.sample(places, size)))


def _compare(entities: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    rng = random.Random(7)
    fast = slow = 0
    for entity in entities:
        for mutated in _mutations(entity, rng):
            quick = backstage._quick_validators().get(
                str(backstage.KIND_SCHEMAS.get(str(mutated.get("kind"))))
            )
            taken = quick is not None and backstage._required_messages(quick, mutated) is not None
            expected = _python_messages(mutated, monkeypatch)
            assert backstage.validate_entity(mutated) == expected, mutated
            fast += taken
            slow += not taken
    return fast, slow


def test_generated_entities(monkeypatch: pytest.MonkeyPatch) -> None:
    entities = [component_entity(), component_entity("b", dependsOn=["component:a"], providesApis=["x"])]
    fast, slow = _compare(entities, monkeypatch)
    assert fast > 20 and slow > 5


def test_one_required_list_per_place() -> None:
    entity = _without(component_entity(), (("spec", "owner"), ("spec", "lifecycle"), ("metadata", "name")))
    quick = backstage._quick_validators()["component.schema.json"]
    assert backstage._required_messages(quick, entity) == [
        "metadata.name: is required",
        "spec.lifecycle: is required",
        "spec.owner: is required",
    ]
    both = _without(component_entity(), (("metadata",), ("spec",)))  # two lists at the top
    assert backstage._required_messages(quick, both) is None
    assert backstage._required_messages(quick, component_entity(owner=3)) is None  # a type fault


@pytest.mark.corpus
def test_corpus_entities(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entities: list[dict[str, Any]] = []
    for path in sorted((corpus_dir / "backstage").rglob("*.y*ml")):
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        entities += [d for d in docs if isinstance(d, dict) and isinstance(d.get("kind"), str)]
    fast, _ = _compare(entities, monkeypatch)
    assert fast > 200
