"""Bundles sigstore-python refuses but cosign and sigstore-go verify offline: key-signed bundles
(checked with `signatures.keys`), v0.1/v0.2 bundles proven by a signed entry timestamp without an
inclusion proof, and intoto/0.0.2 log entries; and the bundles the gate cannot judge.

A public Rekor cannot be reached: every bundle is generated here against a locally generated trust
root (a test CA and a test Rekor key, tests/gate/collect/sigstore_material.py), the accepted
stand-in. The shapes are those of cosign's and sigstore-go's test data.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gate.collect import sigstore_bundle
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import parse_file
from gate.schemas import compile_schema
from tests.gate.collect import sigstore_material as sm
from tests.helpers import run_gate, write_yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/signature"})
ARTIFACT = b"release tarball\n"


@pytest.fixture(scope="module")
def log() -> sm.LocalSigstore:
    return sm.LocalSigstore()


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def settings_for(tmp_path: Path, log: sm.LocalSigstore, *keys: ec.EllipticCurvePrivateKey) -> CollectSettings:
    root = log.write_root(tmp_path / "trust" / "trusted_root.json")
    paths = tuple(sm.write_key(tmp_path / "trust" / f"key{n}.pub", k) for n, k in enumerate(keys))
    return CollectSettings(trust_root=str(root), keys=paths)


def collect(
    tmp_path: Path, bundle: dict[str, Any], settings: CollectSettings, artifact: bytes = ARTIFACT
) -> dict[str, Any]:
    (tmp_path / "app.tgz").write_bytes(artifact)
    path = tmp_path / "app.tgz.sigstore.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    parsed = parse_file(path)
    assert sigstore_bundle.recognise(parsed)
    [item] = sigstore_bundle.collect(parsed, settings)["signatures"]
    ITEM.validate(item)
    return item


@pytest.mark.parametrize("version", ["0.1"])
def test_key_signed_bundle_verifies_with_the_configured_key(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey, version: str
) -> None:
    settings = settings_for(tmp_path, log, ec.generate_private_key(ec.SECP256R1()), key)
    item = collect(tmp_path, sm.message_bundle(ARTIFACT, key, log, version=version), settings)
    assert item["verified"] is True, item["error"]
    assert item["status"] == "verified"
    assert item["key"] == str(settings.keys[1])
    assert item["tlog_entries"] == [
        {"log_index": 7, "integrated_time": sm.INTEGRATED, "kind": "hashedrekord/0.0.1"}
    ]


def test_key_signed_bundle_without_log_entry_verifies_by_key(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    item = collect(tmp_path, sm.message_bundle(ARTIFACT, key, None), settings_for(tmp_path, log, key))
    assert item["verified"] is True, item["error"]
    assert item["tlog_entries"] == []


def test_key_signed_bundle_without_configured_keys_is_key_unknown(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    item = collect(tmp_path, sm.message_bundle(ARTIFACT, key, log), settings_for(tmp_path, log))
    assert item["verified"] is False
    assert item["status"] == "key-unknown"
    assert item["error"].startswith("could not be verified: the bundle is signed with a public key")
    assert "signatures.keys" in item["error"]


def test_tampered_artifact_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    item = collect(
        tmp_path, sm.message_bundle(ARTIFACT, key, log), settings_for(tmp_path, log, key), b"evil\n"
    )
    assert item["verified"] is False
    assert item["status"] == "failed"
    assert item["error"].startswith("verification failed:")


def test_signature_by_another_key_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    item = collect(tmp_path, sm.message_bundle(ARTIFACT, other, log), settings_for(tmp_path, log, key))
    assert item["status"] == "failed"
    assert "does not verify with the key in signatures.keys" in item["error"]


def test_forged_signed_entry_timestamp_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    bundle = sm.message_bundle(ARTIFACT, key, sm.LocalSigstore())  # logged by another, untrusted log
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["status"] == "failed"
    assert "signed entry timestamp does not verify" in item["error"]

    bundle = sm.message_bundle(ARTIFACT, key, log)
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(sm.INTEGRATED + 1)  # the SET covers the time
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["status"] == "failed"
    assert "signed entry timestamp does not verify" in item["error"]


def test_log_entry_of_another_signing_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    bundle = sm.message_bundle(ARTIFACT, key, log, logged_key=other)
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["status"] == "failed"
    assert "does not record this signature, key and digest" in item["error"]


@pytest.mark.parametrize("kind", ["dsse", "intoto"])
def test_key_signed_dsse_bundle_with_dsse_or_intoto_entry(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey, kind: str
) -> None:
    sha = hashlib.sha256(ARTIFACT).hexdigest()
    bundle = sm.dsse_bundle(sm.statement("app.tgz", sha), key, log, kind=kind)
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["verified"] is True, item["error"]
    assert item["artifact"]["sha256"] == sha

    env = bundle["dsseEnvelope"]
    env["payload"] = base64.b64encode(json.dumps(sm.statement("app.tgz", "0" * 64)).encode()).decode()
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["status"] == "failed"


def test_entry_kind_the_gate_cannot_match_is_unverifiable(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    bundle = sm.message_bundle(ARTIFACT, key, None)
    body = {"apiVersion": "0.0.1", "kind": "rekord", "spec": {"signature": {"format": "x509"}}}
    bundle["verificationMaterial"]["tlogEntries"] = [log.entry(body)]
    item = collect(tmp_path, bundle, settings_for(tmp_path, log, key))
    assert item["verified"] is False
    assert item["status"] == "unverifiable"
    assert item["error"].startswith("could not be verified: its log entry is of kind rekord/0.0.1")
    assert "cosign verify-blob" in item["error"] and "sigstore-go" in item["error"]


def test_bundle_that_does_not_load_is_said_in_words(tmp_path: Path, log: sm.LocalSigstore) -> None:
    path = tmp_path / "app.tgz.sigstore.json"
    bundle = sm.message_bundle(ARTIFACT, ec.generate_private_key(ec.SECP256R1()), log, version="0.3")
    bundle["verificationMaterial"] = {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": [{"logIndex": "1"}]}
    item = collect(tmp_path, bundle, settings_for(tmp_path, log))
    assert item["status"] == "failed"
    assert item["error"].startswith("bundle does not load: the bundle's verificationMaterial.tlogEntries[0]")
    for noise in ("validation error", "input_value", "pydantic", "[type="):
        assert noise not in item["error"]
    assert path.exists()


def test_a_key_file_that_is_not_a_key_is_a_collect_error(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    bad = tmp_path / "trust" / "bad.pub"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("not a key\n")
    settings = CollectSettings(trust_root=str(log.write_root(tmp_path / "trust" / "root.json")), keys=(bad,))
    with pytest.raises(CollectError) as info:
        collect(tmp_path, sm.message_bundle(ARTIFACT, key, log), settings)
    assert "is not a PEM public key" in info.value.message
    assert info.value.path == str(bad)
    missing = CollectSettings(keys=(tmp_path / "missing.pub",))
    with pytest.raises(CollectError, match="cannot read"):
        collect(tmp_path, sm.message_bundle(ARTIFACT, key, None), missing)


def test_original_bundle_is_not_modified(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    bundle = sm.message_bundle(ARTIFACT, key, log)
    before = copy.deepcopy(bundle)
    sigstore_bundle.judge(bundle, settings_for(tmp_path, log, key), hashlib.sha256(ARTIFACT).hexdigest())
    assert bundle == before


# --- keyless bundles proven by a signed entry timestamp, without an inclusion proof ---------------


def test_keyless_v01_bundle_with_a_set_and_no_inclusion_proof_verifies(
    tmp_path: Path, log: sm.LocalSigstore
) -> None:
    item = collect(tmp_path, sm.keyless_message_bundle(ARTIFACT, log), settings_for(tmp_path, log))
    assert item["verified"] is True, item["error"]
    assert item["identity"] == {"san": sm.RELEASE, "issuer": sm.ACTIONS}


def test_from_v02_on_a_set_alone_does_not_prove_a_bundle(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    """As sigstore-go and the conformance suite require: v0.2+ bundles carry an inclusion proof."""
    item = collect(
        tmp_path, sm.keyless_message_bundle(ARTIFACT, log, version="0.2"), settings_for(tmp_path, log)
    )
    assert item["status"] == "failed"
    assert item["error"].startswith("bundle does not load:")
    item = collect(
        tmp_path, sm.message_bundle(ARTIFACT, key, log, version="0.2"), settings_for(tmp_path, log, key)
    )
    assert item["error"] == (
        "bundle does not load: a v0.2 or later bundle must carry an inclusion proof, and this one has none"
    )


def test_keyless_bundle_from_another_ca_is_proven_wrong(tmp_path: Path, log: sm.LocalSigstore) -> None:
    other = sm.LocalSigstore()
    bundle = sm.keyless_message_bundle(ARTIFACT, other, version="0.1")
    # Logged by the trusted log, but certified by another CA.
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    bundle["verificationMaterial"]["tlogEntries"] = [log.entry(body)]
    item = collect(tmp_path, bundle, settings_for(tmp_path, log))
    assert item["status"] == "failed"
    assert "does not chain to the trust root" in item["error"]


def test_keyless_bundle_over_a_changed_artifact_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore
) -> None:
    item = collect(
        tmp_path, sm.keyless_message_bundle(ARTIFACT, log), settings_for(tmp_path, log), b"changed\n"
    )
    assert item["status"] == "failed"
    assert "digest mismatch" in item["error"]


def test_keyless_bundle_outside_the_certificate_validity_is_proven_wrong(
    tmp_path: Path, log: sm.LocalSigstore
) -> None:
    bundle = sm.keyless_message_bundle(ARTIFACT, log)
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    bundle["verificationMaterial"]["tlogEntries"] = [log.entry(body, integrated=sm.INTEGRATED + 3600)]
    item = collect(tmp_path, bundle, settings_for(tmp_path, log))
    assert item["status"] == "failed"
    assert "not valid at the time of signing" in item["error"]


def test_keyless_dsse_bundle_with_intoto_entry_verifies(tmp_path: Path, log: sm.LocalSigstore) -> None:
    sha = hashlib.sha256(ARTIFACT).hexdigest()
    bundle = sm.keyless_dsse_bundle(sm.statement("app.tgz", sha), log)
    item = collect(tmp_path, bundle, settings_for(tmp_path, log))
    assert item["verified"] is True, item["error"]
    assert item["tlog_entries"][0]["kind"] == "intoto/0.0.2"


def test_v03_bundle_without_inclusion_proof_is_not_taken_on_its_set(
    tmp_path: Path, log: sm.LocalSigstore
) -> None:
    item = collect(
        tmp_path, sm.keyless_message_bundle(ARTIFACT, log, version="0.3"), settings_for(tmp_path, log)
    )
    assert item["status"] == "failed"
    assert (
        item["error"]
        == "bundle does not load: the bundle's verificationMaterial.tlogEntries[0].inclusionProof is missing"
    )


# --- through the CLI: identity policy ------------------------------------------------------------


def _check(tmp_path: Path, bundle: dict[str, Any], signatures: dict[str, Any]) -> dict[str, Any]:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "app.tgz").write_bytes(ARTIFACT)
    (repo / "app.tgz.sigstore.json").write_text(json.dumps(bundle), encoding="utf-8")
    config = write_yaml(tmp_path / "ci" / "gate.yaml", {"signatures": signatures})
    run = run_gate("check", repo, "--config", config, "--env", "prod", "--format", "json", cwd=repo)
    assert run.code in (0, 1), run.stderr
    decision: dict[str, Any] = run.json()
    return decision


def test_verified_signature_without_identities_is_reported(tmp_path: Path, log: sm.LocalSigstore) -> None:
    root = log.write_root(tmp_path / "ci" / "trusted_root.json")
    decision = _check(tmp_path, sm.keyless_message_bundle(ARTIFACT, log), {"trust_root": str(root)})
    found = {f["check"]: f for f in decision["findings"]}
    assert set(found) == {"SIG-IDENTITY-UNCONFIGURED"}
    assert found["SIG-IDENTITY-UNCONFIGURED"]["severity"] == "high"
    assert found["SIG-IDENTITY-UNCONFIGURED"]["action"] == "block"
    assert sm.RELEASE in found["SIG-IDENTITY-UNCONFIGURED"]["message"]

    identities = [{"issuer": sm.ACTIONS, "san_regex": "^https://github\\.com/acme/"}]
    decision = _check(
        tmp_path,
        sm.keyless_message_bundle(ARTIFACT, log),
        {"trust_root": str(root), "identities": identities},
    )
    assert decision["findings"] == [] and decision["outcome"] == "pass"


def test_key_signed_bundle_verified_with_a_configured_key_passes(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    root = log.write_root(tmp_path / "ci" / "trusted_root.json")
    sm.write_key(tmp_path / "ci" / "release.pub", key)
    identities = [{"issuer": sm.ACTIONS, "san_regex": "^https://github\\.com/acme/"}]
    signatures = {"trust_root": str(root), "keys": ["release.pub"], "identities": identities}
    decision = _check(tmp_path, sm.message_bundle(ARTIFACT, key, log), signatures)
    assert decision["findings"] == [] and decision["outcome"] == "pass"


def test_unverifiable_bundle_is_not_reported_as_tampered(
    tmp_path: Path, log: sm.LocalSigstore, key: ec.EllipticCurvePrivateKey
) -> None:
    root = log.write_root(tmp_path / "ci" / "trusted_root.json")
    decision = _check(tmp_path, sm.message_bundle(ARTIFACT, key, log), {"trust_root": str(root)})
    [finding] = decision["findings"]
    assert finding["check"] == "SIG-UNVERIFIABLE"
    assert "could not be verified" in finding["message"]
    assert "Re-sign" not in finding["remediation"]
    assert "signatures.keys" in finding["remediation"]


def test_a_key_in_the_checkout_is_refused_where_the_environment_blocks(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    repo = tmp_path / "repo"
    sm.write_key(repo / "keys" / "release.pub", key)
    (repo / "app.tgz").write_bytes(ARTIFACT)
    (repo / "app.tgz.sigstore.json").write_text(
        json.dumps(sm.message_bundle(ARTIFACT, key, None)), encoding="utf-8"
    )
    config = write_yaml(
        tmp_path / "ci" / "gate.yaml", {"signatures": {"keys": [str(repo / "keys" / "release.pub")]}}
    )
    run = run_gate("check", repo, "--config", config, "--env", "prod", cwd=repo)
    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert "release.pub" in line and "working tree" in line
