"""What a record's statement names, from real `gate check` runs: subjects by repository-relative
path (never a runner's absolute path), a refused input's real digest, the resourceUri and the
verifiedLevels, and the `audit.verified_levels` config key."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from audit.log import AuditLog
from audit.record import REFUSAL_SUBJECT
from audit.verify import Trust, verify_record
from gate.audit_step import subject_name
from tests.audit.logs import Keys, make_keys
from tests.helpers import ROOT, run_gate

EXAMPLE = ROOT / "examples" / "payments-api"
TIME = {"GATE_TIME": "2026-11-23T12:00:00Z"}


def _statement(log: Path, keys: Keys, index: int) -> dict[str, Any]:
    from audit.keys import load_public_key

    audit = AuditLog(log)
    data = audit.record(audit.entry(index).record)
    return verify_record(data, Trust(keys=(load_public_key(keys.pub),))).statement


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "checkout"
    shutil.copytree(EXAMPLE, repo / "services" / "payments-api")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_subjects_are_named_relative_to_the_checkout_wherever_the_gate_runs(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    env = {**keys.env(log), **TIME}
    service = repo / "services" / "payments-api"
    sbom = tmp_path / "job-temp" / "sbom.cdx.json"  # made outside the checkout, e.g. in RUNNER_TEMP
    sbom.parent.mkdir()
    shutil.copy(service / "sbom.cdx.json", sbom)
    config = ROOT / "examples" / "gate.yaml"
    # from the service's folder, with relative paths; from the checkout's top, with absolute ones
    runs = [
        (service, ["catalog-info.yaml", "template.yaml", str(sbom)]),
        (repo, [str(service / "catalog-info.yaml"), str(service / "template.yaml"), str(sbom)]),
    ]
    for cwd, paths in runs:
        run = run_gate("check", *paths, "--config", config, "--env", "dev", cwd=cwd, env=env)
        assert run.code == 0, run.stderr
    first, second = (_statement(log, keys, i)["subject"] for i in (0, 1))
    assert first == second
    names = [s["name"] for s in first]
    assert names == [
        "sbom.cdx.json",
        "services/payments-api/catalog-info.yaml",
        "services/payments-api/template.yaml",
    ]
    assert not any(str(tmp_path) in name or name.startswith("/") for name in names)
    digests = {s["name"]: s["digest"]["sha256"] for s in first}
    sha = hashlib.sha256((service / "catalog-info.yaml").read_bytes()).hexdigest()
    assert digests["services/payments-api/catalog-info.yaml"] == sha


def test_subject_name_rules(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.yaml").write_text("x")
    assert subject_name("a.yaml", root, root / "sub") == "sub/a.yaml"
    assert subject_name(str(root / "sub" / "a.yaml"), root, tmp_path) == "sub/a.yaml"
    assert subject_name("../sub/a.yaml", root, root / "sub") == "sub/a.yaml"
    assert subject_name("/elsewhere/runner/sbom.json", root, root) == "sbom.json"
    assert subject_name("stdin", root, root) == "stdin"


def test_a_refused_file_is_the_refusal_records_subject(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    broken = repo / "services" / "payments-api" / "catalog-info.yaml"
    broken.write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x\n")
    run = run_gate("check", broken, "--env", "dev", cwd=repo, env={**keys.env(log), **TIME})
    assert run.code == 2, run.stderr
    statement = _statement(log, keys, 0)
    assert statement["subject"] == [
        {
            "name": "services/payments-api/catalog-info.yaml",
            "digest": {"sha256": hashlib.sha256(broken.read_bytes()).hexdigest()},
        }
    ]
    predicate = statement["predicate"]
    assert predicate["verificationResult"] == "FAILED" and predicate["verifiedLevels"] == ["FAILED"]


def test_a_refusal_that_read_no_file_names_its_reason(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    run = run_gate("check", ".", "--env", "prod", cwd=empty, env={**keys.env(log), **TIME})
    assert run.code == 2 and "nothing to check" in run.stderr
    statement = _statement(log, keys, 0)
    error = statement["predicate"]["https://govgate.dev/decision/v1"]["error"]
    assert statement["subject"] == [
        {"name": REFUSAL_SUBJECT, "digest": {"sha256": hashlib.sha256(error.encode()).hexdigest()}}
    ]
    assert statement["predicate"]["resourceUri"] == "govgate:refusal?env=prod"


def test_resource_uri_names_the_service_and_environment(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    env = {**keys.env(log), **TIME}
    config = ROOT / "examples" / "gate.yaml"
    service = repo / "services" / "payments-api"
    assert run_gate("check", service, "--config", config, "--env", "dev", cwd=repo, env=env).code == 0
    named = {**env, "GATE_SERVICE": "payments"}
    assert run_gate("check", service, "--config", config, "--env", "dev", cwd=repo, env=named).code == 0
    first, second = (_statement(log, keys, i)["predicate"] for i in (0, 1))
    # the one Backstage Component of the inputs, else the service the check was told
    assert first["resourceUri"] == "govgate:service/payments-api?env=dev"
    assert second["resourceUri"] == "govgate:service/payments?env=dev"
    assert first["verifiedLevels"] == ["GOVGATE_DEV_PASSED"]


def test_verified_levels_config_is_validated(tmp_path: Path) -> None:
    base = (ROOT / "examples" / "gate.yaml").read_text(encoding="utf-8")
    trusted = tmp_path / "trusted"
    shutil.copytree(ROOT / "examples", trusted)
    cases = {
        "    dev: [SLSA_GOVGATE_OK]\n": "SLSA_GOVGATE_OK",
        "    dev: [FAILED]\n": "FAILED",
        "    dev: []\n": "fewer than 1",
        "    staging-eu: [GOVGATE_OK]\n": "not configured",
    }
    for levels, said in cases.items():
        (trusted / "gate.yaml").write_text(base + "audit:\n  verified_levels:\n" + levels, encoding="utf-8")
        run = run_gate("check", EXAMPLE, "--config", trusted / "gate.yaml", "--env", "dev", "--no-audit")
        assert run.code == 2, (levels, run.stderr)
        assert said in run.stderr and "verified_levels" in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
