"""The policy set: shipped library, user folders, conftest adapters, digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.policy.policy_set import ConftestNamespace, build_policy_set, conftest_adapter, shipped_modules


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
        'package main\n\ndeny contains "no" if input.x\n\nwarn_odd contains {"msg": "w"} if true\n'
        '\nexception contains ["odd"] if input.y\n\ndenyish := 1\n'
    )
    policy = build_policy_set([tmp_path], {}, [])
    assert policy.conftest == (ConftestNamespace("main", ("deny", "warn_odd"), exception=True),)
    assert policy.reads_files and not policy.combine
    adapter = policy.modules["generated/conftest/main.rego"]
    assert "package gate.checks.conftest.main" in adapter
    assert "v := src.deny with input as input.files[i].contents" in adapter
    assert "v := src.warn_odd with input as input.files[i].contents" in adapter
    assert "src.denyish" not in adapter and "src.violation" not in adapter
    combined = build_policy_set([tmp_path], {}, [], combine=True)
    assert "v := src.deny with input as _combined" in combined.modules["generated/conftest/main.rego"]
    assert combined.digest != policy.digest


def test_gate_packages_are_not_conftest_packages(tmp_path: Path) -> None:
    (tmp_path / "check.rego").write_text('package gate.checks.team.one\n\ndeny contains "no" if input.x\n')
    policy = build_policy_set([tmp_path], {}, [])
    assert policy.conftest == () and not policy.reads_files
    assert not any(name.startswith("generated/") for name in policy.modules)


def test_adapter_check_ids_and_severities() -> None:
    ns = ConftestNamespace("team.rules", ("deny", "violation_x", "warn_a_b"))
    text = conftest_adapter(ns)
    assert '_finding(m, "CONFTEST-TEAM-RULES-DENY", "high", f)' in text
    assert '_finding(m, "CONFTEST-TEAM-RULES-VIOLATION-X", "high", f)' in text
    assert '_finding(m, "CONFTEST-TEAM-RULES-WARN-A-B", "low", f)' in text


def test_missing_policy_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy folder not found"):
        build_policy_set([tmp_path / "nope"], {}, [])
