"""Records: the statement's shape, canonical bytes, DSSE, the bundle, and verifiers that are not ours."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from audit.envelope import BUNDLE_MEDIA_TYPE, key_bundle, open_bundle, pae
from audit.errors import AuditError
from audit.keys import (
    generate_record_key,
    hint_of,
    keyid_of,
    legacy_keyid_of,
    load_record_key,
    record_key_pem,
)
from audit.mask import MASK, mask
from audit.record import (
    EXTENSION,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    REFUSAL_SUBJECT,
    STATEMENT_TYPE,
    build_statement,
    canonical,
    default_levels,
    service_uri,
)
from audit.signer import LocalSigner, SignerError, SigstoreSigner
from audit.verify import Identity, Trust, verify_record
from tests.audit.logs import facts
from tests.conftest import CORPUS

CONFORMANCE = CORPUS / "sigstore" / "sigstore__sigstore-conformance" / "test" / "assets" / "bundle-verify"
BEACON = (
    "https://token.actions.githubusercontent.com="
    r"^https://github\.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
)


def test_pae_matches_the_dsse_specification_example() -> None:
    # protocol.md of secure-systems-lab/dsse
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_statement_is_a_vsa_with_the_gate_extension() -> None:
    st = build_statement(facts(3))
    assert st["_type"] == STATEMENT_TYPE and st["predicateType"] == PREDICATE_TYPE
    assert st["subject"] == [{"name": "sbom.cdx.json", "digest": {"sha256": f"{3:064x}"}}]
    pred = st["predicate"]
    assert pred["verificationResult"] == "FAILED" and pred["timeVerified"] == "2026-11-23T12:00:03.000000Z"
    assert pred["resourceUri"] == f"git+https://github.com/acme/svc-0@{3:040x}"
    assert pred["policy"]["digest"] == {"sha256": "ab" * 32}
    detail = pred[EXTENSION]
    assert detail["recordId"] == "rec-3" and detail["environment"] == "prod" and detail["outcome"] == "block"
    assert detail["findings"][0]["check"] == "SBOM-VULN-HIGH"
    assert "time_ns" not in detail["context"]  # beyond the I-JSON range RFC 8785 covers
    passing = build_statement(facts(4, outcome="pass"))
    assert passing["predicate"]["verificationResult"] == "PASSED"


def test_statement_without_files_names_the_input_document() -> None:
    f = facts(1)
    bare = type(f)(f.decision, f.context, (), f.time_ns, f.gate_version, record_id="x")
    assert build_statement(bare)["subject"] == [
        {"name": "gate-input.json", "digest": {"sha256": f"{1:064x}"}}
    ]


def test_a_refusal_without_a_file_has_the_digest_of_its_reason_as_subject() -> None:
    f = facts(1)
    reason = "nothing to check: no Backstage entity or template, SBOM, signature or attestation in ."
    decision = {**f.decision, "outcome": "error", "error": reason, "input": {"digest": ""}}
    refused = dataclasses.replace(f, decision=decision, subjects=())
    [subject] = build_statement(refused)["subject"]
    assert subject == {
        "name": REFUSAL_SUBJECT,
        "digest": {"sha256": hashlib.sha256(reason.encode()).hexdigest()},
    }
    assert subject["digest"]["sha256"] != "0" * 64


def test_verified_levels_and_resource_uri() -> None:
    f = facts(4, outcome="pass")
    pred = build_statement(f)["predicate"]
    assert pred["verifiedLevels"] == ["GOVGATE_PROD_PASSED"]
    assert build_statement(facts(3))["predicate"]["verifiedLevels"] == ["FAILED"]
    custom = dataclasses.replace(
        f,
        verified_levels=("ACME_RELEASE", "SLSA_BUILD_LEVEL_2"),
        resource_uri=service_uri("payments api", "prod/eu"),
    )
    pred = build_statement(custom)["predicate"]
    assert pred["verifiedLevels"] == ["ACME_RELEASE", "SLSA_BUILD_LEVEL_2"]
    assert pred["resourceUri"] == "govgate:service/payments%20api?env=prod%2Feu"
    assert default_levels("pre-prod.eu") == ("GOVGATE_PRE_PROD_EU_PASSED",)
    blocked = dataclasses.replace(facts(3), verified_levels=("ACME_RELEASE",))
    assert build_statement(blocked)["predicate"]["verifiedLevels"] == ["FAILED"]


def test_canonical_bytes_are_rfc8785() -> None:
    doc = {"b": [1, "é", {"z": 1, "a": None}], "a": True}
    assert canonical(doc) == b'{"a":true,"b":[1,"\xc3\xa9",{"a":null,"z":1}]}'
    assert canonical(build_statement(facts(2))) == rfc8785.dumps(
        json.loads(canonical(build_statement(facts(2))))
    )
    with pytest.raises(AuditError, match="canonicalised"):
        canonical({"n": 2**60})


def signed(n: int = 0) -> tuple[bytes, LocalSigner]:
    signer = LocalSigner(generate_record_key())
    bundle = signer.sign(canonical(build_statement(facts(n))))
    return json.dumps(bundle).encode(), signer


def env_keyid(doc: dict[str, Any]) -> str:
    """The keyid of a bundle's one DSSE signature."""
    return str(doc["dsseEnvelope"]["signatures"][0]["keyid"])


def test_local_bundle_is_a_v03_dsse_bundle_over_the_exact_bytes() -> None:
    data, signer = signed()
    doc = json.loads(data)
    assert doc["mediaType"] == BUNDLE_MEDIA_TYPE
    assert doc["verificationMaterial"] == {"publicKey": {"hint": signer.key.hint}}
    assert env_keyid(doc) == signer.key.keyid
    env = doc["dsseEnvelope"]
    assert env["payloadType"] == PAYLOAD_TYPE
    assert base64.b64decode(env["payload"]) == canonical(build_statement(facts(0)))
    opened = open_bundle(data)
    assert opened.keyid == signer.key.keyid and not opened.keyless


def test_securesystemslib_verifies_a_local_key_record() -> None:
    data, signer = signed(5)
    # as docs/audit/records.md shows it: the keyid read from the record
    keyid = env_keyid(json.loads(data))
    key = SSlibKey.from_crypto(signer.key.private.public_key(), keyid=keyid)
    env = Envelope.from_dict(json.loads(data)["dsseEnvelope"])
    assert set(env.verify([key], 1)) == {signer.key.keyid}
    assert json.loads(env.pae().split(b" ", 4)[4]) == build_statement(facts(5))
    stranger = generate_record_key()
    with pytest.raises(VerificationError):
        env.verify([SSlibKey.from_crypto(stranger.private.public_key(), keyid=signer.key.keyid)], 1)
    env.payload = env.payload.replace(b"rec-5", b"rec-6")
    with pytest.raises(VerificationError):
        env.verify([key], 1)


def test_our_verifier_accepts_the_key_and_refuses_others() -> None:
    from audit.keys import PublicKey

    data, signer = signed(1)
    mine = PublicKey(signer.key.private.public_key(), "mine")
    other = PublicKey(generate_record_key().private.public_key(), "other")
    assert verify_record(data, Trust(keys=(mine,))).statement == build_statement(facts(1))
    with pytest.raises(AuditError, match="not an allowed key"):
        verify_record(data, Trust(keys=(other,)))


def test_keyid_is_the_ssh_fingerprint_go_securesystemslib_derives(tmp_path: Path) -> None:
    # go-securesystemslib's dsse.SHA256KeyID is ssh.FingerprintSHA256, what `ssh-keygen -l` prints
    key = generate_record_key()
    (tmp_path / "audit.pub").write_bytes(key.public_pem())
    ssh = subprocess.run(
        ["ssh-keygen", "-i", "-m", "PKCS8", "-f", str(tmp_path / "audit.pub")],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "audit.ssh.pub").write_bytes(ssh)
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(tmp_path / "audit.ssh.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.split()[1] == key.keyid == keyid_of(key.private.public_key())
    assert key.keyid.startswith("SHA256:") and not key.keyid.endswith("=")
    spki = base64.b64decode(b"".join(key.public_pem().splitlines()[1:-1]))
    assert key.hint == base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_records_signed_with_any_keyid_form_of_the_key_verify() -> None:
    from audit.keys import PublicKey

    key = generate_record_key()
    payload = canonical(build_statement(facts(2)))
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    mine = PublicKey(key.private.public_key(), "mine")
    public = key.private.public_key()
    for keyid in (keyid_of(public), hint_of(public), legacy_keyid_of(public), ""):
        data = json.dumps(key_bundle(PAYLOAD_TYPE, payload, signature, keyid)).encode()
        assert verify_record(data, Trust(keys=(mine,))).statement == build_statement(facts(2))
    other = PublicKey(generate_record_key().private.public_key(), "other")
    assert not other.named_by(legacy_keyid_of(public))


def test_key_pem_round_trip_and_bad_keys() -> None:
    key = generate_record_key()
    assert load_record_key(record_key_pem(key), "x").keyid == key.keyid
    with pytest.raises(AuditError, match="GATE_SIGNING_KEY: not a usable PEM private key"):
        load_record_key(b"not a key", "GATE_SIGNING_KEY")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    ed = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(AuditError, match="not ECDSA P-256"):
        load_record_key(ed, "k.pem")


def test_sigstore_signer_without_a_token_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "SIGSTORE_ID_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SignerError, match="needs an OIDC token") as caught:
        SigstoreSigner().sign(b"{}")
    assert "id-token: write" in caught.value.remediation and "SIGSTORE_ID_TOKEN" in caught.value.remediation


def test_masking() -> None:
    doc = {
        "params": {"githubToken": "x", "db_password": "p", "name": "svc", "empty_token": ""},
        "env": ["AKIAABCDEFGHIJKLMNOP", "https://user:pw@example.com/x", "plain"],
        "key": "-----BEGIN PRIVATE KEY-----\nabc",
    }
    out = mask(doc)
    assert out["params"] == {"githubToken": MASK, "db_password": MASK, "name": "svc", "empty_token": ""}
    assert out["env"] == [MASK, MASK, "plain"] and out["key"] == MASK


# --- keyless records, verified against real sigstore bundles --------------------------------


def _conformance(name: str) -> tuple[bytes, str]:
    folder = CONFORMANCE / name
    root = folder / "trusted_root.json"
    return (folder / "bundle.sigstore.json").read_bytes(), str(root) if root.exists() else "production"


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["happy-path-intoto-in-dsse-v3", "rekor2-dsse-happy-path"])
def test_keyless_bundle_verifies_for_an_allowed_identity(corpus_dir: Path, name: str) -> None:
    data, root = _conformance(name)
    trust = Trust(identities=(Identity.parse(BEACON),), trust_root=root)
    # the signature, certificate chain and log entry verify; the payload is not a gate record
    with pytest.raises(AuditError, match="not a govgate decision statement"):
        verify_record(data, trust)


@pytest.mark.corpus
def test_keyless_bundle_of_another_identity_is_refused(corpus_dir: Path) -> None:
    data, root = _conformance("happy-path-intoto-in-dsse-v3")
    other = Identity.parse(r"https://token.actions.githubusercontent.com=^https://github\.com/acme/")
    with pytest.raises(AuditError, match="not an allowed identity"):
        verify_record(data, Trust(identities=(other,), trust_root=root))
    issuer = Identity.parse(r"https://accounts.google.com=.*")
    with pytest.raises(AuditError, match="not an allowed identity"):
        verify_record(data, Trust(identities=(issuer,), trust_root=root))


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("dsse-invalid-sig_fail", "invalid signature"),
        ("dsse-mismatch-envelope_fail", "payload hash does not match"),
        ("rekor2-dsse-mismatch-sig_fail", "inconsistent"),
    ],
)
def test_keyless_bundle_that_does_not_verify(corpus_dir: Path, name: str, reason: str) -> None:
    data, root = _conformance(name)
    with pytest.raises(AuditError, match=reason):
        verify_record(data, Trust(identities=(Identity.parse(BEACON),), trust_root=root))
