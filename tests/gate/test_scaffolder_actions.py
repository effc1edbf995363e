"""The default `allowed_actions` against the actions @backstage/plugin-scaffolder-backend registers in
its pinned release, read from the published package's code (unpacked by scripts/install-node-tools.sh)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gate.config import BUILTIN_SCAFFOLDER_ACTIONS, DEFAULT_DATA, from_mapping
from tests.gate.npm_packages import PINNED, SCAFFOLDER_BACKEND, package_dir, script_pins

_ARRAY = re.compile(r"const actions = \[(.*?)\n\s*\];", re.S)
_FACTORY = re.compile(r"\b([A-Za-z_$][\w$]*)\.(create\w+)\(")
_REQUIRE = re.compile(r"var ([A-Za-z_$][\w$]*) = require\('(\./[^']+)'\);")
_ACTION_ID = re.compile(r"createTemplateAction\(\{\s*id(?:\s*:\s*(\"[^\"]+\"|[A-Za-z_$][\w$]*))?\s*,")


def registered_actions(package: Path) -> list[str]:
    """The ids of the actions the scaffolder plugin registers itself, in order: the factories called
    in ScaffolderPlugin's `actions` list, each looked up in the module it is required from."""
    dist = package / "dist"
    plugin = (dist / "ScaffolderPlugin.cjs.js").read_text(encoding="utf-8")
    block = _ARRAY.search(plugin)
    assert block is not None, "ScaffolderPlugin no longer builds a `const actions = [...]` list"
    modules = dict(_REQUIRE.findall(plugin))
    ids = []
    for variable, factory in _FACTORY.findall(block.group(1)):
        source = (dist / modules[variable]).read_text(encoding="utf-8")
        assert f"exports.{factory} = " in source, (variable, factory)
        found = _ACTION_ID.search(source)
        assert found is not None, f"no action id in {modules[variable]}"
        value = found.group(1) or "id"  # `{ id, ... }` is shorthand for `id: id`
        if not value.startswith('"'):
            constant = re.search(rf'const {re.escape(value)} = ("[^"]+");', source)
            assert constant is not None, (modules[variable], value)
            value = constant.group(1)
        ids.append(json.loads(value))
    return ids


def test_builtin_actions_are_the_ones_the_release_registers() -> None:
    registered = registered_actions(package_dir(SCAFFOLDER_BACKEND))
    assert "fs:readdir" in registered
    assert list(BUILTIN_SCAFFOLDER_ACTIONS) == registered


def test_the_release_registers_no_scaffolder_module_by_default() -> None:
    manifest = json.loads((package_dir(SCAFFOLDER_BACKEND) / "package.json").read_text(encoding="utf-8"))
    modules = [d for d in manifest.get("dependencies", {}) if "scaffolder-backend-module" in d]
    assert modules == []


def test_every_builtin_action_is_allowed_by_default() -> None:
    allowed = from_mapping({}, None).data["allowed_actions"]
    assert set(BUILTIN_SCAFFOLDER_ACTIONS) <= set(allowed)
    assert allowed == DEFAULT_DATA["allowed_actions"]
    assert len(allowed) == len(set(allowed))


def test_the_script_pins_the_versions_the_tests_read() -> None:
    assert script_pins() == set(PINNED)
