"""Records `gate check` writes, verified as stored by the ecosystem's own verifiers: cosign v2 and v3
(`verify-blob-attestation --bundle`) and slsa-verifier (`verify-vsa` on the envelope `gate audit
export --envelope` writes). The tools are pinned and installed by scripts/install-tools.sh; in CI
these tests never skip."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit.envelope import key_bundle
from audit.keys import RecordKey, legacy_keyid_of
from audit.signer import LocalSigner
from tests.audit.logs import Keys, make_keys, make_log
from tests.helpers import ROOT, require_binary, run_gate

VSA_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://govgate.dev/gate"
EXAMPLE = ROOT / "examples" / "payments-api"
# A trusted root with no authority in it: cosign v2 reads the new bundle format only with a trusted
# root, and would otherwise fetch the public-good one over TUF; a key-signed record needs none.
EMPTY_TRUSTED_ROOT = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}


@dataclass(frozen=True)
class Checked:
    """A log written by real `gate check` runs over a checkout of the example service."""

    log: Path
    keys: Keys
    repo: Path
    config: Path

    def record_file(self, index: int, tmp_path: Path) -> Path:
        """The stored bundle of entry `index`, byte for byte, written by `gate audit export`."""
        return export(self.log, index, tmp_path / f"record-{index}.json")

    def envelope(self, index: int, tmp_path: Path) -> Path:
        """The bare DSSE envelope of entry `index`, written by `gate audit export --envelope`."""
        return export(self.log, index, tmp_path / f"record-{index}.dsse.json", "--envelope")


def export(log: Path, index: int, out: Path, *form: str) -> Path:
    """`gate audit export INDEX --log LOG [FORM] --out OUT`."""
    run = run_gate("audit", "export", str(index), "--log", log, *form, "--out", out)
    assert run.code == 0, run.stderr
    return out


def _check(tmp_path: Path, config_text: str | None = None) -> Checked:
    """A git checkout of the example service (the repository under review) and the example config
    outside it (a trusted place); one check in dev (WARN: PASSED) and one in prod (BLOCK: FAILED)."""
    trusted = tmp_path / "trusted"
    shutil.copytree(ROOT / "examples", trusted)
    if config_text is not None:
        (trusted / "gate.yaml").write_text(config_text, encoding="utf-8")
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    env = {**keys.env(log), "GATE_TIME": "2026-11-23T12:00:00Z"}
    config = trusted / "gate.yaml"
    for environment, code in (("dev", 0), ("prod", 1)):
        run = run_gate("check", ".", "--config", config, "--env", environment, cwd=repo, env=env)
        assert run.code == code, run.stderr
    return Checked(log, keys, repo, config)


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    """The log of the example's two checks, shared by the tests that only read it."""
    return _check(tmp_path_factory.mktemp("checked"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cosign(
    tool: str, checked: Checked, index: int, subject: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    binary = require_binary(tool)
    args = [
        binary,
        "verify-blob-attestation",
        "--key",
        str(checked.keys.pub),
        "--insecure-ignore-tlog",
        "--type",
        VSA_TYPE,
        "--bundle",
        str(checked.record_file(index, tmp_path)),
    ]
    if tool == "cosign-v2":
        root = tmp_path / "empty-trusted-root.json"
        root.write_text(json.dumps(EMPTY_TRUSTED_ROOT), encoding="utf-8")
        args += ["--trusted-root", str(root)]
    # No network: a TUF cache of the test's own, and no sigstore instance is asked anything.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TUF_ROOT": str(tmp_path / "tuf")}
    return subprocess.run(
        [*args, str(subject)], capture_output=True, text=True, timeout=300, env=env, check=False
    )


@pytest.mark.parametrize("tool", ["cosign-v2", "cosign-v3"])
@pytest.mark.parametrize("index", [0, 1], ids=["passed", "blocked"])
def test_cosign_verifies_a_record_as_stored(checked: Checked, tool: str, index: int, tmp_path: Path) -> None:
    subject = checked.repo / "catalog-info.yaml"
    run = _cosign(tool, checked, index, subject, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Verified OK" in run.stderr


@pytest.mark.parametrize("tool", ["cosign-v2", "cosign-v3"])
def test_cosign_refuses_a_file_the_record_does_not_name(checked: Checked, tool: str, tmp_path: Path) -> None:
    stranger = tmp_path / "catalog-info.yaml"
    stranger.write_text((checked.repo / "catalog-info.yaml").read_text(encoding="utf-8") + "# edited\n")
    run = _cosign(tool, checked, 0, stranger, tmp_path)
    assert run.returncode != 0


def _verify_vsa(
    envelope: Path, keys: Keys, digest: str, uri: str, *levels: str
) -> subprocess.CompletedProcess[str]:
    args = [
        require_binary("slsa-verifier"),
        "verify-vsa",
        "--attestation-path",
        str(envelope),
        "--public-key-path",
        str(keys.pub),
        "--subject-digest",
        f"sha256:{digest}",
        "--verifier-id",
        VERIFIER_ID,
        "--resource-uri",
        uri,
    ]
    for level in levels:
        args += ["--verified-level", level]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)


def test_slsa_verifier_passes_a_passed_decision(checked: Checked, tmp_path: Path) -> None:
    envelope = checked.envelope(0, tmp_path)
    digest = _sha256(checked.repo / "sbom.cdx.json")
    run = _verify_vsa(
        envelope, checked.keys, digest, "govgate:service/payments-api?env=dev", "GOVGATE_DEV_PASSED"
    )
    assert run.returncode == 0, run.stderr
    assert "Verifying VSA: PASSED" in run.stderr


def test_slsa_verifier_answers_failed_for_a_blocked_decision(checked: Checked, tmp_path: Path) -> None:
    envelope = checked.envelope(1, tmp_path)
    digest = _sha256(checked.repo / "sbom.cdx.json")
    run = _verify_vsa(envelope, checked.keys, digest, "govgate:service/payments-api?env=prod")
    assert run.returncode != 0
    # the signature, subject, verifier and resource hold: what fails is the result itself
    assert "Verifying VSA: FAILED" in run.stderr
    assert "verification result is not Passed: FAILED" in run.stderr


def test_slsa_verifier_refuses_a_pass_for_another_environment_or_level(
    checked: Checked, tmp_path: Path
) -> None:
    envelope = checked.envelope(0, tmp_path)
    digest = _sha256(checked.repo / "sbom.cdx.json")
    prod = _verify_vsa(envelope, checked.keys, digest, "govgate:service/payments-api?env=prod")
    assert prod.returncode != 0 and "resource URI mismatch" in prod.stderr
    level = _verify_vsa(
        envelope, checked.keys, digest, "govgate:service/payments-api?env=dev", "GOVGATE_PROD_PASSED"
    )
    assert level.returncode != 0 and "expected verified level not found" in level.stderr


def test_slsa_verifier_checks_the_levels_the_config_names(tmp_path: Path) -> None:
    config = (ROOT / "examples" / "gate.yaml").read_text(encoding="utf-8")
    config += "audit:\n  verified_levels:\n    dev: [ACME_DEV_READY, SLSA_BUILD_LEVEL_1]\n"
    checked = _check(tmp_path, config)
    envelope = checked.envelope(0, tmp_path)
    digest = _sha256(checked.repo / "template.yaml")
    uri = "govgate:service/payments-api?env=dev"
    run = _verify_vsa(envelope, checked.keys, digest, uri, "ACME_DEV_READY", "SLSA_BUILD_LEVEL_1")
    assert run.returncode == 0, run.stderr
    default = _verify_vsa(envelope, checked.keys, digest, uri, "GOVGATE_DEV_PASSED")
    assert default.returncode != 0


def _legacy_sign(self: LocalSigner, payload: bytes) -> dict[str, object]:
    """How records were signed before their keyid followed go-securesystemslib: the hex sha256
    of the key's SPKI, as both the signature's keyid and the bundle's hint."""
    from audit.envelope import pae
    from audit.record import PAYLOAD_TYPE

    key: RecordKey = self.key
    legacy = legacy_keyid_of(key.private.public_key())
    return key_bundle(PAYLOAD_TYPE, payload, key.sign(pae(PAYLOAD_TYPE, payload)), legacy, legacy)


def test_records_written_with_the_old_keyid_keep_verifying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = make_keys(tmp_path / "keys")
    log = tmp_path / "log"
    with monkeypatch.context() as patch:
        patch.setattr(LocalSigner, "sign", _legacy_sign)
        make_log(log, keys, 2)
    old = json.loads(export(log, 0, tmp_path / "old.json").read_text(encoding="utf-8"))
    keyid = old["dsseEnvelope"]["signatures"][0]["keyid"]
    assert len(keyid) == 64 and old["verificationMaterial"]["publicKey"]["hint"] == keyid
    # the log grows with records signed the new way, by the same key
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    run = run_gate(
        "check", ".", "--config", ROOT / "examples" / "gate.yaml", "--env", "dev", cwd=repo, env=keys.env(log)
    )
    assert run.code == 0, run.stderr
    verify = run_gate("audit", "verify", "--log", log, "--key", keys.pub, "--log-key", keys.log_pub)
    assert verify.code == 0, verify.stderr
    assert "3 records" in verify.stdout
    bundle = json.loads(export(log, 2, tmp_path / "new.json").read_text(encoding="utf-8"))
    assert bundle["dsseEnvelope"]["signatures"][0]["keyid"].startswith("SHA256:")


def test_export_writes_the_envelope_and_the_bundle(checked: Checked, tmp_path: Path) -> None:
    from audit.log import AuditLog

    log = AuditLog(checked.log)
    stored = log.record(log.entry(0).record)
    record = checked.record_file(0, tmp_path)
    assert record.read_bytes() == stored  # as stored: the file's digest is the record's
    envelope = json.loads(checked.envelope(0, tmp_path).read_text(encoding="utf-8"))
    assert envelope == json.loads(stored)["dsseEnvelope"]
    assert set(envelope) == {"payloadType", "payload", "signatures"}
    by_file = run_gate("audit", "export", record, "--envelope")
    assert by_file.code == 0 and json.loads(by_file.stdout) == envelope
    assert run_gate("audit", "export", record).stdout.encode() == stored


def test_export_refuses_what_is_not_a_record(tmp_path: Path) -> None:
    bad = tmp_path / "record.json"
    bad.write_text('{"mediaType": "x"}', encoding="utf-8")
    run = run_gate("audit", "export", bad, "--envelope")
    assert run.code == 2 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and str(bad) in run.stderr and "sigstore bundle" in run.stderr
    missing = run_gate("audit", "export", "7", "--log", tmp_path / "nolog", "--envelope")
    assert missing.code == 2 and "not a govgate audit log" in missing.stderr
