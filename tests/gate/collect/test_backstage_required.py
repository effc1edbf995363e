"""Missing required fields are each named, once, by their dotted path, in every place they are missing."""

from __future__ import annotations

import copy
from typing import Any

from gate.collect import backstage
from tests.helpers import component_entity

Place = tuple[str, ...]


def _without(entity: dict[str, Any], places: tuple[Place, ...]) -> dict[str, Any]:
    out = copy.deepcopy(entity)
    for place in places:
        at: Any = out
        for key in place[:-1]:
            at = at.get(key) if isinstance(at, dict) else None
        if isinstance(at, dict):
            at.pop(place[-1], None)
    return out


def test_each_missing_field_is_named_once() -> None:
    entity = _without(component_entity(), (("spec", "owner"), ("spec", "lifecycle"), ("metadata", "name")))
    errors = backstage.validate_entity(entity)
    assert sorted(errors) == [
        "metadata.name: is required",
        "spec.lifecycle: is required",
        "spec.owner: is required",
    ]


def test_missing_sections_and_a_wrong_type_together() -> None:
    both = _without(component_entity(), (("metadata",), ("spec",)))
    assert sorted(backstage.validate_entity(both)) == ["metadata: is required", "spec: is required"]
    errors = backstage.validate_entity(_without(component_entity(owner=3), (("spec", "lifecycle"),)))
    assert sorted(errors) == [
        "spec.lifecycle: is required",
        "spec.owner: expected a string, found an integer",
    ]


def test_every_single_missing_field_of_a_component() -> None:
    entity = component_entity()
    for section, fields in (("metadata", ("name",)), ("spec", ("type", "lifecycle", "owner"))):
        for field in fields:
            assert backstage.validate_entity(_without(entity, ((section, field),))) == [
                f"{section}.{field}: is required"
            ]
