"""Where `gate check` keeps the private keys it makes on first use, and the keys it refuses: never
in the working tree, where `git add -A` commits them and where the change under review could swap
them."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from audit.keys import generate_record_key, record_key_pem, write_private
from audit.signer import KeyChoice, SignerError, default_key_dir, make_key_dir
from tests.helpers import ROOT, run_gate

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
UNSET = {
    "GATE_AUDIT_LOG": "",
    "GATE_SIGNING_KEY": "",
    "GATE_LOG_KEY": "",
    "GATE_TIME": "2026-11-23T12:00:00Z",
}


def _repo(tmp_path: Path) -> Path:
    """A git checkout holding a copy of the example service."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_default_key_folder_by_where_the_gate_runs(tmp_path: Path) -> None:
    home = {"HOME": "/home/dev"}
    assert default_key_dir(home) == Path("/home/dev/.local/share/govgate/keys")
    assert default_key_dir({**home, "XDG_DATA_HOME": "/data"}) == Path("/data/govgate/keys")
    # the XDG spec: a relative XDG_DATA_HOME is ignored
    assert default_key_dir({**home, "XDG_DATA_HOME": "rel"}) == Path("/home/dev/.local/share/govgate/keys")
    github = {**home, "GITHUB_ACTIONS": "true", "RUNNER_TEMP": "/runner/_temp"}
    assert default_key_dir(github) == Path("/runner/_temp/govgate/keys")
    gitlab = {**home, "GITLAB_CI": "true", "CI_JOB_ID": "4711", "TMPDIR": str(tmp_path)}
    assert default_key_dir(gitlab) == tmp_path / "govgate-job-4711" / "keys"


def test_a_key_folder_others_may_write_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "govgate-job-1"
    planted.mkdir()
    planted.chmod(0o777)
    with pytest.raises(SignerError, match="others may write to it"):
        make_key_dir(planted / "keys")
    # nor is a key read from there, whoever put it in
    choice = KeyChoice(None, None, planted / "keys")
    (planted / "keys").mkdir()
    write_private(planted / "keys" / "audit.key", record_key_pem(generate_record_key()))
    with pytest.raises(SignerError, match="others may write to it"):
        choice.load([])
    make_key_dir(tmp_path / "mine" / "keys")
    assert stat.S_IMODE((tmp_path / "mine").stat().st_mode) == 0o700


def test_first_use_keys_stay_out_of_the_checkout(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    data = tmp_path / "data"
    run = run_gate("check", ".", "--env", "dev", cwd=repo, env={**UNSET, "XDG_DATA_HOME": str(data)})
    assert run.code == 0, run.stderr
    assert (
        f"created a signing key for audit records at {data / 'govgate' / 'keys' / 'audit.key'}" in run.stderr
    )
    assert (data / "govgate" / "keys" / "log.key").is_file()
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    added = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert not [name for name in added if name.endswith(".key")], added


def test_github_actions_keys_go_to_the_runner_temp_folder(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env = {**UNSET, "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(runner_temp), "GITHUB_WORKSPACE": str(repo)}
    run = run_gate("check", ".", "--env", "dev", cwd=repo, env=env)
    assert run.code == 0, run.stderr
    assert (runner_temp / "govgate" / "keys" / "audit.key").is_file()
    assert not list(repo.rglob("*.key"))


@pytest.mark.parametrize("which", ["--signing-key", "config audit.log_key", "XDG_DATA_HOME"])
def test_a_key_inside_the_checked_paths_is_refused(which: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert run_gate("audit", "keygen", "--out", repo / "keys").code == 0
    args: list[str | Path] = ["check", ".", "--env", "dev"]
    env = dict(UNSET)
    if which == "--signing-key":
        args += ["--signing-key", "keys/audit.key"]
        env["GATE_LOG_KEY"] = (repo / "keys" / "log.key").read_text().strip()
        shown = "keys/audit.key: the signing key"
    elif which == "config audit.log_key":
        (tmp_path / "gate.yaml").write_text(f"audit: {{log_key: {repo / 'keys' / 'log.key'}}}\n")
        args += ["--config", tmp_path / "gate.yaml"]
        env["GATE_SIGNING_KEY"] = (repo / "keys" / "audit.key").read_text()
        shown = f"{repo / 'keys' / 'log.key'}: the log key"
    else:
        env["XDG_DATA_HOME"] = str(repo / "data")
        shown = f"{repo / 'data' / 'govgate' / 'keys' / 'audit.key'}: the signing key"
    run = run_gate(*args, cwd=repo, env=env)
    assert run.code == 2, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"gate: {shown} lies inside the checked paths"), line
    assert "GATE_SIGNING_KEY" in line
    assert not (repo / "data").exists()  # refused before anything was made


def test_keys_left_in_the_working_tree_are_moved_and_the_log_keeps_verifying(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    legacy = repo / ".gate" / "keys"
    assert run_gate("audit", "keygen", "--out", legacy).code == 0
    # a log those keys made, as the gate made it when it kept keys in .gate/keys
    env = {
        **UNSET,
        "GATE_SIGNING_KEY": (legacy / "audit.key").read_text(),
        "GATE_LOG_KEY": (legacy / "log.key").read_text().strip(),
    }
    assert run_gate("check", ".", "--env", "dev", cwd=repo, env=env).code == 0
    data = tmp_path / "data"
    env = {**UNSET, "XDG_DATA_HOME": str(data)}
    run = run_gate("check", ".", "--env", "dev", cwd=repo, env=env)
    assert run.code == 2, run.stderr
    (line,) = run.stderr.splitlines()
    new = data / "govgate" / "keys"
    assert line.startswith("gate: .gate/keys/audit.key: the signing key lies in the working tree"), line
    assert f"mkdir -p {new} && mv .gate/keys/* {new}/" in line
    assert not (data / "govgate").exists()  # no new key, which could not sign this log
    new.mkdir(parents=True)
    for key in legacy.iterdir():
        key.rename(new / key.name)
    run = run_gate("check", ".", "--env", "dev", cwd=repo, env=env)
    assert run.code == 0, run.stderr
    pins = ("--key", new / "audit.pub", "--log-key", new / "log.pub")
    run = run_gate("audit", "verify", "--log", repo / ".gate" / "audit", *pins, cwd=repo, env=env)
    assert run.code == 0 and "2 records" in run.stdout, run.stdout + run.stderr


def test_the_example_service_ignores_the_gate_folder(tmp_path: Path) -> None:
    """The example checkout's .gitignore keeps the audit log out of a commit after a check."""
    repo = _repo(tmp_path)
    run = run_gate("check", ".", "--env", "dev", cwd=repo, env={"GATE_AUDIT_LOG": ""})
    assert run.code == 0 and (repo / ".gate" / "audit").is_dir(), run.stderr
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    added = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert ".gitignore" in added and not [name for name in added if name.startswith(".gate/")], added
