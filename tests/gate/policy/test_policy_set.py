"""The policy set: shipped library, user folders, conftest adapters, digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.policy.policy_set import build_policy_set, conftest_adapter, shipped_modules


def test_shipped_library_is_packaged() -> None:
    modules, tests = shipped_modules()
    assert "lib/gate/main.rego" in modules
    assert any(name.endswith("_test.rego") for name in tests)
    assert not any(name.endswith("_test.rego") for name in modules)


def test_digest_changes_with_policy_and_data(tmp_path: Path) -> None:
    a = build_policy_set([], {"denied_licenses": ["GPL-3.0-only"]}, [])
    b = build_policy_set([], {"denied_licenses": ["GPL-3.0-only"]}, [])
    c = build_policy_set([], {"denied_licenses": []}, [])
    assert a.digest == b.digest != c.digest
    (tmp_path / "p.rego").write_text("package gate.checks.extra.one\n\nx := 1\n")
    d = build_policy_set([tmp_path], {"denied_licenses": ["GPL-3.0-only"]}, [])
    assert d.digest != a.digest


def test_conftest_rules_get_an_adapter(tmp_path: Path) -> None:
    (tmp_path / "k8s.rego").write_text(
        'package main\n\ndeny contains "no" if input.x\n\nwarn contains {"msg": "w"} if true\n'
    )
    policy = build_policy_set([tmp_path], {}, [])
    adapter = policy.modules["generated/conftest/main.rego"]
    assert "package gate.checks.conftest.main" in adapter
    assert "src.deny" in adapter and "src.warn" in adapter and "src.violation" not in adapter


def test_adapter_maps_severities() -> None:
    text = conftest_adapter("team.rules", ["deny", "violation", "warn"])
    assert '"severity": "high", "check": "CONFTEST-TEAM-RULES-DENY"' in text
    assert '"severity": "high", "check": "CONFTEST-TEAM-RULES-VIOLATION"' in text
    assert '"severity": "low", "check": "CONFTEST-TEAM-RULES-WARN"' in text


def test_missing_policy_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy folder not found"):
        build_policy_set([tmp_path / "nope"], {}, [])
