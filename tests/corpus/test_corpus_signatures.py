"""Every labelled sigstore bundle and attestation in the shared corpus, through the real collectors.

Signatures: each bundle is verified offline with the trust root and artifact its label names, and
`verified` must equal the label's verdict (PASS -> true, anything else -> false). Where the gate
cannot or deliberately does not agree, the case sits in DISAGREE with the reason, and the test
checks that the disagreement is still exactly that (so a fix upstream shows up as a failure here).
Label verdicts that are not about a sigstore bundle (DSSE JSON Lines, GCB provenance) are listed in
NOT_SIGNATURES: the attestation collector judges their signatures, not the signature collector.

Attestations: every file under attestations/ (and every DSSE bundle under sigstore/) must be
collected with the predicate type, builder id and source its statement carries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gate.collect import attestation, cosign, sigstore_bundle
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import parse_file

pytestmark = pytest.mark.corpus

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LABELS: dict[str, Any] = (
    json.loads((CORPUS / "LABELS.json").read_text()) if (CORPUS / "LABELS.json").is_file() else {}
)
KEYS = sorted(k for k in LABELS if k.startswith(("sigstore/", "attestations/")))

CONF = "sigstore/sigstore__sigstore-conformance/test/assets/bundle-verify/"
SPY = "sigstore/sigstore__sigstore-python/test/assets/"
SGO = "sigstore/sigstore__sigstore-go/examples/"
SLSA = "attestations/slsa-framework__slsa-verifier/"
SLSA_CLI = SLSA + "cli/slsa-verifier/testdata/"
SLSA_GHA = SLSA + "verifiers/internal/gha/testdata/"
TRIVY = "attestations/aquasecurity__trivy/integration/testdata/fixtures/sbom/"

# Label verdict vs what the gate reports: key -> (verified reported, error substring or None, reason).
DISAGREE: dict[str, tuple[bool, str | None, str]] = {
    # sigstore-python treats the end of a TSA's validity as exclusive; the spec says inclusive.
    CONF + "trust-root-tsa-validity-end-inclusive/bundle.sigstore.json": (
        False,
        "not enough sources of verified time",
        "sigstore-python: TSA validity end is exclusive",
    ),
    # The npm response holds a provenance bundle the gate verifies (v0.1, signed entry timestamp) and
    # a publish attestation key-signed by the npm registry, whose key is not in the corpus.
    SLSA_GHA + "npm-attestations.intoto.sigstore": (
        False,
        "signatures.keys in gate.yaml names no key",
        "the npm registry's publish key is not in the corpus",
    ),
    # The gate pairs X.sigstore.json with X. Here X (a.dsse.staging-rekor-v2.txt) is not the statement's
    # subject (a.txt), so the gate fails closed; sigstore-python's test verifies the envelope alone.
    SPY + "a.dsse.staging-rekor-v2.txt.sigstore.json": (
        False,
        "is not a subject of the signed statement",
        "the file beside the bundle is not its subject",
    ),
    # The signature is cryptographically valid; the FAIL is about the signer (a workflow other than
    # publish-to-bcr), which the gate reports and the SIG-IDENTITY policy judges.
    SLSA_CLI + "bcr/MODULE-wrong-signer.bazel.intoto.jsonl": (
        True,
        None,
        "identity is judged by policy, not here",
    ),
}

# Public keys of key-signed bundles whose label names no `key` file beside the bundle.
PUBLIC_KEYS = {SGO + "bundle-publish.json": SGO + "publish_key.pub"}

# Label verdicts that are not about a sigstore bundle: DSSE envelopes with an embedded certificate or
# key signature, GCB provenance and a VSA. The gate collects them as attestations only (each with its
# verification result). They must produce no signature item at all.
NOT_SIGNATURES: dict[str, str] = {
    TRIVY + "centos-7-cyclonedx.intoto.jsonl": "DSSE signed with a test key that is not in the repo",
    SLSA_CLI
    + "binary-linux-amd64-expired-cert.intoto.jsonl": "DSSE with embedded cert; needs a Rekor search",
    SLSA_CLI + "binary-linux-amd64-multi-subject-first.intoto.jsonl": "DSSE with embedded cert",
    SLSA_CLI
    + "binary-linux-amd64-untrusted-builder.intoto.jsonl": "DSSE with embedded cert (builder: policy)",
    SLSA_CLI + "gcb_container/v0.3/gcloud-container-github.json": "GCB provenance signed by a Google KMS key",
    SLSA_CLI
    + "gcb_container/v0.3/gcloud-container-mismatch-payload-builderid.json": "GCB provenance, KMS key",
    SLSA_CLI + "vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl": "VSA signed with vsa_signing_public_key.pem",
}

# Files the gate refuses before any collector runs (not JSON): the label's FAIL holds.
REFUSED = {CONF + "bundle-malformed-json_fail/bundle.sigstore.json": "truncated JSON"}

# A trust root that itself does not load is a configuration error (exit 2), which also rejects.
BAD_TRUST_ROOT = {
    CONF + "trust-root-tlog-missing-validity-start_fail/bundle.sigstore.json": "validFor.start missing"
}

# A key file that is not a public key is a configuration error (exit 2), which also rejects.
BAD_KEY = {CONF + "managed-key-wrong-key_fail/bundle.sigstore.json": "key.pub is not a valid PEM key"}

# Artifacts for bundles whose name does not point at them.
ARTIFACTS = {SPY + "tsa/bundle.txt.late_timestamp.sigstore": SPY + "tsa/bundle.txt"}

V02 = "https://slsa.dev/provenance/v0.2"
V1 = "https://slsa.dev/provenance/v1"
GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
EXAMPLE_PACKAGE = "https://github.com/slsa-framework/example-package"
BCR = (
    V1,
    "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1",
    "https://github.com/aspect-build/rules_lint",
    "refs/heads/publish-to-bcr",
)
DELEGATOR = (
    "https://slsa.dev/provenance/v1.0?draft",
    "https://github.com/asraa/slsa-on-github/.github/workflows/goreleaser_slsa3.yml@refs/heads/main",
    "https://github.com/asraa/slsa-on-github-test",
    "refs/heads/main",
)
NPM_PROVENANCE = (
    V02,
    "https://github.com/npm/cli@9.5.0",
    "https://github.com/laurentsimon/provenance-npm-test",
    "refs/heads/main",
)
NPM_PUBLISH = ("https://github.com/npm/attestation/tree/main/specs/publish/v0.1", None, None, None)
GCB_V01 = "https://slsa.dev/provenance/v0.1"

# (predicate type, builder id, source repo, source ref) per attestation item, in file order.
ATTESTATIONS: dict[str, list[tuple[str | None, str | None, str | None, str | None]]] = {
    TRIVY + "centos-7-cyclonedx.intoto.jsonl": [("https://cyclonedx.org/bom", None, None, None)],
    SLSA_CLI + "bcr/MODULE-wrong-signer.bazel.intoto.jsonl": [BCR],
    SLSA_CLI + "bcr/MODULE.bazel.intoto.jsonl": [BCR],
    SLSA_CLI + "binary-linux-amd64-expired-cert.intoto.jsonl": [
        (
            V02,
            "https://github.com/asraa/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/heads/malicious",
            "https://github.com/asraa/slsa-on-github-test",
            "refs/heads/main",
        )
    ],
    SLSA_CLI + "binary-linux-amd64-multi-subject-first.intoto.jsonl": [
        (V02, GENERATOR + "generator_generic_slsa3.yml@refs/heads/main", EXAMPLE_PACKAGE, "refs/heads/main")
    ],
    SLSA_CLI + "binary-linux-amd64-untrusted-builder.intoto.jsonl": [
        (
            V02,
            "https://github.com/asraa/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v1.4.0",
            "https://github.com/asraa/slsa-on-github-test",
            "refs/heads/main",
        )
    ],
    SLSA_CLI + "gcb_container/v0.3/gcloud-container-github.json": [
        (
            GCB_V01,
            "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3",
            "https://github.com/laurentsimon/gcb-tests",
            None,
        )
    ],
    # The signed payload's builder id (v0.2) differs from the unsigned summary's (v0.3):
    # the gate reads the payload.
    SLSA_CLI + "gcb_container/v0.3/gcloud-container-mismatch-payload-builderid.json": [
        (
            GCB_V01,
            "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.2",
            "https://github.com/laurentsimon/gcb-tests",
            None,
        )
    ],
    SLSA_CLI + "vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl": [
        ("https://slsa.dev/verification_summary/v1", None, None, None)
    ],
    SLSA_GHA + "bundle/invalid-dsse-sig.intoto.sigstore": [DELEGATOR],
    SLSA_GHA + "bundle/invalid-set.intoto.sigstore": [DELEGATOR],
    SLSA_GHA + "bundle/mismatch-tlog.intoto.sigstore": [DELEGATOR],
    SLSA_GHA + "bundle/valid-v0.3.intoto.sigstore": [
        (V02, GENERATOR + "generator_generic_slsa3.yml@refs/heads/main", EXAMPLE_PACKAGE, "refs/heads/main")
    ],
    SLSA_GHA + "bundle/valid.intoto.sigstore": [(None, None, None, None)],  # its predicateType is ""
    SLSA_GHA + "npm-att-publish-nosubjects.intoto.sigstore": [NPM_PROVENANCE, NPM_PUBLISH],
    SLSA_GHA + "npm-attestations.intoto.sigstore": [NPM_PROVENANCE, NPM_PUBLISH],
    SGO + "bundle-provenance.json": [
        (
            V02,
            "https://github.com/actions/runner",
            "https://github.com/sigstore/sigstore-js",
            "refs/heads/main",
        )
    ],
    SGO + "bundle-publish.json": [NPM_PUBLISH],
}


def _settings(key: str, label: dict[str, Any]) -> CollectSettings:
    """The trust root and artifact the label names for this case."""
    bundle = CORPUS / key
    case = bundle.parent
    if key.startswith(CONF):
        root = str(case / "trusted_root.json") if label["trust_root"].startswith("custom") else "production"
        named = label["artifact"]
        artifact = case / "artifact" if named.startswith("artifact") else Path(os.path.normpath(case / named))
        keys = (case / label["key"],) if label.get("key") else ()
        return CollectSettings(trust_root=root, artifacts=(artifact,), keys=keys)
    root_label = str(label.get("trust_root", "production"))
    root = "production"
    if root_label.startswith("staging"):
        root = "staging"
    elif "trust_config.json" in root_label:
        root = str(case / "trust_config.json")
    elif "trusted-root-public-good.json" in root_label:
        root = str(CORPUS / SGO / "trusted-root-public-good.json")
    artifacts = (CORPUS / ARTIFACTS[key],) if key in ARTIFACTS else ()
    keys = (CORPUS / PUBLIC_KEYS[key],) if key in PUBLIC_KEYS else ()
    return CollectSettings(trust_root=root, artifacts=artifacts, keys=keys)


def _expected(label: dict[str, Any]) -> bool:
    return str(label["expected"]).startswith("PASS")


@pytest.mark.parametrize("key", KEYS)
def test_signature_label(corpus_dir: Path, key: str) -> None:
    label = LABELS[key]
    expected = _expected(label)
    try:
        parsed = parse_file(corpus_dir / key)
    except CollectError:
        assert key in REFUSED, f"{key} refused by the file reader"
        assert not expected
        return
    if not sigstore_bundle.recognise(parsed):
        assert key in NOT_SIGNATURES, f"{key} is not recognised as a sigstore bundle"
        assert not cosign.recognise(parsed)
        return
    assert key not in NOT_SIGNATURES
    try:
        items = sigstore_bundle.collect(parsed, _settings(key, label))["signatures"]
    except CollectError as exc:
        assert key in BAD_TRUST_ROOT or key in BAD_KEY, exc.one_line()
        assert ("trust root" if key in BAD_TRUST_ROOT else "signatures.keys") in exc.message
        assert not expected
        return
    assert items
    verdict = all(item["verified"] for item in items)
    errors = [item["error"] for item in items if item["error"]]
    if key in DISAGREE:
        reported, fragment, _reason = DISAGREE[key]
        assert verdict == reported, errors
        assert verdict != expected, f"{key} now agrees with its label: remove it from DISAGREE"
        if fragment is not None:
            assert any(fragment in e for e in errors), errors
    else:
        assert verdict == expected, errors
    if label["expected"] == "FAIL (load)":
        assert all(e.startswith("bundle does not load") for e in errors), errors
    summary = label.get("bundle_summary") or {}
    sans = summary.get("san")
    if sans:
        assert items[0]["identity"] == {"san": sans[0], "issuer": summary.get("oidc_issuer")}
    if summary.get("tlog"):
        assert [e["kind"] for e in items[0]["tlog_entries"]] == [t["kind"] for t in summary["tlog"]]


def test_wrong_signer_is_reported_for_the_policies(corpus_dir: Path) -> None:
    key = SLSA_CLI + "bcr/MODULE-wrong-signer.bazel.intoto.jsonl"
    [item] = sigstore_bundle.collect(parse_file(corpus_dir / key), CollectSettings())["signatures"]
    assert item["identity"]["san"] is not None
    assert "malicious" in item["identity"]["san"]
    assert item["artifact"]["path"] is not None
    assert item["artifact"]["path"].endswith("MODULE-wrong-signer.bazel")


@pytest.mark.parametrize("key", KEYS)
def test_attestation_label(corpus_dir: Path, key: str) -> None:
    label = LABELS[key]
    summary = label.get("bundle_summary") or {}
    is_dsse_bundle = summary.get("content") == "dsseEnvelope"
    if key in REFUSED:
        return
    parsed = parse_file(corpus_dir / key)
    if not (key.startswith("attestations/") or is_dsse_bundle):
        assert not attestation.recognise(parsed), f"{key}: a message-signature bundle is not an attestation"
        return
    assert attestation.recognise(parsed), key
    items = attestation.collect(parsed, CollectSettings())["attestations"]
    assert items
    for item in items:
        assert item["path"] == parsed.path
        assert item["sha256"] == parsed.sha256
    if key in ATTESTATIONS:
        got = [(i["predicate_type"], i["builder_id"], i["source"]["repo"], i["source"]["ref"]) for i in items]
        assert got == ATTESTATIONS[key]
    else:
        assert key.startswith("sigstore/"), f"{key}: add the expected attestation fields to ATTESTATIONS"
        assert all(str(i["predicate_type"]).startswith("https://slsa.dev/provenance/") for i in items)
        assert all(i["envelope"] == "sigstore-bundle" for i in items)
    if key.endswith("npm-att-publish-nosubjects.intoto.sigstore"):
        assert items[1]["subjects"] == []


def test_every_special_case_is_a_labelled_file() -> None:
    if not LABELS:
        pytest.skip("corpus labels not present")
    for table in (DISAGREE, NOT_SIGNATURES, REFUSED, BAD_TRUST_ROOT, BAD_KEY, ATTESTATIONS, PUBLIC_KEYS):
        for key in table:
            assert key in LABELS, key
