"""Helpers for tests: run the real `gate` CLI as a subprocess and build inputs by code."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GATE = [sys.executable, "-m", "gate"]


@dataclass(frozen=True)
class Run:
    """A finished `gate` process."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Stop a server process: SIGTERM (a graceful shutdown), then SIGKILL if it outlasts grace."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@functools.cache
def audit_env() -> dict[str, str]:
    """A throwaway audit log and keys for this test process, so `gate check` never writes into the
    repository: GATE_AUDIT_LOG, GATE_SIGNING_KEY (the PEM) and GATE_LOG_KEY."""
    from audit.keys import generate_record_key, new_log_key, record_key_pem

    folder = Path(tempfile.mkdtemp(prefix="gate-test-audit-"))
    atexit.register(shutil.rmtree, folder, True)
    skey, _ = new_log_key()
    return {
        "GATE_AUDIT_LOG": str(folder / "log"),
        "GATE_SIGNING_KEY": record_key_pem(generate_record_key()).decode(),
        "GATE_LOG_KEY": skey,
        # where keys a test leaves unconfigured are made: never the user's own data folder
        "XDG_DATA_HOME": str(folder / "data"),
    }


EXAMPLE_CONFIG = ROOT / "examples" / "gate.yaml"
EXAMPLE_WAIVERS = ROOT / "examples" / "payments-api" / "waivers.yaml"


def _sha256(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def example_pins() -> dict[str, str]:
    """The example config and waivers lie in this checkout; the tests treat them as a platform team
    treats its reviewed config, pinning their digests (GATE_CONFIG_DIGEST, GATE_WAIVERS_DIGEST)."""
    return {"GATE_CONFIG_DIGEST": _sha256(EXAMPLE_CONFIG), "GATE_WAIVERS_DIGEST": _sha256(EXAMPLE_WAIVERS)}


def example_check_pins() -> dict[str, str]:
    """example_pins as gate.pipeline.CheckOptions takes them."""
    pins = example_pins()
    return {"config_digest": pins["GATE_CONFIG_DIGEST"], "waivers_digest": pins["GATE_WAIVERS_DIGEST"]}


def _names_example_config(args: tuple[str | Path, ...], cwd: Path) -> bool:
    return any((cwd / a).resolve() == EXAMPLE_CONFIG for a in map(str, args) if a.endswith("gate.yaml"))


def run_gate(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Run:
    """Run `gate ARGS...` as a real subprocess (records go to a throwaway log unless env says).

    A run with the example config gets its pins (example_pins) unless `env` says otherwise.
    """
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATE_"))
    }
    full_env["NO_COLOR"] = "1"
    full_env.update(audit_env())
    if args and args[0] == "check" and _names_example_config(args, cwd or ROOT):
        full_env.update(example_pins())
    full_env.update(env or {})
    proc = subprocess.run(
        [*GATE, *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def write_yaml(path: Path, *docs: Any) -> Path:
    """Write one or more YAML documents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False), encoding="utf-8")
    return path


def write_json(path: Path, doc: Any) -> Path:
    """Write a JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def component_entity(name: str = "payments", **spec: Any) -> dict[str, Any]:
    """A Backstage Component entity with sensible defaults; keyword args override spec fields."""
    base_spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": "production",
        "owner": "group:payments",
        "system": "shop",
    }
    base_spec.update(spec)
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "description": "Takes payments",
            "annotations": {
                "backstage.io/techdocs-ref": "dir:.",
                "github.com/project-slug": "acme/payments",
                "pagerduty.com/service-id": "P123",
            },
        },
        "spec": {k: v for k, v in base_spec.items() if v is not None},
    }


def cyclonedx_bom(components: list[dict[str, Any]], *, spec: str = "1.6", **extra: Any) -> dict[str, Any]:
    """A CycloneDX JSON BOM around `components`."""
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "component": {"type": "application", "name": "payments", "version": "1.0.0"},
        },
        "components": components,
    }
    bom.update(extra)
    return bom


def spdx_document(*packages: dict[str, Any]) -> dict[str, Any]:
    """An SPDX 2.3 JSON document describing `packages` (each an SPDX package object)."""
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "shop",
        "documentNamespace": "https://example.com/spdx/shop-1",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: test"]},
        "documentDescribes": [p["SPDXID"] for p in packages],
        "packages": list(packages),
    }


def npm_component(name: str, version: str, license_id: str | None = "MIT") -> dict[str, Any]:
    """A CycloneDX library component for an npm package."""
    comp: dict[str, Any] = {
        "type": "library",
        "name": name,
        "version": version,
        "purl": f"pkg:npm/{name}@{version}",
    }
    if license_id:
        comp["licenses"] = [{"license": {"id": license_id}}]
    return comp


def require_binary(name: str) -> str:
    """A tool the gate finds (`opa`, `regal`): on PATH or in $(go env GOPATH)/bin.

    Missing: fail in CI (which must run scripts/install-tools.sh), skip on a laptop.
    """
    from gate.tools import find_binary

    found = find_binary(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{name} not found on PATH or in $(go env GOPATH)/bin; CI must run scripts/install-tools.sh"
            )
        pytest.skip(f"{name} not found: run scripts/install-tools.sh")
    return found


def corpus_yaml_texts(corpus_dir: Path) -> list[tuple[Path, str]]:
    """Every YAML file of the corpus that decodes as text, with its text, in path order."""
    from gate.collect.base import CollectError
    from gate.collect.read import decode_text

    texts: list[tuple[Path, str]] = []
    for path in sorted(corpus_dir.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            texts.append((path, decode_text(path.read_bytes(), str(path))))
        except CollectError:
            continue
    return texts
