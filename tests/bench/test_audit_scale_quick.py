"""bench/audit_scale.py on a tiny log: verify --since and the full verify are timed, the results written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import audit_scale


@pytest.mark.slow
def test_quick_audit_scale(tmp_path: Path) -> None:
    out = tmp_path / "audit_scale.json"
    report = audit_scale.main(
        ["--quick", "--sizes", "40", "--new", "10", "--out", str(out), "--work", str(tmp_path)]
    )
    [row] = report["rows"]
    assert row["size"] == 40 and row["new"] == 10
    assert row["since"]["median_s"] > 0 and row["full"]["records_per_s"] > 0
    assert json.loads(out.read_text(encoding="utf-8"))["quick"] is True
