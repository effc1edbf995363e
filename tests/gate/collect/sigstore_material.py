"""Sigstore material built by code for the tests: a local trust root, key-signed bundles, DSSE
envelopes and Rekor log entries with signed entry timestamps (SETs).

A public Rekor or Fulcio cannot be reached from the tests: a locally generated trust root (a test
certificate authority and a test Rekor log key) is the stand-in. Every signature, SET and digest here
is real cryptography over it, in the shapes cosign and sigstore-go write (bundle v0.1-v0.3,
hashedrekord/0.0.1, dsse/0.0.1 and intoto/0.0.2 entries).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

INTOTO = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
MEDIA = {
    "0.1": "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "0.2": "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "0.3": "application/vnd.dev.sigstore.bundle.v0.3+json",
}
INTEGRATED = 1_700_000_000
ACTIONS = "https://token.actions.githubusercontent.com"
RELEASE = "https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main"
_SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem(key))
    return path


def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding, written out from the DSSE specification."""
    return b"DSSEv1 " + b" ".join(
        [str(len(payload_type)).encode(), payload_type.encode(), str(len(payload)).encode(), payload]
    )


def statement(
    subject: str, sha256_hex: str, builder: str = "https://github.com/acme/builder@v1"
) -> dict[str, Any]:
    """An SLSA v1 provenance statement about one subject."""
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject, "digest": {"sha256": sha256_hex}}],
        "predicateType": SLSA_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://example.com/build",
                "externalParameters": {"source": "git+https://github.com/acme/payments@refs/heads/main"},
            },
            "runDetails": {"builder": {"id": builder}},
        },
    }


def envelope(doc: dict[str, Any], key: ec.EllipticCurvePrivateKey | None, keyid: str = "") -> dict[str, Any]:
    """A DSSE envelope of `doc` signed by `key` over the PAE (unsigned when key is None)."""
    payload = json.dumps(doc).encode()
    sigs = []
    if key is not None:
        sigs.append(
            {"keyid": keyid, "sig": b64(key.sign(dsse_pae(INTOTO, payload), ec.ECDSA(hashes.SHA256())))}
        )
    return {"payloadType": INTOTO, "payload": b64(payload), "signatures": sigs}


class LocalSigstore:
    """A test sigstore instance: a certificate authority and a Rekor log key, as a trusted root."""

    def __init__(self) -> None:
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio")])
        now = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.log_id = hashlib.sha256(spki(self.rekor_key.public_key())).digest()
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_id = hashlib.sha256(spki(self.ct_key.public_key())).digest()

    def certificate(
        self, key: ec.EllipticCurvePrivateKey, san: str = RELEASE, issuer: str = ACTIONS, at: int = INTEGRATED
    ) -> x509.Certificate:
        """A Fulcio-shaped leaf certificate for `key`, valid for ten minutes around `at`, with an
        SCT by the test CT log embedded (RFC 6962 precertificate SCT)."""
        start = datetime.datetime.fromtimestamp(at - 60, tz=datetime.UTC)
        raw_issuer = issuer.encode()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False
            )
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]), critical=True)
            .add_extension(
                x509.UnrecognizedExtension(
                    ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), b"\x0c" + bytes([len(raw_issuer)]) + raw_issuer
                ),
                critical=False,
            )
        )
        pre = builder.sign(self.ca_key, hashes.SHA256())
        tbs = pre.tbs_certificate_bytes
        millis = (at - 30) * 1000
        issuer_key_id = hashlib.sha256(spki(self.ca_key.public_key())).digest()
        signed = (
            struct.pack("!BBQH", 0, 0, millis, 1)
            + issuer_key_id
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )
        sct_sig = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack("!B", 0)
            + self.ct_id
            + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", 4, 3, len(sct_sig))
            + sct_sig
        )
        tls_list = struct.pack("!HH", len(sct) + 2, len(sct)) + sct
        return builder.add_extension(
            x509.UnrecognizedExtension(_SCT_OID, _der_octets(tls_list)), critical=False
        ).sign(self.ca_key, hashes.SHA256())

    def trusted_root(self) -> dict[str, Any]:
        """The instance as a sigstore trusted_root.json document."""
        valid = {"start": "2020-01-01T00:00:00Z"}
        log_key = {
            "rawBytes": b64(spki(self.rekor_key.public_key())),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": valid,
        }
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": "https://rekor.test",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": log_key,
                    "logId": {"keyId": b64(self.log_id)},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "test", "commonName": "test-fulcio"},
                    "uri": "https://fulcio.test",
                    "certChain": {
                        "certificates": [
                            {"rawBytes": b64(self.ca_cert.public_bytes(serialization.Encoding.DER))}
                        ]
                    },
                    "validFor": valid,
                }
            ],
            "ctlogs": [
                {
                    "baseUrl": "https://ctfe.test",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": b64(spki(self.ct_key.public_key())),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "validFor": valid,
                    },
                    "logId": {"keyId": b64(self.ct_id)},
                }
            ],
            "timestampAuthorities": [],
        }

    def write_root(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.trusted_root()), encoding="utf-8")
        return path

    def entry(self, body: dict[str, Any], *, index: int = 7, integrated: int = INTEGRATED) -> dict[str, Any]:
        """A log entry for `body` with a SET signed by the log key, and no inclusion proof."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        canonical = rfc8785.dumps(
            {"body": b64(raw), "integratedTime": integrated, "logID": self.log_id.hex(), "logIndex": index}
        )
        signed = self.rekor_key.sign(canonical, ec.ECDSA(hashes.SHA256()))
        return {
            "logIndex": str(index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": body["kind"], "version": body["apiVersion"]},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": b64(signed)},
            "canonicalizedBody": b64(raw),
        }


def _der_octets(data: bytes) -> bytes:
    """DER OCTET STRING of `data`."""
    if len(data) < 0x80:
        return b"\x04" + bytes([len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return b"\x04" + bytes([0x80 | len(size)]) + size + data


def keyless_message_bundle(
    artifact: bytes, log: LocalSigstore, *, san: str = RELEASE, version: str = "0.1"
) -> dict[str, Any]:
    """A keyless bundle over `artifact` (cosign sign-blob with Fulcio) whose log entry has a SET and
    no inclusion proof, as cosign wrote v0.1 bundles."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = log.certificate(key, san)
    digest = hashlib.sha256(artifact).digest()
    signature = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    der = {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}
    material: dict[str, Any] = (
        {"certificate": der} if version == "0.3" else {"x509CertificateChain": {"certificates": [der]}}
    )
    material["tlogEntries"] = [log.entry(hashedrekord(signature, cert_pem, digest.hex()))]
    return {
        "mediaType": MEDIA[version],
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
            "signature": b64(signature),
        },
    }


def keyless_dsse_bundle(doc: dict[str, Any], log: LocalSigstore, *, san: str = RELEASE) -> dict[str, Any]:
    """A keyless v0.1 DSSE bundle of `doc` logged as intoto/0.0.2 with a SET, no inclusion proof
    (the shape of npm's and slsa-github-generator's provenance bundles)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = log.certificate(key, san)
    env = envelope(doc, key)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    der = {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}
    return {
        "mediaType": MEDIA["0.1"],
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [der]},
            "tlogEntries": [log.entry(intoto_entry(env, cert_pem))],
        },
        "dsseEnvelope": env,
    }


def hashedrekord(signature: bytes, public_pem: bytes, sha256_hex: str) -> dict[str, Any]:
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256_hex}},
            "signature": {"content": b64(signature), "publicKey": {"content": b64(public_pem)}},
        },
    }


def dsse_entry(env: dict[str, Any], public_pem: bytes) -> dict[str, Any]:
    payload = base64.b64decode(env["payload"])
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(json.dumps(env).encode()).hexdigest(),
            },
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": s["sig"], "verifier": b64(public_pem)} for s in env["signatures"]],
        },
    }


def intoto_entry(env: dict[str, Any], public_pem: bytes) -> dict[str, Any]:
    """An intoto/0.0.2 body: it stores each signature base64-encoded once more."""
    payload = base64.b64decode(env["payload"])
    return {
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {
            "content": {
                "envelope": {
                    "payloadType": env["payloadType"],
                    "signatures": [
                        {"sig": b64(s["sig"].encode()), "publicKey": b64(public_pem)}
                        for s in env["signatures"]
                    ],
                },
                "hash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(json.dumps(env).encode()).hexdigest(),
                },
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            }
        },
    }


def message_bundle(
    artifact: bytes,
    key: ec.EllipticCurvePrivateKey,
    log: LocalSigstore | None,
    *,
    version: str = "0.1",
    logged_key: ec.EllipticCurvePrivateKey | None = None,
) -> dict[str, Any]:
    """A key-signed bundle over `artifact` (cosign sign-blob --key), logged in `log` when given."""
    digest = hashlib.sha256(artifact).digest()
    signature = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    material: dict[str, Any] = {"publicKey": {"hint": b64(hashlib.sha256(spki(key.public_key())).digest())}}
    material["tlogEntries"] = (
        [log.entry(hashedrekord(signature, pem(logged_key or key), digest.hex()))] if log is not None else []
    )
    return {
        "mediaType": MEDIA[version],
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
            "signature": b64(signature),
        },
    }


def dsse_bundle(
    doc: dict[str, Any],
    key: ec.EllipticCurvePrivateKey,
    log: LocalSigstore,
    *,
    kind: str = "dsse",
    version: str = "0.1",
) -> dict[str, Any]:
    """A key-signed DSSE bundle of `doc` (cosign attest-blob --key), logged as a dsse or intoto entry."""
    env = envelope(doc, key)
    body = dsse_entry(env, pem(key)) if kind == "dsse" else intoto_entry(env, pem(key))
    return {
        "mediaType": MEDIA[version],
        "verificationMaterial": {"publicKey": {"hint": "release"}, "tlogEntries": [log.entry(body)]},
        "dsseEnvelope": env,
    }
