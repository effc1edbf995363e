"""The shipped library's Wasm build, as the runtime reads it: `policies/build/decision.wasm` and
its manifest `decision.json` (the OPA version that built it, the module bytes' sha256, and the
digest of the Rego modules it was built from).

The embedded engine runs the Wasm form only when the policy set's modules are exactly those it was
built from; any other set runs on regopy. Building it is a maintainer's job
(`python -m gate.engine.wasm_build`), which the runtime never imports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from gate.policy.policy_set import modules_digest
from gate.resources import shipped

ENTRYPOINT = "gate/main/decision"
WASM_NAME = "decision.wasm"
MANIFEST_NAME = "decision.json"


@cache
def _shipped_build() -> tuple[dict[str, Any], bytes] | None:
    folder = shipped("policies").joinpath("build")
    try:
        manifest = json.loads(folder.joinpath(MANIFEST_NAME).read_text(encoding="utf-8"))
        wasm = folder.joinpath(WASM_NAME).read_bytes()
    except (OSError, ValueError):
        return None
    # A module that is not the one the manifest names (a partial copy, a hand edit) is not run.
    if not isinstance(manifest, dict) or manifest.get("wasm_sha256") != hashlib.sha256(wasm).hexdigest():
        return None
    return manifest, wasm


def shipped_wasm(modules: Mapping[str, str]) -> tuple[bytes, dict[str, Any]] | None:
    """The compiled library and its manifest, when `modules` are the ones it was built from."""
    build = _shipped_build()
    if build is None:
        return None
    manifest, wasm = build
    if manifest.get("modules") != modules_digest(modules) or manifest.get("entrypoint") != ENTRYPOINT:
        return None
    return wasm, manifest
