"""The change under review cannot steer the gate: config, policies and waivers from the working
tree are refused where the environment blocks unless their digests are pinned (gate.trust).

Each test builds a repository in a temporary folder as a pull request would leave it and runs the
real `gate check` in it, as a CI job does (the working directory is the checkout).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from gate.trust import policy_digest
from tests.helpers import component_entity, run_gate, write_yaml

# A component without an owner: CATALOG-OWNER (high) blocks in prod by default.
UNOWNED = component_entity("payments", owner=None)
# What a pull request adds to make prod pass.
LENIENT = {"environments": {"prod": {"critical": "warn", "high": "warn"}}}


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _repo(tmp_path: Path) -> Path:
    """A checkout with a blocking catalog file, as a git working tree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    spec = dict(UNOWNED["spec"])
    spec.pop("owner", None)
    write_yaml(repo / "catalog-info.yaml", {**UNOWNED, "spec": spec})
    return repo


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gate: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_config_added_by_the_change_is_refused_in_prod(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_yaml(repo / "gate.yaml", LENIENT)
    run = run_gate("check", ".", "--env", "prod", cwd=repo)
    assert run.code == 2, run.stdout + run.stderr
    line = _one_error_line(run.stderr)
    assert "gate.yaml" in line and "working tree" in line and "--config-digest sha256:" in line


def test_without_the_config_prod_blocks(tmp_path: Path) -> None:
    """The control: the same checkout without the planted config blocks."""
    run = run_gate("check", ".", "--env", "prod", cwd=_repo(tmp_path))
    assert run.code == 1, run.stdout + run.stderr


def test_an_unpinned_config_only_warns_in_dev(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_yaml(repo / "gate.yaml", LENIENT)
    run = run_gate("check", ".", "--env", "dev", cwd=repo)
    assert run.code == 0, run.stderr
    assert "gate.yaml: the config comes from the working tree and is not pinned" in run.stderr


def test_a_config_that_makes_its_own_environment_lenient_is_still_refused(tmp_path: Path) -> None:
    """An unpinned config cannot decide that its environment does not block: prod blocks by default."""
    repo = _repo(tmp_path)
    write_yaml(
        repo / "gate.yaml",
        {
            "environments": {"prod": {"critical": "warn", "high": "warn", "medium": "warn", "low": "warn"}},
            "audit": {"allow_no_audit": True},
        },
    )
    run = run_gate("check", ".", "--env", "prod", "--no-audit", cwd=repo)
    assert run.code == 2
    assert "working tree" in _one_error_line(run.stderr)


def test_a_config_in_the_ci_workspace_is_refused_from_another_folder(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_yaml(repo / "gate.yaml", LENIENT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_gate(
        "check",
        repo / "catalog-info.yaml",
        "--config",
        repo / "gate.yaml",
        "--env",
        "prod",
        cwd=elsewhere,
        env={"GITHUB_WORKSPACE": str(repo)},
    )
    assert run.code == 2
    assert "working tree" in _one_error_line(run.stderr)


def test_a_pinned_config_is_used_and_recorded(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    config = write_yaml(repo / "gate.yaml", LENIENT)
    run = run_gate(
        "check", ".", "--config", "gate.yaml", "--config-digest", _digest(config), "--env", "prod",
        "--format", "json", cwd=repo,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    decision = run.json()
    assert decision["sources"][0] == {
        "kind": "config",
        "path": "gate.yaml",
        "digest": _digest(config),
        "origin": "pinned",
    }


def test_a_pin_that_does_not_match_is_refused_even_in_dev(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    config = write_yaml(repo / "gate.yaml", LENIENT)
    pin = _digest(config)
    write_yaml(repo / "gate.yaml", {**LENIENT, "require": []})  # changed after review
    run = run_gate("check", ".", "--config", "gate.yaml", "--config-digest", pin, "--env", "dev", cwd=repo)
    assert run.code == 2
    assert "does not match --config-digest" in _one_error_line(run.stderr)


def test_a_malformed_pin_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    write_yaml(repo / "gate.yaml", LENIENT)
    run = run_gate("check", ".", "--config", "gate.yaml", "--config-digest", "abc", cwd=repo)
    assert run.code == 2
    assert "is not a sha256 digest" in _one_error_line(run.stderr)


def test_a_config_outside_the_checkout_is_trusted_and_recorded(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    trusted = write_yaml(tmp_path / "trusted" / "gate.yaml", LENIENT)
    run = run_gate("check", ".", "--config", trusted, "--env", "prod", "--format", "json", cwd=repo)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert run.json()["sources"][0]["origin"] == "outside the working tree"


def test_policies_from_the_change_are_refused_unless_pinned(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    evil = repo / ".evil"
    evil.mkdir()
    (evil / "x.rego").write_text("package acme.x\n\nallow := true\n", encoding="utf-8")
    trusted = write_yaml(tmp_path / "trusted" / "gate.yaml", {"policies": []})
    base: list[str | Path] = ["check", ".", "--config", trusted, "--policy", ".evil", "--env", "prod"]
    run = run_gate(*base, cwd=repo)
    assert run.code == 2
    line = _one_error_line(run.stderr)
    assert "policies" in line and "--policy-digest sha256:" in line
    pinned = run_gate(*base, "--policy-digest", policy_digest([evil]), cwd=repo)
    assert pinned.code == 1, pinned.stderr  # evaluated: the catalog file still blocks


def test_policies_named_by_a_pinned_config_still_need_their_own_pin(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    evil = repo / ".evil"
    evil.mkdir()
    (evil / "x.rego").write_text("package acme.x\n\nallow := true\n", encoding="utf-8")
    config = write_yaml(repo / "gate.yaml", {"policies": ["./.evil"]})
    run = run_gate(
        "check", ".", "--config", "gate.yaml", "--config-digest", _digest(config), "--env", "prod", cwd=repo
    )
    assert run.code == 2
    assert "policies" in _one_error_line(run.stderr)


def test_waivers_from_the_change_are_refused_unless_pinned(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    waiver = {"subject": "*", "owner": "team-x", "reason": "approved by the author", "expires": "2026-12-20"}
    waivers = write_yaml(
        repo / "waivers.yaml",
        {
            "waivers": [
                {"id": "W-1", "check": "CATALOG-OWNER", **waiver},
                {"id": "W-2", "check": "CATALOG-VALID", **waiver},
            ]
        },
    )
    env = {"GATE_TIME": "2026-12-01T00:00:00Z"}
    base: list[str | Path] = ["check", "catalog-info.yaml", "--waivers", "waivers.yaml", "--env", "prod"]
    base += ["--format", "json"]
    run = run_gate(*base, cwd=repo, env=env)
    assert run.code == 2
    assert "waivers" in _one_error_line(run.stderr)
    pinned = run_gate(*base, "--waivers-digest", _digest(waivers), cwd=repo, env=env)
    assert pinned.code == 0, pinned.stderr
    decision = pinned.json()
    assert {s["kind"]: s["origin"] for s in decision["sources"]}["waivers"] == "pinned"
    assert decision["summary"] == {"block": 0, "warn": 0, "waived": 2}


def test_the_record_names_every_source(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    config = write_yaml(repo / "gate.yaml", LENIENT)
    log = tmp_path / "log"
    run = run_gate(
        "check", ".", "--config", "gate.yaml", "--config-digest", _digest(config), "--env", "prod",
        "--audit-log", log, "--format", "json", cwd=repo,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    record = run.json()["audit"]["record"].removeprefix("sha256:")
    stored = next(log.rglob(f"*{record}*"))
    bundle = json.loads(stored.read_text(encoding="utf-8"))
    import base64

    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    detail = statement["predicate"]["https://govgate.dev/decision/v1"]
    assert detail["sources"] == [
        {"kind": "config", "path": "gate.yaml", "digest": _digest(config), "origin": "pinned"}
    ]


@pytest.mark.parametrize("kind", ["config", "policies", "waivers"])
def test_a_pin_without_its_source_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    flag = {"config": "--config-digest", "policies": "--policy-digest", "waivers": "--waivers-digest"}[kind]
    run = run_gate("check", ".", flag, "sha256:" + "0" * 64, cwd=_repo(tmp_path))
    assert run.code == 2
    assert "pins" in _one_error_line(run.stderr)


def test_policy_digest_command_prints_the_pin(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.rego").write_text("package a\n", encoding="utf-8")
    run = run_gate("policy", "digest", "--policy", folder)
    assert run.code == 0
    assert run.stdout.strip() == policy_digest([folder])
    # Where the folder lies does not change the digest; its content does.
    moved = tmp_path / "elsewhere" / "p"
    moved.parent.mkdir()
    folder.rename(moved)
    assert policy_digest([moved]) == run.stdout.strip()
    (moved / "a.rego").write_text("package a\n\nx := 1\n", encoding="utf-8")
    assert policy_digest([moved]) != run.stdout.strip()


def test_a_caller_that_names_the_working_tree_trusts_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gate serve` receives the change in the request: its own config beside it is its operator's."""
    from gate.pipeline import CheckOptions, prepare

    server = tmp_path / "server"
    write_yaml(server / "gate.yaml", LENIENT)
    monkeypatch.chdir(server)
    request = tmp_path / "request"
    request.mkdir()
    opts = CheckOptions(paths=(request,), environment="prod", config=Path("gate.yaml"), env={})
    with pytest.raises(Exception, match="working tree"):
        prepare(opts)
    prepared = prepare(dataclasses.replace(opts, working_tree=(request,)))
    assert [s.origin for s in prepared.sources] == ["outside the working tree"]


def test_a_fifo_in_a_policy_folder_is_refused_not_waited_for(tmp_path: Path) -> None:
    import os

    repo = _repo(tmp_path)
    evil = repo / ".evil"
    evil.mkdir()
    os.mkfifo(evil / "hang.rego")
    write_yaml(repo / "gate.yaml", {"policies": ["./.evil"]})
    run = run_gate("check", ".", "--env", "dev", cwd=repo, timeout=60)
    assert run.code == 2
    assert "hang.rego: a named pipe (FIFO), not a regular file" in _one_error_line(run.stderr)


def test_a_job_run_from_the_file_system_root_trusts_files_outside_its_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate.trust import lies_in, untrusted_roots

    monkeypatch.chdir("/")
    repo = _repo(tmp_path)
    roots = untrusted_roots([repo], {})
    assert Path("/") not in roots
    assert lies_in(repo / "gate.yaml", roots)
    assert not lies_in(tmp_path / "trusted" / "gate.yaml", roots)
