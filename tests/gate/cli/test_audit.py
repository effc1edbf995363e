"""`gate check` records and `gate audit`, as real subprocesses: the auditor's walk-through."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from tests.audit.logs import Keys, make_keys
from tests.helpers import ROOT, example_pins, run_gate
from tests.opa_server_fixture import free_port

EXAMPLE = ROOT / "examples" / "payments-api"
CONFIG = ROOT / "examples" / "gate.yaml"
PINNED = {"GATE_TIME": "2026-11-23T12:00:00Z"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    """A log with three decisions on the example: prod (block), dev (warn), and a dead OPA (error)."""
    log = tmp_path_factory.mktemp("walk") / "log"
    env = {
        **keys.env(log),
        **PINNED,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/payments-api",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REF": "refs/pull/7/merge",
        "GATE_SERVICE": "payments-api",
    }
    assert run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "prod", env=env).code == 1
    assert run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "dev", env=env).code == 0
    dead = f"http://127.0.0.1:{free_port()}"
    run = run_gate(
        "check",
        EXAMPLE,
        "--config",
        CONFIG,
        "--env",
        "prod",
        "--engine",
        "opa-server",
        "--opa-url",
        dead,
        "--opa-retries",
        "0",
        env=env,
    )
    assert run.code == 3, run.stderr
    return log


def audit(*args: str | Path) -> tuple[int, str, str]:
    run = run_gate("audit", *args)
    return run.code, run.stdout, run.stderr


def test_check_reports_the_record_in_its_decision(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    run = run_gate(
        "check",
        EXAMPLE,
        "--config",
        CONFIG,
        "--env",
        "prod",
        "--format",
        "json",
        env={**keys.env(log), **PINNED},
    )
    assert run.code == 1
    field = run.json()["audit"]
    assert field["index"] == 0 and field["record"].startswith("sha256:") and field["signer"] == "local"
    assert (log / "records" / ("sha256-" + field["record"][7:] + ".json")).is_file()


def test_keygen_writes_private_keys_0600_and_never_overwrites(tmp_path: Path) -> None:
    code, out, _ = audit("keygen", "--out", tmp_path / "k")
    assert code == 0
    names = [Path(line).name for line in out.split()]
    assert names == ["audit.key", "audit.pub", "log.key", "log.pub"]
    for name in ("audit.key", "log.key"):
        assert stat.S_IMODE((tmp_path / "k" / name).stat().st_mode) == 0o600
    assert (tmp_path / "k" / "audit.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    code, _, err = audit("keygen", "--out", tmp_path / "k")
    assert code == 2 and "never overwrites" in err


def test_keygen_keys_sign_through_config_and_env(tmp_path: Path) -> None:
    assert audit("keygen", "--out", tmp_path / "k")[0] == 0
    config = yaml.safe_load(CONFIG.read_text())
    config["audit"] = {"log": "audit-log", "key": "k/audit.key", "log_key": "k/log.key"}
    config["waivers"] = str(CONFIG.parent / config["waivers"])
    cfg = tmp_path / "gate.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {**PINNED, "GATE_AUDIT_LOG": "", "GATE_SIGNING_KEY": "", "GATE_LOG_KEY": ""}
    assert run_gate("check", EXAMPLE, "--config", cfg, "--env", "dev", env=env).code == 0
    pub = tmp_path / "k" / "audit.pub"
    code, out, _ = audit(
        "verify", "--log", tmp_path / "audit-log", "--key", pub, "--log-key", tmp_path / "k" / "log.pub"
    )
    assert code == 0 and "1 records" in out
    # the config's audit.log_key (the writer's log.key) pins the same log key
    code, out, _ = audit("verify", "--log", tmp_path / "audit-log", "--key", pub, "--config", cfg)
    assert code == 0 and "1 records" in out


def test_walk_through_checkpoint_verify_list_show(walk: Path, keys: Keys, tmp_path: Path) -> None:
    code, checkpoint, _ = audit("checkpoint", "--log", walk, "--log-key", keys.log_pub)
    assert code == 0 and checkpoint.splitlines()[1] == "3"
    saved = tmp_path / "saved.checkpoint"
    saved.write_text(checkpoint)
    code, out, err = audit(
        "verify", "--log", walk, "--key", keys.pub, "--log-key", keys.log_pub, "--checkpoint", saved
    )
    root = checkpoint.splitlines()[2]
    assert code == 0 and out.strip().endswith(
        f"3 records, checkpoints, Merkle tree, signatures and files verified; tree size 3, root {root}"
    )
    assert err == ""  # bounded by the saved checkpoint: no warning

    code, out, _ = audit("list", "--log", walk, "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["environment"], r["outcome"]) for r in rows] == [
        ("prod", "block"),
        ("dev", "warn"),
        ("prod", "error"),
    ]
    assert (
        rows[0]["repository"] == "https://github.com/acme/payments-api"
        and rows[0]["service"] == "payments-api"
    )
    assert "SBOM-VULN-HIGH" in rows[0]["checks"] and "connection refused" in rows[2]["error"]

    code, out, _ = audit("list", "--log", walk, "--env", "prod", "--outcome", "block")
    assert code == 0 and out.splitlines()[-1] == "1 record(s)"
    assert audit("list", "--log", walk, "--check", "SBOM-VULN-HIGH")[1].splitlines()[-1] == "2 record(s)"
    assert audit("list", "--log", walk, "--since", "2026-11-24")[1].splitlines()[-1] == "0 record(s)"
    assert audit("list", "--log", walk, "--repository", "*/acme/*")[1].splitlines()[-1] == "3 record(s)"
    assert audit("list", "--log", walk, "--since", "yesterday")[0] == 2

    pins = ("--key", keys.pub, "--log-key", keys.log_pub)
    code, out, _ = audit("show", "--log", walk, "1", *pins)
    shown = json.loads(out)
    assert code == 0 and shown["index"] == 1 and shown["signer"].startswith("key ")
    assert shown["statement"]["predicate"]["https://govgate.dev/decision/v1"]["outcome"] == "warn"
    by_id = json.loads(audit("show", "--log", walk, shown["id"], *pins)[1])
    by_digest = json.loads(audit("show", "--log", walk, shown["record"][:20], *pins)[1])
    assert by_id == by_digest == shown


def test_verify_after_tampering_exits_1_and_names_the_problem(walk: Path, keys: Keys, tmp_path: Path) -> None:
    import shutil

    log = tmp_path / "log"
    shutil.copytree(walk, log)
    from audit import AuditLog

    record = log / "records" / ("sha256-" + AuditLog(log).entry(1).record[7:] + ".json")
    record.write_bytes(record.read_bytes().replace(b"DSSE", b"DSSe") + b" ")
    code, out, _ = audit("verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub)
    assert code == 1
    assert out.splitlines()[0] == (
        f"FAIL index 1: records/{record.name}: record modified: its digest is not the one the entry holds"
    )
    code, out, _ = audit(
        "verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub, "--format", "json"
    )
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["problems"][0]["index"] == 1


def test_verify_usage_errors_exit_2(tmp_path: Path, keys: Keys, walk: Path) -> None:
    pinned = ("--log-key", keys.log_pub)
    assert audit("verify", "--log", tmp_path / "none", "--key", keys.pub, *pinned)[0] == 2
    assert audit("verify", "--log", walk, "--identity", "no-equals-sign", *pinned)[0] == 2
    assert audit("verify", "--log", walk, "--key", tmp_path / "missing.pub", *pinned)[0] == 2
    assert audit("verify", "--log", walk, "--key", keys.pub, "--log-key", keys.pub)[0] == 2
    run = run_gate("audit", "verify", "--log", walk, *pinned, cwd=tmp_path)
    assert run.code == 2 and "--key" in run.stderr and run.stderr.count("\n") == 1


def test_replay_lists_decisions_a_stricter_config_would_change(walk: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    config["waivers"] = str(CONFIG.parent / config["waivers"])
    same = tmp_path / "same.yaml"
    same.write_text(yaml.safe_dump(config))
    code, out, _ = audit("replay", "--log", walk, "--config", same)
    # under the same config only the decision the dead OPA server turned into an error changes
    assert code == 1, out
    assert out.splitlines()[0] == "index 2 (prod): error -> block"
    assert out.splitlines()[-1] == "3 decisions replayed, 1 would change (error -> block: 1)"
    config["environments"] = {
        "dev": {"critical": "block", "high": "block", "medium": "block", "low": "block"}
    }
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(yaml.safe_dump(config))
    code, out, _ = audit("replay", "--log", walk, "--config", stricter, "--format", "json")
    result = json.loads(out)
    assert code == 1
    moved = {(c["index"], c["before"], c["after"]) for c in result["changes"]}
    assert (1, "warn", "block") in moved and result["transitions"]["warn -> block"] == 1


def test_no_audit_is_refused_where_the_environment_blocks(tmp_path: Path) -> None:
    run = run_gate("check", EXAMPLE, "--config", CONFIG, "--env", "prod", "--no-audit", env=PINNED)
    assert run.code == 2 and "--no-audit is refused in 'prod'" in run.stderr
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", "dev", "--no-audit", "--format", "json", env=PINNED
    )
    assert run.code == 0 and run.json()["audit"] is None and "no-audit" in run.stderr
    config = yaml.safe_load(CONFIG.read_text())
    config["waivers"] = str(CONFIG.parent / config["waivers"])
    config["audit"] = {"allow_no_audit": True}
    cfg = tmp_path / "gate.yaml"
    cfg.write_text(yaml.safe_dump(config))
    waivers_pin = {"GATE_WAIVERS_DIGEST": example_pins()["GATE_WAIVERS_DIGEST"]}
    run = run_gate("check", EXAMPLE, "--config", cfg, "--env", "prod", "--no-audit", env=PINNED | waivers_pin)
    assert run.code == 1, run.stderr


def test_a_signer_that_cannot_sign_fails_closed_where_the_environment_blocks() -> None:
    args = ("check", EXAMPLE, "--config", CONFIG, "--signer", "sigstore", "--format", "json")
    run = run_gate(*args, "--env", "prod", env=PINNED)
    assert run.code == 3
    assert run.json()["outcome"] == "error"
    assert "audit record not written: sigstore signing needs an OIDC token" in run.stderr
    run = run_gate(*args, "--env", "dev", env=PINNED)
    assert run.code == 0 and run.json()["outcome"] == "warn" and run.json()["audit"] is None
    assert "warning: audit record not written" in run.stderr


def test_an_unwritable_log_fails_closed_in_prod(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = run_gate(
        "check",
        EXAMPLE,
        "--config",
        CONFIG,
        "--env",
        "prod",
        env={**PINNED, "GATE_AUDIT_LOG": str(blocker / "log")},
    )
    assert run.code == 3 and "cannot open the log" in run.stderr


def test_bad_signing_key_in_the_environment(tmp_path: Path) -> None:
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", "prod", env={**PINNED, "GATE_SIGNING_KEY": "nope"}
    )
    assert run.code == 3 and "GATE_SIGNING_KEY: not a usable PEM private key" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_walk_through_in_a_fresh_folder(tmp_path: Path) -> None:
    """The commands of docs/audit/walk-through.md and the verify cases docs/audit/log.md describes,
    in a fresh folder: default keys (in the user's data folder) and log created on first use."""
    data = tmp_path / "home" / ".local" / "share"
    keys = data / "govgate" / "keys"
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **PINNED,
        "GATE_AUDIT_LOG": "",
        "GATE_SIGNING_KEY": "",
        "GATE_LOG_KEY": "",
        "XDG_DATA_HOME": str(data),
    }

    def gate(*args: str | Path) -> tuple[int, str, str]:
        run = run_gate(*args, cwd=work, env=env)
        return run.code, run.stdout, run.stderr

    code, _, err = gate("check", EXAMPLE, "--config", CONFIG, "--env", "dev")
    assert code == 0
    assert f"created a signing key for audit records at {keys / 'audit.key'}" in err
    code, _, err = gate("check", EXAMPLE, "--config", CONFIG, "--env", "prod")
    assert code == 1 and "created" not in err
    assert (keys / "log.pub").is_file()  # beside log.key, for the auditor
    assert not (work / ".gate" / "keys").exists()  # nothing secret in the working tree
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    pins = ("--key", str(keys / "audit.pub"), "--log-key", str(keys / "log.pub"))
    code, checkpoint, _ = gate("audit", "checkpoint", "--log-key", keys / "log.pub")
    (work / "saved.checkpoint").write_text(checkpoint)
    code, out, err = gate("audit", "verify", *pins, "--checkpoint", "saved.checkpoint")
    root = checkpoint.splitlines()[2]
    assert code == 0 and out == (
        "OK: .gate/audit: 2 records, checkpoints, Merkle tree, signatures and files verified; "
        f"tree size 2, root {root}\n"
    )
    assert err == ""
    code, out, err = gate("audit", "verify", *pins)
    assert code == 0 and err.startswith("gate: warning: nothing bounds .gate/audit from below")
    code, out, _ = gate("audit", "verify", *pins, "--expect-size", "3")
    assert code == 1 and "FAIL --expect-size: log truncated or rolled back: 3 entries expected" in out
    code, out, _ = gate("audit", "list", "--env", "prod", "--outcome", "block")
    assert code == 0 and out.splitlines()[-1] == "1 record(s)"
    code, out, _ = gate("audit", "show", "1", *pins)
    assert code == 0 and json.loads(out)["index"] == 1
    code, out, _ = gate("audit", "replay", "--config", ROOT / "examples" / "gate-next.yaml")
    assert code == 1
    assert out.splitlines()[0] == "index 0 (dev): warn -> block"
    assert out.splitlines()[-1] == "2 decisions replayed, 2 would change (warn -> block: 1)"


def test_refused_input_is_recorded_as_an_error(tmp_path: Path, keys: Keys) -> None:
    log = tmp_path / "log"
    bad = tmp_path / "sbom.cdx.json"
    bad.write_text('{"bomFormat": "CycloneDX", ')
    run = run_gate("check", bad, "--env", "prod", env={**keys.env(log), **PINNED})
    assert run.code == 2 and run.stderr.count("\n") == 1 and str(bad) in run.stderr
    code, out, _ = audit("list", "--log", log, "--format", "json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["outcome"] == "error" and str(bad) in row["error"]
    code, out, _ = audit("replay", "--log", log, "--config", CONFIG)
    assert code == 0 and "skipped index 0: no stored input" in out
    assert audit("verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub)[0] == 0
