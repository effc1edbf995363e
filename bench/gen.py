"""Generate benchmark inputs by code: CycloneDX BOMs of any size with realistic components."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "BSD-2-Clause", "MPL-2.0", "0BSD"]
ECOSYSTEMS = ["npm", "pypi", "maven", "golang", "cargo"]


def component(i: int, rng: random.Random) -> dict[str, Any]:
    """One library component with a purl, a license and a hash."""
    eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
    name = f"lib-{i:05d}"
    version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
    purl = f"pkg:maven/org.example/{name}@{version}" if eco == "maven" else f"pkg:{eco}/{name}@{version}"
    lic: list[dict[str, Any]]
    if i % 97 == 0:
        lic = [{"expression": "MIT OR Apache-2.0"}]
    elif i % 211 == 0:
        lic = []
    else:
        lic = [{"license": {"id": LICENSES[i % len(LICENSES)]}}]
    comp: dict[str, Any] = {
        "type": "library",
        "bom-ref": f"ref-{i}",
        "name": name,
        "version": version,
        "purl": purl,
        "hashes": [{"alg": "SHA-256", "content": f"{rng.getrandbits(256):064x}"}],
    }
    if lic:
        comp["licenses"] = lic
    return comp


def bom(n: int, seed: int = 7) -> dict[str, Any]:
    """A CycloneDX 1.6 BOM with `n` components and a few vulnerabilities."""
    rng = random.Random(seed)
    comps = [component(i, rng) for i in range(n)]
    vulns = [
        {
            "id": f"CVE-2026-{1000 + i}",
            "ratings": [{"severity": ("critical", "high", "medium")[i % 3]}],
            "analysis": {"state": "not_affected"} if i % 2 else {"state": "in_triage"},
            "affects": [{"ref": f"ref-{i * 13 % n}"}],
        }
        for i in range(min(20, n))
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:6f1d6a3c-6a7d-4f1e-9a4e-2b8c9d0e1f20",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "component": {"type": "application", "name": "bench-app", "version": "1.0.0"},
        },
        "components": comps,
        "vulnerabilities": vulns,
    }


def write_bom(path: Path, n: int) -> Path:
    """Write a generated BOM of `n` components to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bom(n)), encoding="utf-8")
    return path
