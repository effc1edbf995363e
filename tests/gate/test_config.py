"""Config loading: defaults, validation, environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import DEFAULT_TIERS, from_mapping, load_config, resolve_environment
from gate.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "gate.yaml", explicit=False)
    assert cfg.source is None
    assert cfg.environments == DEFAULT_TIERS
    assert cfg.engine == "embedded"
    assert "catalog:register" in cfg.data["allowed_actions"]
    assert cfg.max_waiver_days == 90


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", explicit=True)


def test_unquoted_off_means_off() -> None:
    cfg = from_mapping({"checks": {"CATALOG-TECHDOCS": False, "SBOM-PURL-MISSING": {"prod": False}}}, None)
    assert cfg.checks == {"CATALOG-TECHDOCS": "off", "SBOM-PURL-MISSING": {"prod": "off"}}


def test_custom_environment_inherits_prod_tiers() -> None:
    cfg = from_mapping({"environments": {"qa": {"high": "warn"}}}, None)
    assert cfg.environments["qa"] == {**DEFAULT_TIERS["prod"], "high": "warn"}
    assert resolve_environment("qa", None, cfg) == "qa"


def test_environment_precedence() -> None:
    cfg = from_mapping({"environment": "staging"}, None)
    assert resolve_environment("prod", "dev", cfg) == "prod"
    assert resolve_environment(None, "dev", cfg) == "dev"
    assert resolve_environment(None, None, cfg) == "staging"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"checks": {"X": "maybe"}}, "checks.X"),
        ({"environments": {"prod": {"critical": "explode"}}}, "environments.prod.critical"),
        ({"signatures": {"identities": [{"issuer": "x", "san_regex": "(?i)acme"}]}}, "(?i)"),
        ({"signatures": {"identities": [{"issuer": "x", "san_regex": "("}]}}, "invalid"),
        ({"require": ["sboms"]}, "require"),
    ],
)
def test_invalid_config_is_refused(raw: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_mapping(raw, Path("gate.yaml"))
    assert needle in err.value.message
    assert err.value.path == "gate.yaml"


def test_the_gate_offers_the_signers_the_audit_package_has() -> None:
    """`--signer` and the config's `audit.signer` choose among the audit package's signers."""
    from audit.signer import SIGNERS as AUDIT_SIGNERS
    from gate.config import SIGNERS

    assert SIGNERS == AUDIT_SIGNERS
