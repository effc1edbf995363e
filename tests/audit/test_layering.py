"""The dependency runs one way: the gate imports the audit package through its public API
(`from audit import NAME`, NAME in audit.__all__), and the audit package never imports the gate."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import audit

ROOT = Path(__file__).resolve().parents[2]

# Import every audit module and every name of its API, then list what of the gate got loaded.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
import audit
for info in pkgutil.walk_packages(audit.__path__, "audit."):
    importlib.import_module(info.name)
for name in audit.__all__:
    getattr(audit, name)
print(json.dumps(sorted(m for m in sys.modules if m == "gate" or m.startswith("gate."))))
"""


def test_the_audit_package_imports_nothing_of_the_gate() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


def test_no_audit_module_imports_the_gate_even_in_a_function() -> None:
    """Imports inside functions run late, where the subprocess above does not reach."""
    offending = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "audit").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "gate" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gate")
    ]
    assert offending == []


def _audit_imports(path: Path) -> list[tuple[int, str]]:
    """(line, what) of every import of the audit package in a file that is not `from audit import
    NAME` with NAME in audit.__all__."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name == "audit" or a.name.startswith("audit.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("audit."):
                found.append((node.lineno, f"from {node.module}"))
            elif node.module == "audit":
                found += [
                    (node.lineno, f"from audit import {a.name}")
                    for a in node.names
                    if a.name not in audit.__all__
                ]
    return found


def test_the_gate_uses_only_the_public_api_of_the_audit_package() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted((ROOT / "gate").rglob("*.py"))
        for line, what in _audit_imports(path)
    ]
    assert offending == []


def test_the_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import audit.log\nfrom audit.compact import compact_json\nfrom audit import writer\n"
        "from audit import AuditLog\ndef f():\n    import audit\n",
        encoding="utf-8",
    )
    assert [what for _, what in _audit_imports(sample)] == [
        "audit.log",
        "from audit.compact",
        "from audit import writer",
        "audit",
    ]


def test_the_api_names_resolve_and_are_listed_once() -> None:
    assert sorted(audit.__all__) == sorted(set(audit.__all__))
    for name in audit.__all__:
        assert getattr(audit, name) is not None, name
    source = (ROOT / "audit" / "__init__.py").read_text(encoding="utf-8")
    typed = {
        alias.asname or alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("audit.")
        for alias in node.names
    }
    assert typed == set(audit.__all__)  # what type checkers see is what the module exports
