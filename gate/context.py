"""The CI context of a decision: which pipeline, repository, commit and actor, and when."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import Any


def detect_ci(env: Mapping[str, str]) -> str:
    """Name the CI system from its environment variables: github, gitlab or none."""
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return "none"


def _github(env: Mapping[str, str]) -> dict[str, str | None]:
    ref = env.get("GITHUB_REF")
    change = None
    if ref and (m := re.match(r"refs/pull/(\d+)/", ref)):
        change = m.group(1)
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    repo = env.get("GITHUB_REPOSITORY")
    return {
        "repository": f"{server}/{repo}" if repo else None,
        "commit": env.get("GITHUB_SHA"),
        "ref": ref,
        "change_id": change,
        "run_id": env.get("GITHUB_RUN_ID"),
        "actor": env.get("GITHUB_ACTOR"),
    }


def _gitlab(env: Mapping[str, str]) -> dict[str, str | None]:
    ref = env.get("CI_COMMIT_REF_NAME")
    return {
        "repository": env.get("CI_PROJECT_URL"),
        "commit": env.get("CI_COMMIT_SHA"),
        "ref": f"refs/heads/{ref}"
        if ref and not env.get("CI_COMMIT_TAG")
        else (f"refs/tags/{ref}" if ref else None),
        "change_id": env.get("CI_MERGE_REQUEST_IID"),
        "run_id": env.get("CI_PIPELINE_ID"),
        "actor": env.get("GITLAB_USER_LOGIN"),
    }


def build_context(
    environment: str,
    env: Mapping[str, str],
    *,
    service: str | None = None,
    now_ns: int | None = None,
) -> dict[str, Any]:
    """The `context` section of the input document.

    `GATE_TIME` (RFC 3339 or integer nanoseconds) pins the decision time, for reproducible runs
    and replays; otherwise the wall clock is used.
    """
    ci = detect_ci(env)
    fields = (
        _github(env)
        if ci == "github"
        else _gitlab(env)
        if ci == "gitlab"
        else dict.fromkeys(("repository", "commit", "ref", "change_id", "run_id", "actor"))
    )
    if now_ns is None:
        now_ns = parse_time(env.get("GATE_TIME")) if env.get("GATE_TIME") else time.time_ns()
    date = dt.datetime.fromtimestamp(now_ns / 1e9, tz=dt.UTC).date().isoformat()
    return {
        "environment": environment,
        "ci": ci,
        **fields,
        "service": service or env.get("GATE_SERVICE"),
        "time_ns": now_ns,
        "date": date,
    }


def parse_time(value: str | None) -> int:
    """Parse GATE_TIME: integer nanoseconds, or an RFC 3339 timestamp."""
    from gate.errors import ConfigError

    if not value:
        return time.time_ns()
    if value.isdigit():
        return int(value)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"GATE_TIME={value!r} is not a time", "use RFC 3339, e.g. 2026-01-31T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000
