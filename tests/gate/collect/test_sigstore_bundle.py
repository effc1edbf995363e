"""Sigstore bundle collector: offline verification, artifact pairing, trust roots, never a traceback.

Real verification runs against real bundles from the shared corpus (read in place); the odd shapes,
certificates and error paths use bundles built here by code.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

import audit.trust
from gate.collect import sigstore_bundle
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import ParsedFile, parse_file
from gate.schemas import compile_schema

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/signature"})

BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ACTIONS = "https://token.actions.githubusercontent.com"
A_TXT_SHA256 = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"


@pytest.fixture(scope="module")
def conformance(corpus_dir: Path) -> Path:
    return corpus_dir / "sigstore" / "sigstore__sigstore-conformance" / "test" / "assets" / "bundle-verify"


@pytest.fixture(scope="module")
def py_assets(corpus_dir: Path) -> Path:
    return corpus_dir / "sigstore" / "sigstore__sigstore-python" / "test" / "assets"


def collect(parsed: ParsedFile, settings: CollectSettings | None = None) -> list[dict[str, Any]]:
    assert sigstore_bundle.recognise(parsed)
    items = sigstore_bundle.collect(parsed, settings or CollectSettings())["signatures"]
    for item in items:
        ITEM.validate(item)
    return items


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def der_utf8(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 0x80:
        return b"\x0c" + bytes([len(raw)]) + raw
    return b"\x0c\x82" + len(raw).to_bytes(2, "big") + raw


def make_cert(
    key: ec.EllipticCurvePrivateKey, san: x509.GeneralName, issuer_oid: str, issuer_value: bytes
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not-a-sigstore-ca")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        .add_extension(x509.UnrecognizedExtension(ObjectIdentifier(issuer_oid), issuer_value), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(key, hashes.SHA256())
    )


def make_bundle(
    artifact: bytes,
    *,
    san: x509.GeneralName | None = None,
    issuer_oid: str = "1.3.6.1.4.1.57264.1.8",
    issuer_value: bytes | None = None,
    public_key_hint: bool = False,
    media_type: str = "application/vnd.dev.sigstore.bundle.v0.3+json",
    integrated_time: str | None = "1700000000",
) -> dict[str, Any]:
    """A structurally complete v0.3 bundle signed by a throwaway key (it never chains to a real root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashlib.sha256(artifact).digest()
    signature = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    entry: dict[str, Any] = {
        "logIndex": "42",
        "logId": {"keyId": b64(b"k" * 32)},
        "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
        "inclusionPromise": {"signedEntryTimestamp": b64(b"set")},
        "inclusionProof": {
            "logIndex": "42",
            "rootHash": b64(b"r" * 32),
            "treeSize": "100",
            "hashes": [b64(b"h" * 32)],
            "checkpoint": {"envelope": "rekor.example - 1\n100\ncm9vdA==\n\n\u2014 rekor.example abcd\n"},
        },
        "canonicalizedBody": b64(b'{"kind":"hashedrekord"}'),
    }
    if integrated_time is not None:
        entry["integratedTime"] = integrated_time
    material: dict[str, Any] = {"tlogEntries": [entry]}
    if public_key_hint:
        material["publicKey"] = {"hint": b64(b"hint")}
    else:
        cert = make_cert(
            key,
            san
            or x509.UniformResourceIdentifier(
                "https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main"
            ),
            issuer_oid,
            issuer_value if issuer_value is not None else der_utf8(ACTIONS),
        )
        material["certificate"] = {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}
    return {
        "mediaType": media_type,
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
            "signature": b64(signature),
        },
    }


def write_pair(tmp_path: Path, name: str, artifact: bytes, bundle: dict[str, Any]) -> ParsedFile:
    (tmp_path / name).write_bytes(artifact)
    bundle_path = tmp_path / f"{name}.sigstore.json"
    bundle_path.write_text(json.dumps(bundle), encoding="utf-8")
    return parse_file(bundle_path)


# --- real verification against the corpus ---------------------------------------------------------


def test_production_bundle_verifies_with_artifact_flag(conformance: Path) -> None:
    a_txt = conformance / "a.txt"
    parsed = parse_file(conformance / "happy-path-v0.3" / "bundle.sigstore.json")
    [item] = collect(parsed, CollectSettings(artifacts=(a_txt,)))
    assert item["verified"] is True, item["error"]
    assert item["error"] is None
    assert item["source"] == "sigstore"
    assert item["artifact"] == {"path": str(a_txt), "sha256": A_TXT_SHA256}
    assert item["identity"] == {"san": BEACON, "issuer": ACTIONS}
    assert item["trust_root"] == "production"
    [entry] = item["tlog_entries"]
    assert entry["kind"] == "hashedrekord/0.0.1"
    assert isinstance(entry["log_index"], int)
    assert isinstance(entry["integrated_time"], int)


def test_bundle_pairs_with_the_file_beside_it_and_catches_tampering(
    conformance: Path, tmp_path: Path
) -> None:
    shutil.copyfile(conformance / "a.txt", tmp_path / "a.txt")
    shutil.copyfile(
        conformance / "happy-path-v0.3" / "bundle.sigstore.json", tmp_path / "a.txt.sigstore.json"
    )
    parsed = parse_file(tmp_path / "a.txt.sigstore.json")
    [item] = collect(parsed)
    assert item["verified"] is True, item["error"]
    assert item["artifact"]["path"] == str(tmp_path / "a.txt")

    (tmp_path / "a.txt").write_bytes(b"tampered\n")
    [item] = collect(parsed)
    assert item["verified"] is False
    assert "digest mismatch" in item["error"]
    assert item["artifact"]["sha256"] == hashlib.sha256(b"tampered\n").hexdigest()


def test_sigstore_suffix_and_staging_root(py_assets: Path) -> None:
    parsed = parse_file(py_assets / "bundle.txt.sigstore")
    [item] = collect(parsed, CollectSettings(trust_root="staging"))
    assert item["verified"] is True, item["error"]
    assert item["artifact"]["path"] == str(py_assets / "bundle.txt")
    assert item["identity"] == {"san": "a@tny.town", "issuer": "https://github.com/login/oauth"}
    assert item["trust_root"] == "staging"

    [item] = collect(parsed, CollectSettings(trust_root="production"))
    assert item["verified"] is False
    assert item["error"].startswith("verification failed:")


def test_missing_artifact_says_which_file_and_how_to_pass_it(conformance: Path, tmp_path: Path) -> None:
    shutil.copyfile(
        conformance / "happy-path-v0.3" / "bundle.sigstore.json", tmp_path / "app.bin.sigstore.json"
    )
    [item] = collect(parse_file(tmp_path / "app.bin.sigstore.json"))
    assert item["verified"] is False
    assert str(tmp_path / "app.bin") in item["error"]
    assert "--artifact" in item["error"]
    assert item["artifact"] == {"path": str(tmp_path / "app.bin"), "sha256": A_TXT_SHA256}


def test_artifact_flag_that_matches_nothing(conformance: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("not the artifact\n")
    parsed = parse_file(conformance / "happy-path-v0.3" / "bundle.sigstore.json")
    [item] = collect(parsed, CollectSettings(artifacts=(other,)))
    assert item["verified"] is False
    assert "none of the --artifact files" in item["error"]
    assert str(other) in item["error"]


def test_unreadable_artifact_flag_is_a_collect_error(conformance: Path, tmp_path: Path) -> None:
    parsed = parse_file(conformance / "happy-path-v0.3" / "bundle.sigstore.json")
    with pytest.raises(CollectError, match="--artifact"):
        sigstore_bundle.collect(parsed, CollectSettings(artifacts=(tmp_path / "missing.bin",)))


def test_dsse_bundle_reports_statement_subjects(conformance: Path) -> None:
    parsed = parse_file(conformance / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json")
    [item] = collect(parsed)
    assert item["verified"] is True, item["error"]
    assert item["artifact"] == {"path": "a.txt", "sha256": A_TXT_SHA256}
    assert item["tlog_entries"][0]["kind"] == "dsse/0.0.1"

    [item] = collect(parsed, CollectSettings(artifacts=(conformance / "a.txt",)))
    assert item["verified"] is True
    assert item["artifact"] == {"path": str(conformance / "a.txt"), "sha256": A_TXT_SHA256}


def test_dsse_bundle_beside_a_file_it_does_not_cover(conformance: Path, tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("not a subject\n")
    shutil.copyfile(
        conformance / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json",
        tmp_path / "other.txt.sigstore.json",
    )
    [item] = collect(parse_file(tmp_path / "other.txt.sigstore.json"))
    assert item["verified"] is False
    assert "is not a subject of the signed statement" in item["error"]


def test_pinned_trusted_root_relative_to_base_dir(conformance: Path) -> None:
    case = conformance / "rekor2-happy-path"
    settings = CollectSettings(
        trust_root="trusted_root.json", base_dir=case, artifacts=(conformance / "a.txt",)
    )
    [item] = collect(parse_file(case / "bundle.sigstore.json"), settings)
    assert item["verified"] is True, item["error"]
    assert item["trust_root"] == "trusted_root.json"
    assert item["tlog_entries"][0]["kind"] == "hashedrekord/0.0.2"
    assert item["tlog_entries"][0]["integrated_time"] is None


def test_client_trust_config_as_trust_root(py_assets: Path) -> None:
    settings = CollectSettings(trust_root=str(py_assets / "tsa" / "trust_config.json"))
    [item] = collect(parse_file(py_assets / "tsa" / "bundle.txt.sigstore"), settings)
    assert item["verified"] is True, item["error"]


def test_verifier_is_built_once_per_trust_root(conformance: Path) -> None:
    settings = CollectSettings(trust_root="trusted_root.json", base_dir=conformance / "rekor2-happy-path")
    assert sigstore_bundle.verifier_for(settings) is sigstore_bundle.verifier_for(settings)
    assert sigstore_bundle.verifier_for(CollectSettings()) is sigstore_bundle.verifier_for(CollectSettings())


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("missing.json", "cannot read"),
        ("not-json.json", "not JSON"),
        ("wrong-kind.json", "not a sigstore trusted root"),
        ("broken.json", "does not load"),
        ("empty-root.json", "cannot verify anything"),
    ],
)
def test_bad_trust_root_is_a_collect_error(
    conformance: Path, tmp_path: Path, root: str, message: str
) -> None:
    (tmp_path / "not-json.json").write_text("{nope")
    (tmp_path / "wrong-kind.json").write_text(json.dumps({"mediaType": "application/json"}))
    shutil.copyfile(
        conformance / "trust-root-tlog-missing-validity-start_fail" / "trusted_root.json",
        tmp_path / "broken.json",
    )
    empty = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [],
        "ctlogs": [],
        "certificateAuthorities": [],
        "timestampAuthorities": [],
    }
    (tmp_path / "empty-root.json").write_text(json.dumps(empty))
    parsed = parse_file(conformance / "happy-path-v0.3" / "bundle.sigstore.json")
    settings = CollectSettings(trust_root=root, base_dir=tmp_path, artifacts=(conformance / "a.txt",))
    with pytest.raises(CollectError) as info:
        sigstore_bundle.collect(parsed, settings)
    assert message in info.value.message
    assert info.value.path == root
    assert info.value.remediation


def test_intoto_log_entries_verify(conformance: Path) -> None:
    """intoto/0.0.2 entries (which sigstore-python refuses) are checked as cosign checks them."""
    case = conformance / "intoto-with-custom-trust-root"
    settings = CollectSettings(trust_root=str(case / "trusted_root.json"), artifacts=(case / "artifact",))
    [item] = collect(parse_file(case / "bundle.sigstore.json"), settings)
    assert item["verified"] is True, item["error"]
    assert item["tlog_entries"][0]["kind"] == "intoto/0.0.2"


def test_npm_attestations_response(corpus_dir: Path) -> None:
    testdata = corpus_dir / "attestations/slsa-framework__slsa-verifier/verifiers/internal/gha/testdata"
    path = testdata / "npm-attestations.intoto.sigstore"
    items = collect(parse_file(path))
    assert len(items) == 2
    assert items[0]["identity"]["issuer"] == ACTIONS
    assert items[0]["verified"] is True, items[0]["error"]
    assert items[1]["status"] == "key-unknown"
    assert "signatures.keys" in items[1]["error"]
    assert all(i["artifact"]["path"] == "pkg:npm/%40laurentsimon/provenance-npm-test@1.0.0" for i in items)


def test_verification_never_touches_the_network_or_the_tuf_cache(
    conformance: Path, py_assets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during offline verification")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    home = tmp_path / "home"
    home.mkdir()
    for var, sub in (("HOME", ""), ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setattr(audit.trust, "_verifiers", {})  # build fresh verifiers under the blocked network

    [prod] = collect(
        parse_file(conformance / "happy-path-v0.1" / "bundle.sigstore.json"),
        CollectSettings(artifacts=(conformance / "a.txt",)),
    )
    [stage] = collect(parse_file(py_assets / "bundle_v3.txt.sigstore"), CollectSettings(trust_root="staging"))
    assert prod["verified"] is True, prod["error"]
    assert stage["verified"] is True, stage["error"]
    assert list(home.iterdir()) == []


# --- bundles built by code: shapes, identities, errors ---------------------------------------------


def test_identity_from_uri_san_and_v2_issuer(tmp_path: Path) -> None:
    long_issuer = "https://issuer.example/" + "x" * 200  # long-form DER length
    bundle = make_bundle(b"hello\n", issuer_value=der_utf8(long_issuer))
    [item] = collect(write_pair(tmp_path, "hello.txt", b"hello\n", bundle))
    assert item["identity"] == {
        "san": "https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main",
        "issuer": long_issuer,
    }
    assert item["verified"] is False
    assert item["error"].startswith("verification failed:")
    assert item["tlog_entries"] == [
        {"log_index": 42, "integrated_time": 1700000000, "kind": "hashedrekord/0.0.1"}
    ]
    assert item["artifact"] == {
        "path": str(tmp_path / "hello.txt"),
        "sha256": hashlib.sha256(b"hello\n").hexdigest(),
    }


def test_identity_from_email_san_and_v1_issuer(tmp_path: Path) -> None:
    bundle = make_bundle(
        b"x",
        san=x509.RFC822Name("dev@acme.example"),
        issuer_oid="1.3.6.1.4.1.57264.1.1",
        issuer_value=b"https://accounts.google.com",
        integrated_time="0",
    )
    [item] = collect(write_pair(tmp_path, "x.bin", b"x", bundle))
    assert item["identity"] == {"san": "dev@acme.example", "issuer": "https://accounts.google.com"}
    assert item["tlog_entries"][0]["integrated_time"] is None


def test_identity_from_sigstore_othername_san(tmp_path: Path) -> None:
    other = x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), der_utf8("ci-user!example.com"))
    [item] = collect(write_pair(tmp_path, "y.bin", b"y", make_bundle(b"y", san=other)))
    assert item["identity"]["san"] == "ci-user!example.com"


def test_key_signed_bundle_needs_a_configured_key(tmp_path: Path, conformance: Path) -> None:
    [item] = collect(write_pair(tmp_path, "k.bin", b"k", make_bundle(b"k", public_key_hint=True)))
    assert item["verified"] is False
    assert item["status"] == "key-unknown"
    assert item["error"].startswith("could not be verified: the bundle is signed with a public key")
    assert item["identity"] == {"san": None, "issuer": None}
    assert item["artifact"]["sha256"] == hashlib.sha256(b"k").hexdigest()

    case = conformance / "managed-key-happy-path"
    settings = CollectSettings(artifacts=(conformance / "a.txt",), keys=(case / "key.pub",))
    [item] = collect(parse_file(case / "bundle.sigstore.json"), settings)
    assert item["verified"] is True, item["error"]
    assert item["key"] == str(case / "key.pub")


def test_unknown_version_is_an_unverified_item(tmp_path: Path) -> None:
    bundle = make_bundle(b"v", media_type="application/vnd.dev.sigstore.bundle+json;version=99.9")
    [item] = collect(write_pair(tmp_path, "v.bin", b"v", bundle))
    assert item["verified"] is False
    assert item["error"].startswith("bundle does not load:")
    assert "For further information" not in item["error"]


@pytest.mark.parametrize(
    "damage",
    [
        {"verificationMaterial": "nope"},
        {"verificationMaterial": {"tlogEntries": "nope", "certificate": {"rawBytes": "%%%"}}},
        {"verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": b64(b"not der")}]}}},
        {"messageSignature": 5},
        {"messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "%%%"}}},
    ],
)
def test_damaged_bundles_never_raise(tmp_path: Path, damage: dict[str, Any]) -> None:
    bundle = make_bundle(b"d")
    bundle.update(damage)
    items = collect(write_pair(tmp_path, "d.bin", b"d", bundle))
    assert [i["verified"] for i in items] == [False]
    assert items[0]["error"]


def test_bundle_without_a_pairable_name(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(make_bundle(b"z")))
    [item] = collect(parse_file(path))
    assert item["verified"] is False
    assert "no artifact pairs with signature.json" in item["error"]
    assert item["artifact"] == {"path": None, "sha256": hashlib.sha256(b"z").hexdigest()}


@pytest.mark.parametrize(
    "doc",
    [
        {"bomFormat": "CycloneDX", "specVersion": "1.6"},
        {"payloadType": "application/vnd.in-toto+json", "payload": "", "signatures": []},
        [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}],
    ],
)
def test_not_recognised(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    assert not sigstore_bundle.recognise(parse_file(path))


def test_importing_the_collectors_does_not_import_sigstore() -> None:
    code = (
        "import sys, gate.collect.sigstore_bundle, gate.collect.cosign, gate.collect.attestation\n"
        "assert 'sigstore' not in sys.modules, 'sigstore imported eagerly'\n"
        "assert 'cryptography.x509' not in sys.modules, 'cryptography imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
