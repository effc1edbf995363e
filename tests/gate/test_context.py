"""CI context detection."""

from __future__ import annotations

from gate.context import build_context, parse_time


def test_github_pull_request() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/payments",
        "GITHUB_SHA": "abc123",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_RUN_ID": "99",
        "GITHUB_ACTOR": "octocat",
    }
    ctx = build_context("prod", env, now_ns=0)
    assert ctx["ci"] == "github"
    assert ctx["repository"] == "https://github.com/acme/payments"
    assert ctx["change_id"] == "42"
    assert (ctx["commit"], ctx["run_id"], ctx["actor"]) == ("abc123", "99", "octocat")
    assert ctx["date"] == "1970-01-01"


def test_gitlab_merge_request() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_URL": "https://gitlab.com/acme/payments",
        "CI_COMMIT_SHA": "def",
        "CI_COMMIT_REF_NAME": "feature",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_PIPELINE_ID": "5",
        "GITLAB_USER_LOGIN": "dev",
    }
    ctx = build_context("dev", env, now_ns=0)
    assert ctx["ci"] == "gitlab"
    assert ctx["ref"] == "refs/heads/feature"
    assert ctx["change_id"] == "7"


def test_gate_time_pins_the_clock() -> None:
    ctx = build_context("dev", {"GATE_TIME": "2026-03-01T12:00:00Z"})
    assert ctx["date"] == "2026-03-01"
    assert ctx["time_ns"] == parse_time("2026-03-01T12:00:00+00:00") == 1772366400 * 10**9
    assert ctx["ci"] == "none" and ctx["repository"] is None
