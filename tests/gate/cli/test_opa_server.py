"""`gate check --engine opa-server` and `gate policy push` as real subprocesses against a real OPA server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import ROOT, run_gate
from tests.opa_server_fixture import free_port, opa_server

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _without_engine(decision: dict[str, Any]) -> dict[str, Any]:
    """Engine and audit fields aside: each run is its own decision with its own record."""
    assert decision["audit"]["record"].startswith("sha256:")
    return {k: v for k, v in decision.items() if k not in ("engine", "audit")}


def test_opa_server_gives_the_embedded_decision(tmp_path: Path) -> None:
    embedded = run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--format", "json", env=PINNED)
    with opa_server(tmp_path) as server:
        push = run_gate("policy", "push", "--opa-url", server.url, "--config", CONFIG)
        assert push.code == 0, push.stderr
        assert f"into {server.url}" in push.stdout
        remote = run_gate(
            "check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--format", "json",
            "--engine", "opa-server", "--opa-url", server.url, env=PINNED,
        )  # fmt: skip
    assert remote.code == embedded.code == 1, remote.stderr
    assert _without_engine(remote.json()) == _without_engine(embedded.json())
    engine = remote.json()["engine"]
    assert engine["name"] == "opa-server" and engine["url"] == server.url
    assert engine["decision_id"]


def test_dead_server_in_prod_fails_closed_with_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--format", "json",
        "--engine", "opa-server", "--opa-url", url, "--opa-retries", "0", env=PINNED,
    )  # fmt: skip
    assert run.code == 3
    assert run.json()["outcome"] == "error"
    assert "refused" in run.stderr and url in run.stderr


def test_server_without_the_policies_says_to_push(tmp_path: Path) -> None:
    with opa_server(tmp_path) as server:
        run = run_gate(
            "check", EXAMPLE, "--config", CONFIG, "--env", "dev",
            "--engine", "opa-server", "--opa-url", server.url, env=PINNED,
        )  # fmt: skip
    assert run.code == 3
    assert "gate policy push" in run.stderr


def test_opa_server_needs_a_url() -> None:
    run = run_gate("check", EXAMPLE, "--config", CONFIG, "--engine", "opa-server")
    assert run.code == 2 and "--opa-url" in run.stderr


# A server whose gate.main was replaced: it answers warn for a finding that blocks.
LYING_MAIN = """package gate.main

decision := {
	"outcome": "warn",
	"findings": [{
		"check": "SBOM-VULN-CRITICAL", "title": "t", "severity": "critical", "action": "block",
		"message": "m", "subject": {"kind": "sbom", "path": null, "ref": null, "line": null},
		"remediation": "r", "waiver": null,
	}],
}
"""


def test_an_outcome_the_findings_contradict_is_an_engine_failure(tmp_path: Path) -> None:
    from gate.policy.policy_set import PolicySet

    lying = PolicySet(modules={"gate/main.rego": LYING_MAIN}, data={})
    with opa_server(tmp_path, bundle=lying) as server:
        run = run_gate(
            "check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--format", "json",
            "--engine", "opa-server", "--opa-url", server.url, env=PINNED,
        )  # fmt: skip
    assert run.code == 3, run.stdout + run.stderr
    assert run.json()["outcome"] == "error"
    assert "says warn but its findings' actions make it block" in run.stderr
