"""Backstage's published npm packages, as scripts/install-node-tools.sh unpacks them (pinned, cached,
no dependencies installed), for the tests that compare the gate's defaults and schema files with them.

Missing (the script was not run): the test fails in CI (`CI=true`) and is skipped on a laptop.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

# The versions scripts/install-node-tools.sh pins (tests/gate/test_scaffolder_actions.py checks both agree).
SCAFFOLDER_BACKEND = ("@backstage/plugin-scaffolder-backend", "4.3.0")
CATALOG_MODEL = ("@backstage/catalog-model", "1.10.3")
SCAFFOLDER_COMMON = ("@backstage/plugin-scaffolder-common", "2.4.0")
PINNED = (SCAFFOLDER_BACKEND, CATALOG_MODEL, SCAFFOLDER_COMMON)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-node-tools.sh"


def node_tools_dir() -> Path:
    """Where scripts/install-node-tools.sh installs the Node tools."""
    if os.environ.get("GATE_NODE_TOOLS"):
        return Path(os.environ["GATE_NODE_TOOLS"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "govgate" / "node-tools"


def package_dir(package: tuple[str, str]) -> Path:
    """The unpacked package folder at the pinned version; fails in CI, skips elsewhere, when missing."""
    name, version = package
    folder = node_tools_dir() / "packages" / f"{name}@{version}"
    try:
        found = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        found = None
    if found != version:
        message = f"{name}@{version} is not unpacked at {folder}; run scripts/install-node-tools.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def script_pins() -> set[tuple[str, str]]:
    """The Backstage packages scripts/install-node-tools.sh pins, as (name, version)."""
    text = SCRIPT.read_text(encoding="utf-8")
    return {(m[1], m[2]) for m in re.finditer(r'"(@backstage/[a-z0-9-]+)@([0-9][^"]*)"', text)}
