"""The maintainer's command that compiles the shipped library to Wasm with OPA (not imported at
run time: the runtime reads the build through gate.engine.wasm_shipped).

`policies/build/decision.wasm` is `opa build -t wasm -e gate/main/decision` of the shipped
modules (tests left out); `policies/build/decision.json` names the OPA version that built it and
the digest of the modules it was built from. The embedded engine runs the Wasm form only when the
policy set's modules are exactly those (gate.engine.wasm_shipped.shipped_wasm); any other set runs
on regopy.

    .venv/bin/python -m gate.engine.wasm_build           # rebuild after changing policies/
    .venv/bin/python -m gate.engine.wasm_build --check   # exit 1 if the build is stale (CI)
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.engine.wasm_shipped import ENTRYPOINT, MANIFEST_NAME, WASM_NAME
from gate.errors import EngineError, GateError
from gate.policy.policy_set import modules_digest

__all__ = ["ENTRYPOINT", "build_shipped", "build_wasm", "main"]


def build_wasm(modules: Mapping[str, str], opa: str) -> bytes:
    """`opa build -t wasm` of `modules` with the decision as its entrypoint: the policy.wasm bytes."""
    import tarfile
    import tempfile

    from gate.engine.opa import format_errors, opa_errors, run_opa, write_modules

    with tempfile.TemporaryDirectory(prefix="gate-wasm-") as tmp:
        root = Path(tmp)
        tree = write_modules(root / "src", modules)
        out = root / "bundle.tar.gz"
        # Relative paths, so the module's bytes do not depend on the temporary folder.
        proc = run_opa([opa, "build", "-t", "wasm", "-e", ENTRYPOINT, "-o", str(out), "src"], cwd=root)
        if proc.returncode != 0:
            errors = opa_errors(proc.stdout, proc.stderr)
            detail = (
                "; ".join(format_errors(errors, tree)) if errors else proc.stderr.decode(errors="replace")
            )
            raise EngineError(
                f"opa build -t wasm failed: {detail.strip()[:400]}", "fix the Rego module named"
            )
        with tarfile.open(out, "r:gz") as bundle:
            for member in bundle.getmembers():
                if member.name.lstrip("/") == "policy.wasm":
                    extracted = bundle.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
    raise EngineError("opa build -t wasm wrote no policy.wasm", "check the OPA version")


def _opa_version(opa: str) -> str:
    from gate.engine.opa import OpaEngine

    return OpaEngine(opa).version()


def build_shipped(opa: str) -> tuple[bytes, dict[str, Any]]:
    """The shipped library (tests left out), compiled: the module bytes and its manifest."""
    from gate.policy.policy_set import shipped_modules

    modules, _tests = shipped_modules()
    wasm = build_wasm(modules, opa)
    manifest = {
        "entrypoint": ENTRYPOINT,
        "modules": modules_digest(modules),
        "opa": _opa_version(opa),
        "wasm_sha256": hashlib.sha256(wasm).hexdigest(),
    }
    return wasm, manifest


def main(argv: list[str] | None = None) -> int:
    """Rebuild policies/build/ (or with --check, report whether it is current)."""
    import argparse

    from gate.engine.opa import locate_opa

    parser = argparse.ArgumentParser(
        prog="python -m gate.engine.wasm_build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if policies/build/ is stale")
    parser.add_argument("--opa-path", help="the opa binary [opa on PATH, then $(go env GOPATH)/bin]")
    args = parser.parse_args(argv)
    target = Path(__file__).resolve().parent.parent.parent / "policies" / "build"
    try:
        wasm, manifest = build_shipped(locate_opa(args.opa_path))
    except GateError as exc:
        print(f"wasm_build: {exc.one_line()}", file=sys.stderr)
        return 3
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if args.check:
        current = target / WASM_NAME
        same = current.exists() and current.read_bytes() == wasm
        same = same and (target / MANIFEST_NAME).read_text(encoding="utf-8") == text
        if not same:
            print(
                "wasm_build: policies/build/ is stale: run `.venv/bin/python -m gate.engine.wasm_build`",
                file=sys.stderr,
            )
            return 1
        print("policies/build/ matches the shipped library")
        return 0
    target.mkdir(parents=True, exist_ok=True)
    (target / WASM_NAME).write_bytes(wasm)
    (target / MANIFEST_NAME).write_text(text, encoding="utf-8")
    print(f"wrote policies/build/{WASM_NAME} ({len(wasm):,} bytes, {manifest['opa']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
