"""Locate the shipped `policies/` and `schemas/` folders, installed or in a source checkout."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

# The data packages a wheel carries the top-level folders as (pyproject.toml's package-dir);
# `gate.schemas` is the validator module, so the schema files ship as `gate.schema_files`.
_PACKAGES = {"policies": "gate.policies", "schemas": "gate.schema_files"}


@cache
def shipped(name: str) -> Traversable:
    """The shipped folder `name` ("policies" or "schemas").

    A wheel carries them as the packages `gate.policies` and `gate.schema_files`; in a source
    checkout (or an editable install imported from the checkout) they are the top-level folders.
    """
    try:
        return resources.files(_PACKAGES[name])
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / name


@cache
def schema(relative: str) -> Any:
    """A JSON Schema shipped under `schemas/`, parsed."""
    node = shipped("schemas")
    for part in relative.split("/"):
        node = node.joinpath(part)
    return json.loads(node.read_text(encoding="utf-8"))
