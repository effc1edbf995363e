"""The `opa` engine: the OPA binary (`opa eval`), with policies and data passed as files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gate.engine.base import DECISION_QUERY, EngineResult, decision_object
from gate.engine.limits import EvalLimits
from gate.errors import EngineError
from gate.policy.policy_set import PolicySet
from gate.tools import INSTALL_HINT, find_binary

DEFAULT_TIMEOUT = 300.0
_UNSAFE_CHARS = re.compile(r'[<>:"|?*\x00-\x1f]')
_VERSION_RE = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
# What Go's runtime prints when an allocation fails (under RLIMIT_DATA): "fatal error: runtime:
# cannot allocate memory", or "runtime: out of memory: cannot allocate N-byte block".
_OUT_OF_MEMORY = re.compile(rb"cannot allocate memory|out of memory")
_GO_CRASH = re.compile(rb"^(?:fatal error: |SIGSEGV: |unexpected signal )", re.MULTILINE)


def locate_opa(explicit: str | Path | None = None) -> str:
    """The opa binary: `explicit` (--opa-path), else on PATH, else in $(go env GOPATH)/bin."""
    if explicit is not None and str(explicit) != "":
        path = Path(explicit)
        if path.is_file():
            return str(path)
        on_path = shutil.which(str(explicit)) if len(path.parts) == 1 else None
        if on_path:
            return on_path
        raise EngineError(
            f"--opa-path {explicit}: no such file",
            "give the path of the opa binary, or leave --opa-path out to use the opa on PATH",
        )
    found = find_binary("opa")
    if found is None:
        raise EngineError(
            "the opa binary was not found on PATH or in $(go env GOPATH)/bin", INSTALL_HINT["opa"]
        )
    return found


def run_opa(
    argv: list[str],
    *,
    stdin: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
    limits: EvalLimits | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run an opa command; a binary that cannot start or does not finish is an EngineError.

    With `limits`, the run is an evaluation bounded by them: killed past the time bound, and its
    data size (RLIMIT_DATA: Go's runtime then fails to allocate and exits) capped.
    """
    preexec = None
    if limits is not None:
        from gate.engine.bounded import data_limit

        timeout = limits.timeout_seconds
        preexec = data_limit(limits.memory_bytes, relative=False) if hasattr(os, "fork") else None
    try:
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, timeout=timeout, cwd=cwd, check=False, preexec_fn=preexec
        )
    except subprocess.TimeoutExpired:
        if limits is not None:
            raise limits.time_exceeded(f"`opa {argv[1] if len(argv) > 1 else ''}` was stopped") from None
        raise EngineError(
            f"`opa {argv[1] if len(argv) > 1 else ''}` did not finish within {timeout:g} s",
            "check the policies for unbounded recursion or huge comprehensions",
        ) from None
    except OSError as exc:
        raise EngineError(
            f"cannot run {argv[0]}: {exc.strerror or exc}", "check --opa-path and the binary's permissions"
        ) from None
    if limits is not None and proc.returncode != 0:
        command = f"`opa {argv[1] if len(argv) > 1 else ''}`"
        if _OUT_OF_MEMORY.search(proc.stderr):
            raise limits.memory_exceeded(f"{command} ran out of memory")
        if _GO_CRASH.search(proc.stderr):
            # Go's runtime can also fault (SIGSEGV in its collector) once allocations fail.
            raise limits.memory_exceeded(f"{command} crashed, out of memory at the bound or faulting")
    return proc


def module_path(name: str) -> PurePosixPath:
    """A module name as a safe relative path (no `..`, no absolute part, ends in .rego)."""
    parts = [
        _UNSAFE_CHARS.sub("_", p)
        for p in PurePosixPath(name.replace("\\", "/")).parts
        if p not in ("", ".", "..", "/")
    ]
    if not parts:
        parts = ["module.rego"]
    if not parts[-1].endswith(".rego"):
        parts[-1] += ".rego"
    return PurePosixPath(*parts)


@dataclass(frozen=True)
class ModuleTree:
    """Modules written under `root`, each at its name as a relative path, and the way back."""

    root: Path
    names: dict[str, str]  # relative posix path -> module name

    def name_of(self, file: str) -> str:
        """The module name of a file path OPA reports (absolute, under root), else the path itself."""
        prefix = str(self.root) + "/"
        rel = file[len(prefix) :] if file.startswith(prefix) else file
        return self.names.get(rel.replace("\\", "/"), rel)

    def rename_in(self, text: str) -> str:
        """Replace every temp path under root in OPA's text with its module name."""
        prefix = re.escape(str(self.root)) + r"[/\\]([^\s:\"']+\.rego)"
        return re.sub(prefix, lambda m: self.names.get(m.group(1).replace("\\", "/"), m.group(1)), text)


def write_modules(root: Path, modules: Mapping[str, str]) -> ModuleTree:
    """Write Rego modules under root, their names kept as relative paths (made unique if need be)."""
    names: dict[str, str] = {}
    for name in sorted(modules):
        rel = module_path(name)
        n = 1
        while rel.as_posix() in names:
            n += 1
            rel = rel.with_name(f"{rel.stem}~{n}.rego")
        target = root.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(modules[name], encoding="utf-8")
        names[rel.as_posix()] = name
    return ModuleTree(root, names)


def error_parts(err: Any, tree: ModuleTree) -> tuple[str, str, str]:
    """One of OPA's JSON errors as (`module:row:col`, code, message), temp paths renamed."""
    if not isinstance(err, dict):
        return "", "", str(err)
    loc = err.get("location")
    where = ""
    if isinstance(loc, dict) and loc.get("file"):
        where = f"{tree.name_of(str(loc['file']))}:{loc.get('row', 0)}"
        where += f":{loc['col']}" if loc.get("col") else ""
    return where, str(err.get("code") or ""), tree.rename_in(str(err.get("message", "")))


def format_errors(errors: list[Any], tree: ModuleTree) -> list[str]:
    """OPA's JSON errors as `module:row:col: code: message` lines."""
    lines: list[str] = []
    for err in errors:
        where, code, message = error_parts(err, tree)
        lines.append("".join([f"{where}: " if where else "", f"{code}: " if code else "", message]))
    return lines


def opa_errors(*outputs: bytes) -> list[Any] | None:
    """The `errors` list of OPA's JSON error report in the first output holding one, else None.

    `opa eval` prints it on stdout, `opa check` on stderr.
    """
    for output in outputs:
        try:
            doc = json.loads(output)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("errors"), list):
            return list(doc["errors"])
    return None


def _summary(lines: list[str]) -> str:
    head = lines[0] if lines else "no message"
    more = len(lines) - 1
    return head + (f" (and {more} more error{'s' if more > 1 else ''})" if more > 0 else "")


def _tail(data: bytes, limit: int = 400) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return " ".join(text.splitlines()[-5:])[-limit:] or "no output"


class OpaEngine:
    """`opa eval` per decision; policies written once per policy digest into a private temp dir."""

    name = "opa"

    def __init__(
        self,
        opa_path: str | Path | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        limits: EvalLimits | None = None,
    ) -> None:
        self._explicit = opa_path
        # Each `opa eval` is bounded by these (its time bound replaces `timeout`).
        self.limits = limits or EvalLimits(timeout_seconds=timeout)
        self._binary: str | None = None
        self._version: str | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._tree: ModuleTree | None = None
        self._data_file: Path | None = None
        self._digest: str | None = None
        self.timeout = timeout

    @property
    def binary(self) -> str:
        """The opa binary this engine runs (located on first use)."""
        if self._binary is None:
            self._binary = locate_opa(self._explicit)
        return self._binary

    @property
    def policy_dir(self) -> Path | None:
        """Where the current policies are written (None before the first evaluation)."""
        return self._tree.root if self._tree is not None else None

    def version(self) -> str:
        """`opa <version>`, from `opa version`."""
        if self._version is None:
            proc = run_opa([self.binary, "version"], timeout=self.timeout)
            match = _VERSION_RE.search(proc.stdout.decode("utf-8", errors="replace"))
            if proc.returncode != 0 or match is None:
                raise EngineError(
                    f"{self.binary} does not answer `opa version` like OPA ({_tail(proc.stderr or proc.stdout)})",
                    "check that --opa-path names the OPA binary",
                )
            self._version = f"opa {match.group(1)}"
        return self._version

    def _load(self, policy: PolicySet) -> tuple[ModuleTree, Path]:
        if self._tree is not None and self._data_file is not None and self._digest == policy.digest:
            return self._tree, self._data_file
        self.close()
        workdir = tempfile.TemporaryDirectory(prefix="govgate-opa-")
        root = Path(workdir.name)
        try:
            tree = write_modules(root / "policy", policy.modules)
            # Outside the module folder: a data.json inside a -d folder would be merged at the root
            # *and* under its folder's path; passed as a file it lands at the root only.
            data_file = root / "data.json"
            data_file.write_text(json.dumps(policy.data), encoding="utf-8")
        except OSError as exc:
            workdir.cleanup()
            raise EngineError(
                f"cannot write the policies for opa: {exc.strerror or exc}", "check the temp folder (TMPDIR)"
            ) from None
        self._workdir, self._tree, self._data_file, self._digest = workdir, tree, data_file, policy.digest
        return tree, data_file

    def close(self) -> None:
        """Remove the temp dir of the policies (also done when the engine is garbage-collected)."""
        if self._workdir is not None:
            self._workdir.cleanup()
        self._workdir = self._tree = self._data_file = self._digest = None

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> EngineResult:
        """Evaluate the decision; compile and evaluation errors carry OPA's file:line."""
        binary = self.binary
        tree, data_file = self._load(policy)
        argv = [
            binary,
            "eval",
            "--stdin-input",
            "--format",
            "json",
            "--strict-builtin-errors",
            "--data",
            str(tree.root),
            "--data",
            str(data_file),
            DECISION_QUERY,
        ]
        stdin = text if text is not None else json.dumps(document).encode("utf-8")
        proc = run_opa(argv, stdin=stdin, limits=self.limits)
        return EngineResult(decision_of(proc, tree))


def decision_of(proc: subprocess.CompletedProcess[bytes], tree: ModuleTree) -> dict[str, Any]:
    """The decision object from `opa eval --format json` output, or the EngineError it reports."""
    errors = opa_errors(proc.stdout, proc.stderr)
    if errors is not None:
        lines = format_errors(errors, tree)
        codes = {str(e.get("code", "")) for e in errors if isinstance(e, dict)}
        if codes and all(c.startswith("rego_") for c in codes):
            raise EngineError(f"policy does not compile: {_summary(lines)}", "fix the Rego module named")
        raise EngineError(
            f"evaluation failed: {_summary(lines)}",
            "guard the call named (is_string, is_number, ...) or fix the input; builtin errors fail the decision",
        )
    if proc.returncode != 0:
        raise EngineError(
            f"opa eval failed (exit {proc.returncode}): {tree.rename_in(_tail(proc.stderr or proc.stdout))}",
            "run the same opa eval by hand to see more",
        )
    try:
        doc = json.loads(proc.stdout)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EngineError(
            f"opa eval printed output that is not JSON: {_tail(proc.stdout, 200)}", "check the opa binary"
        ) from None
    return decision_object(_first_value(doc))


def _first_value(doc: Any) -> Any:
    results = doc.get("result") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not results:
        return None
    expressions = results[0].get("expressions") if isinstance(results[0], dict) else None
    if not isinstance(expressions, list) or not expressions or not isinstance(expressions[0], dict):
        return None
    return expressions[0].get("value")
