"""External tools the gate can use: the `opa` and `regal` binaries, found where users install them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = {
    "opa": (
        "install OPA: `bash scripts/install-tools.sh` in a govgate checkout, or "
        "`go install github.com/open-policy-agent/opa@v1.22.2`, or the release binary from "
        "https://github.com/open-policy-agent/opa/releases; in GitHub Actions use the "
        "open-policy-agent/setup-opa action; or give --opa-path"
    ),
    "regal": (
        "install Regal: `bash scripts/install-tools.sh` in a govgate checkout, or "
        "`go install github.com/open-policy-agent/regal@v0.39.0`, or the release binary from "
        "https://github.com/open-policy-agent/regal/releases"
    ),
}


def go_bin_dirs() -> list[Path]:
    """Where `go install` puts binaries: $GOBIN, else each $GOPATH's bin, else ~/go/bin."""
    dirs: list[Path] = []
    go = shutil.which("go")
    if go:
        try:
            out = subprocess.run(
                [go, "env", "GOBIN", "GOPATH"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        gobin = out[0].strip() if out else ""
        gopath = out[1].strip() if len(out) > 1 else ""
        if gobin:
            dirs.append(Path(gobin))
        dirs.extend(Path(p) / "bin" for p in gopath.split(os.pathsep) if p)
    dirs.append(Path.home() / "go" / "bin")
    return dirs


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(name: str) -> str | None:
    """`name` on PATH, else where `go install` (scripts/install-tools.sh) puts it; None if absent."""
    found = shutil.which(name)
    if found:
        return found
    for directory in go_bin_dirs():
        candidate = directory / name
        if _executable(candidate):
            return str(candidate)
    return None
