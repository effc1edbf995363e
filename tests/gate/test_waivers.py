"""Waiver files: required fields, lifetime, duplicates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ConfigError
from gate.waivers import load_waivers
from tests.helpers import write_yaml

TODAY = dt.date(2026, 11, 23)


def _waiver(**kw: Any) -> dict[str, Any]:
    w: dict[str, Any] = {
        "id": "W-1",
        "check": "SBOM-LICENSE-DENIED",
        "subject": "pkg:npm/left-pad@*",
        "owner": "team-payments",
        "reason": "legal approved, ticket LEGAL-12",
        "expires": "2026-12-31",
    }
    w.update(kw)
    return {k: v for k, v in w.items() if v is not None}


def test_valid_waivers_keep_dates_as_strings(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver()]})
    path.write_text(path.read_text().replace("'2026-12-31'", "2026-12-31"))
    [w] = load_waivers(path, TODAY, 90)
    assert w["expires"] == "2026-12-31"
    assert w["source"] == str(path)


@pytest.mark.parametrize("missing", ["id", "check", "subject", "owner", "reason", "expires"])
def test_every_field_is_required(tmp_path: Path, missing: str) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver(**{missing: None})]})
    with pytest.raises(ConfigError) as err:
        load_waivers(path, TODAY, 90)
    assert missing in err.value.message


def test_expiry_beyond_maximum_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver(expires="2027-03-01")]})
    with pytest.raises(ConfigError, match="more than 90 days"):
        load_waivers(path, TODAY, 90)
    assert load_waivers(path, TODAY, 120)[0]["id"] == "W-1"


def test_expired_waivers_are_kept_for_reporting(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver(expires="2025-01-01")]})
    assert load_waivers(path, TODAY, 90)[0]["expires"] == "2025-01-01"


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver(), _waiver()]})
    with pytest.raises(ConfigError, match="used twice"):
        load_waivers(path, TODAY, 90)


def test_impossible_date_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": [_waiver(expires="2026-02-30")]})
    with pytest.raises(ConfigError, match="not a date"):
        load_waivers(path, TODAY, 90)


@pytest.mark.parametrize(
    ("waivers", "expected"),
    [
        ([_waiver(), _waiver(id="W-2", owner=None)], "invalid waiver #2 (W-2): owner: is required"),
        ([_waiver(expires="2026/12/31")], 'invalid waiver #1 (W-1): expires: "2026/12/31" does not match'),
        ([_waiver(check="lower")], 'invalid waiver #1 (W-1): check: "lower" does not match'),
        (5, "invalid waiver file: waivers: expected an array, found an integer"),
    ],
)
def test_a_schema_error_names_the_waiver_and_its_field_in_one_line(
    tmp_path: Path, waivers: Any, expected: str
) -> None:
    path = write_yaml(tmp_path / "waivers.yaml", {"waivers": waivers})
    with pytest.raises(ConfigError) as err:
        load_waivers(path, TODAY, 90)
    assert err.value.message.startswith(expected)
    assert err.value.path == str(path) and "\n" not in err.value.one_line()
