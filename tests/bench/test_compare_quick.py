"""bench/compare.py in quick mode: the baselines agree with govgate and the report is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import compare
from gate.tools import find_binary


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


@pytest.mark.slow
@pytest.mark.skipif(
    find_binary("go") is None and find_binary("conftest") is None and not _ci(),
    reason="needs Go (or conftest and opa on PATH): bash scripts/install-tools.sh",
)
def test_quick_comparison(tmp_path: Path) -> None:
    """Every scenario is measured, every baseline agrees with govgate, the files are written."""
    out, md = tmp_path / "compare.json", tmp_path / "BENCHMARKS.md"
    # --against this very checkout: the other version's path is exercised and must agree with itself.
    root = Path(compare.__file__).resolve().parent.parent
    args = ["--quick", "--no-audit", "--against", str(root), "--out", str(out), "--markdown", str(md)]
    report = compare.main(args)
    assert [r["key"] for r in report["scenarios"]] == ["a", "b", "c"]
    for row in report["scenarios"]:
        assert row["findings"]["compared"] > 0, row["key"]
        for check in row["correctness"]:
            assert check["same"], check
        assert row["ratio_vs_conftest"] is not None
        for tool in ("govgate", "conftest", "opa_eval", "against"):
            assert row["timings"][tool]["median_s"] > 0
        assert row["against"]["same_findings"] and row["against"]["change"] is not None
    assert json.loads(out.read_text(encoding="utf-8"))["quick"] is True
    text = md.read_text(encoding="utf-8")
    assert "govgate / conftest" in text and "Machine:" in text
    assert "this against other" in text
