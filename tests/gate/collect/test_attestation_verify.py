"""Attestations carry a verification result: unsigned statements, DSSE envelopes checked with
`signatures.keys`, sigstore DSSE bundles verified as signatures are; and only verified provenance
satisfies `--require provenance` (PROV-VERIFIED says why the rest is not), through the real CLI.

A public Rekor cannot be reached: signed material is generated here against a locally generated
trust root (a test CA and a test Rekor key, tests/gate/collect/sigstore_material.py), the accepted
stand-in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gate.collect import attestation
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from gate.schemas import compile_schema
from tests.gate.collect import sigstore_material as sm
from tests.helpers import run_gate, write_yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/attestation"})
SHA = hashlib.sha256(b"app").hexdigest()
MALICIOUS = "https://github.com/acme/builder/.github/workflows/b.yml@refs/heads/malicious"


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def collect(path: Path, doc: Any, settings: CollectSettings | None = None) -> list[dict[str, Any]]:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    parsed = parse_file(path)
    assert attestation.recognise(parsed)
    items = attestation.collect(parsed, settings or CollectSettings())["attestations"]
    for item in items:
        ITEM.validate(item)
    return items


def test_bare_statement_is_unsigned(tmp_path: Path) -> None:
    [item] = collect(tmp_path / "prov.json", sm.statement("app.tgz", SHA, MALICIOUS))
    assert item["verified"] is False
    assert item["status"] == "unsigned"
    assert item["error"] == "it is a bare in-toto statement, with no signature"
    assert item["builder_id"] == MALICIOUS


def test_envelope_without_signatures_is_unsigned(tmp_path: Path) -> None:
    [item] = collect(tmp_path / "app.intoto.json", sm.envelope(sm.statement("app.tgz", SHA), None))
    assert item["status"] == "unsigned"


def test_envelope_signed_by_a_configured_key_verifies(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    pub = sm.write_key(tmp_path / "keys" / "release.pub", key)
    other = sm.write_key(tmp_path / "keys" / "other.pub", ec.generate_private_key(ec.SECP256R1()))
    line = json.dumps(sm.envelope(sm.statement("app.tgz", SHA), key))
    [item] = collect(tmp_path / "app.intoto.jsonl", line + "\n", CollectSettings(keys=(other, pub)))
    assert item["verified"] is True, item["error"]
    assert item["status"] == "verified"
    assert item["key"] == str(pub)


def test_envelope_without_configured_keys_is_key_unknown(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    [item] = collect(
        tmp_path / "app.intoto.json", sm.envelope(sm.statement("app.tgz", SHA), key, keyid="kms://k1")
    )
    assert item["verified"] is False
    assert item["status"] == "key-unknown"
    assert "(keyid kms://k1)" in item["error"] and "signatures.keys" in item["error"]


def test_tampered_envelope_is_signature_wrong(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pub = sm.write_key(tmp_path / "release.pub", key)
    env = sm.envelope(sm.statement("app.tgz", SHA), key)
    forged = sm.envelope(sm.statement("app.tgz", SHA, MALICIOUS), None)
    forged["signatures"] = env["signatures"]
    [item] = collect(tmp_path / "app.intoto.json", forged, CollectSettings(keys=(pub,)))
    assert item["status"] == "failed"
    assert item["error"].startswith("its DSSE signature does not verify with the key in signatures.keys")


def test_envelope_with_an_embedded_certificate_is_not_checked(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    env = sm.envelope(sm.statement("app.tgz", SHA, MALICIOUS), key)
    env["signatures"][0]["cert"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    [item] = collect(tmp_path / "app.intoto.json", env)
    assert item["status"] == "unverifiable"
    assert "slsa-verifier" in item["error"]


def test_sigstore_dsse_bundle_carries_its_verification(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    log = sm.LocalSigstore()
    root = log.write_root(tmp_path / "trust" / "trusted_root.json")
    pub = sm.write_key(tmp_path / "trust" / "release.pub", key)
    bundle = sm.dsse_bundle(sm.statement("app.tgz", SHA), key, log, kind="intoto")
    npm = {"attestations": [{"predicateType": sm.SLSA_V1, "bundle": bundle}]}
    [item] = collect(tmp_path / "npm.json", npm, CollectSettings(trust_root=str(root), keys=(pub,)))
    assert item["envelope"] == "sigstore-bundle"
    assert item["verified"] is True, item["error"]
    assert item["key"] == str(pub)
    [item] = collect(tmp_path / "npm.json", npm, CollectSettings(trust_root=str(root)))
    assert item["status"] == "key-unknown"


# --- through the CLI: what `--require provenance` accepts in prod --------------------------------


def _gate(tmp_path: Path, doc: str, keys: list[str]) -> tuple[int, dict[str, Any]]:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "app.intoto.jsonl").write_text(doc + "\n", encoding="utf-8")
    config = write_yaml(
        tmp_path / "ci" / "gate.yaml",
        {"require": ["provenance"], "signatures": {"keys": keys}},
    )
    run = run_gate(
        "check", repo, "--config", config, "--env", "prod", "--format", "json", cwd=repo
    )  # fmt: skip
    assert run.code in (0, 1), run.stderr
    return run.code, run.json()


def test_unsigned_provenance_does_not_satisfy_require_in_prod(tmp_path: Path) -> None:
    code, decision = _gate(tmp_path, json.dumps(sm.statement("app.tgz", SHA, MALICIOUS)), [])
    assert code == 1
    assert decision["outcome"] == "block"
    found = {f["check"]: f for f in decision["findings"]}
    assert found["PROV-VERIFIED"]["action"] == "block"
    assert found["PROV-VERIFIED"]["severity"] == "critical"
    assert "(no signature)" in found["PROV-VERIFIED"]["message"]
    assert "bare statement" in found["PROV-VERIFIED"]["remediation"]
    assert "PROV-PRESENT" in found


def test_key_signed_provenance_satisfies_require_in_prod(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    sm.write_key(tmp_path / "ci" / "release.pub", key)
    doc = json.dumps(sm.envelope(sm.statement("app.tgz", SHA), key))
    code, decision = _gate(tmp_path, doc, ["release.pub"])
    assert [f["check"] for f in decision["findings"]] == []
    assert code == 0 and decision["outcome"] == "pass"


def test_provenance_signed_by_an_unknown_key_blocks_with_its_fix(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    doc = json.dumps(sm.envelope(sm.statement("app.tgz", SHA), key))
    code, decision = _gate(tmp_path, doc, [])
    assert code == 1
    [finding] = [f for f in decision["findings"] if f["check"] == "PROV-VERIFIED"]
    assert "(key unknown)" in finding["message"]
    assert "signatures.keys" in finding["remediation"]
