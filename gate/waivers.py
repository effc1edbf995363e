"""Waivers: loading and validating the waivers file before the policies see it."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from gate.errors import ConfigError


def load_waivers(path: Path, today: dt.date, max_days: int) -> list[dict[str, Any]]:
    """Read and validate a waivers file; every waiver gets a `source` naming the file.

    Refused (ConfigError): a missing file, bad YAML, a waiver missing a required field, a malformed
    expiry, duplicate ids, or an expiry further out than `max_days` from `today`. Expired waivers are
    kept: the policies report them as WAIVER-EXPIRED and do not apply them.
    """
    shown = str(path)
    if not path.is_file():
        raise ConfigError("waivers file not found", "check `waivers:` in gate.yaml or --waivers", path=shown)
    # The YAML date type would turn `expires: 2026-12-31` into a date object; keep it a string.
    if (raw_text := _read(path)) is None:
        return []
    import yaml

    try:
        raw = yaml.load(raw_text, Loader=_string_date_loader())
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"waivers file is not valid YAML: {str(exc).splitlines()[0]}", "fix the syntax", path=shown
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert; nesting too deep
        raise ConfigError(f"waivers file cannot be read: {exc}", "fix the file", path=shown) from None
    if raw is None:
        return []
    from gate import schemas

    error = schemas.shipped("waivers.schema.json").first_error(raw)
    if error is not None:
        loc = _location(raw, list(error.path))
        field = error.path if loc == "file" else error.path[2:]  # the place inside the waiver
        where = f"{schemas.dotted(field)}: " if field else ""
        raise ConfigError(
            f"invalid waiver {loc}: {where}{error.problem}",
            "every waiver needs id, check, subject, owner, reason and expires (YYYY-MM-DD)",
            path=shown,
        )
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    limit = today + dt.timedelta(days=max_days)
    for w in raw["waivers"]:
        if w["id"] in seen:
            raise ConfigError(
                f"waiver id {w['id']!r} is used twice", "give each waiver its own id", path=shown
            )
        seen.add(w["id"])
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise ConfigError(
                f"waiver {w['id']}: expires {w['expires']!r} is not a date",
                "write it as YYYY-MM-DD",
                path=shown,
            ) from None
        if expires > limit:
            raise ConfigError(
                f"waiver {w['id']} expires {expires}, more than {max_days} days from today",
                f"set an expiry on or before {limit} (limits.max_waiver_days in gate.yaml sets the maximum)",
                path=shown,
            )
        out.append({**w, "source": shown})
    return out


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("waivers file is not UTF-8", "save it as UTF-8", path=str(path)) from None
    return text if text.strip() else None


def _location(raw: Any, where: list[Any]) -> str:
    if len(where) >= 2 and where[0] == "waivers" and isinstance(where[1], int):
        item = raw["waivers"][where[1]]
        ident = item.get("id") if isinstance(item, dict) else None
        return f"#{where[1] + 1}" + (f" ({ident})" if ident else "")
    return "file"


@lru_cache(maxsize=1)
def _string_date_loader() -> type[Any]:
    """PyYAML's safe loader without the timestamp type: `expires: 2026-12-31` stays a string."""
    import yaml

    class StringDateLoader(yaml.SafeLoader):
        """The safe loader, dates left as strings."""

    StringDateLoader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return StringDateLoader
