"""Attestation collector: statements, DSSE envelopes, JSON Lines, sigstore DSSE bundles, SLSA fields."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gate.collect import attestation, sigstore_bundle
from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import ParsedFile, parse_file
from gate.schemas import compile_schema

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/attestation"})

SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
DIGEST = "a" * 64


def statement(predicate_type: str, predicate: Any, *, version: str = "v1", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_type": f"https://in-toto.io/Statement/{version}",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": DIGEST}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    doc.update(extra)
    return doc


def slsa_v02(uri: str = "git+https://github.com/acme/app@refs/tags/v1.2.0") -> dict[str, Any]:
    return {
        "builder": {
            "id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/g.yml@refs/tags/v2"
        },
        "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
        "invocation": {
            "configSource": {"uri": uri, "digest": {"sha1": "1" * 40}, "entryPoint": ".github/w.yml"}
        },
        "materials": [{"uri": uri, "digest": {"sha1": "1" * 40}}],
    }


def slsa_v1(external: dict[str, Any], deps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    build: dict[str, Any] = {
        "buildType": "https://actions.github.io/buildtypes/workflow/v1",
        "externalParameters": external,
    }
    if deps is not None:
        build["resolvedDependencies"] = deps
    return {"buildDefinition": build, "runDetails": {"builder": {"id": "https://github.com/actions/runner"}}}


def envelope(payload: Any, *, urlsafe: bool = False) -> dict[str, Any]:
    raw = json.dumps(payload).encode()
    encoded = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
    return {
        "payloadType": "application/vnd.in-toto+json",
        "payload": encoded.decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(b"not a real signature").decode()}],
    }


def dsse_bundle(payload: Any) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": ""}, "tlogEntries": []},
        "dsseEnvelope": envelope(payload),
    }


def write(tmp_path: Path, name: str, content: Any) -> ParsedFile:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return parse_file(path)


def collect(parsed: ParsedFile) -> list[dict[str, Any]]:
    assert attestation.recognise(parsed)
    items = attestation.collect(parsed, CollectSettings())["attestations"]
    for item in items:
        ITEM.validate(item)
    return items


def test_plain_statement_slsa_v1_workflow(tmp_path: Path) -> None:
    external = {
        "workflow": {"repository": "https://github.com/acme/app", "ref": "refs/heads/main", "path": "r.yml"}
    }
    parsed = write(tmp_path, "prov.json", statement(SLSA_V1, slsa_v1(external)))
    [item] = collect(parsed)
    assert item["envelope"] == "statement"
    assert item["index"] == 0
    assert item["predicate_type"] == SLSA_V1
    assert item["builder_id"] == "https://github.com/actions/runner"
    assert item["source"] == {"repo": "https://github.com/acme/app", "ref": "refs/heads/main"}
    assert item["subjects"] == [{"name": "app.tar.gz", "digest": {"sha256": DIGEST}}]
    assert item["path"] == parsed.path
    assert item["sha256"] == parsed.sha256


def test_dsse_envelope_slsa_v02(tmp_path: Path) -> None:
    parsed = write(tmp_path, "app.intoto.json", envelope(statement(SLSA_V02, slsa_v02(), version="v0.1")))
    [item] = collect(parsed)
    assert item["envelope"] == "dsse"
    assert item["predicate_type"] == SLSA_V02
    assert item["builder_id"].startswith("https://github.com/slsa-framework/slsa-github-generator/")
    assert item["source"] == {"repo": "https://github.com/acme/app", "ref": "refs/tags/v1.2.0"}


def test_urlsafe_base64_payload(tmp_path: Path) -> None:
    # "~~~" encodes to "fn5-" in URL-safe base64: the decoder must accept both alphabets.
    predicate = {"note": "~~~?>>"}
    parsed = write(
        tmp_path, "x.intoto.json", envelope(statement("https://example.com/p", predicate), urlsafe=True)
    )
    [item] = collect(parsed)
    assert item["predicate_type"] == "https://example.com/p"


def test_json_lines_index_is_the_line_number(tmp_path: Path) -> None:
    lines = [
        json.dumps(envelope(statement(SLSA_V02, slsa_v02(), version="v0.1"))),
        "",
        json.dumps(envelope(statement("https://cyclonedx.org/bom", {"bomFormat": "CycloneDX"}))),
        json.dumps(
            envelope(statement("https://slsa.dev/verification_summary/v1", {"verifier": {"id": "x"}}))
        ),
    ]
    parsed = write(tmp_path, "multi.intoto.jsonl", "\n".join(lines) + "\n")
    assert parsed.syntax == "jsonl"
    items = collect(parsed)
    assert [i["index"] for i in items] == [0, 2, 3]
    assert [i["predicate_type"] for i in items] == [
        SLSA_V02,
        "https://cyclonedx.org/bom",
        "https://slsa.dev/verification_summary/v1",
    ]
    assert items[0]["builder_id"] is not None
    for other in items[1:]:
        assert other["builder_id"] is None
        assert other["source"] == {"repo": None, "ref": None}


def test_sigstore_dsse_bundle_is_both_signature_and_attestation(tmp_path: Path) -> None:
    parsed = write(
        tmp_path, "app.sigstore.json", dsse_bundle(statement(SLSA_V02, slsa_v02(), version="v0.1"))
    )
    assert sigstore_bundle.recognise(parsed)
    [item] = collect(parsed)
    assert item["envelope"] == "sigstore-bundle"
    assert item["source"]["repo"] == "https://github.com/acme/app"


def test_message_signature_bundle_is_not_an_attestation(tmp_path: Path) -> None:
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": ""}, "tlogEntries": []},
        "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": ""}, "signature": ""},
    }
    parsed = write(tmp_path, "a.sigstore.json", bundle)
    assert sigstore_bundle.recognise(parsed)
    assert not attestation.recognise(parsed)


def test_npm_attestations_and_gcb_provenance_shapes(tmp_path: Path) -> None:
    npm = {
        "attestations": [
            {
                "predicateType": SLSA_V02,
                "bundle": dsse_bundle(statement(SLSA_V02, slsa_v02(), version="v0.1")),
            },
            {
                "predicateType": "p",
                "bundle": dsse_bundle(statement("https://github.com/npm/attestation/publish", {})),
            },
        ]
    }
    items = collect(write(tmp_path, "npm.json", npm))
    assert [(i["index"], i["envelope"]) for i in items] == [(0, "sigstore-bundle"), (1, "sigstore-bundle")]
    gcb_statement = statement(
        "https://slsa.dev/provenance/v0.1",
        {
            "builder": {"id": "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3"},
            "materials": [{"uri": "https://github.com/acme/app", "digest": {"sha1": "2" * 40}}],
        },
        version="v0.1",
    )
    gcb = {"image_summary": {}, "provenance_summary": {"provenance": [{"envelope": envelope(gcb_statement)}]}}
    [item] = collect(write(tmp_path, "gcb.json", gcb))
    assert item["envelope"] == "dsse"
    assert item["builder_id"] == "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3"
    assert item["source"] == {"repo": "https://github.com/acme/app", "ref": None}


@pytest.mark.parametrize(
    ("uri", "repo", "ref"),
    [
        ("git+https://github.com/acme/app@refs/heads/main", "https://github.com/acme/app", "refs/heads/main"),
        ("https://github.com/acme/app.git", "https://github.com/acme/app", None),
        ("https://github.com/acme/app/", "https://github.com/acme/app", None),
        ("git+ssh://git@github.com/acme/app@v1.0.0", "ssh://git@github.com/acme/app", "v1.0.0"),
        (
            "git+https://github.com/acme/app@refs/tags/v1#sub/dir",
            "https://github.com/acme/app",
            "refs/tags/v1",
        ),
        ("github.com/acme/app@main", "github.com/acme/app", "main"),
        ("", None, None),
    ],
)
def test_split_source_uri(uri: str, repo: str | None, ref: str | None) -> None:
    assert attestation.split_source_uri(uri) == (repo, ref)


@pytest.mark.parametrize(
    ("predicate", "repo", "ref"),
    [
        (
            slsa_v1({"source": "git+https://github.com/acme/app@refs/tags/v3"}),
            "https://github.com/acme/app",
            "refs/tags/v3",
        ),
        (
            slsa_v1({"source": {"uri": "git+https://github.com/acme/app@refs/tags/v4"}}),
            "https://github.com/acme/app",
            "refs/tags/v4",
        ),
        (
            slsa_v1({"source": {"artifact": {"uri": "git+https://github.com/acme/app@refs/heads/dev"}}}),
            "https://github.com/acme/app",
            "refs/heads/dev",
        ),
        (
            slsa_v1(
                {
                    "buildConfigSource": {
                        "repository": "git+https://github.com/acme/app",
                        "ref": "refs/heads/main",
                    }
                }
            ),
            "https://github.com/acme/app",
            "refs/heads/main",
        ),
        (
            slsa_v1(
                {"inputs": {}},
                deps=[
                    {"uri": "bash@sha256:" + DIGEST, "digest": {"sha256": DIGEST}},
                    {
                        "uri": "git+https://github.com/acme/app@refs/tags/v5",
                        "digest": {"gitCommit": "3" * 40},
                    },
                ],
            ),
            "https://github.com/acme/app",
            "refs/tags/v5",
        ),
        (slsa_v1({}), None, None),
        ({"buildDefinition": "not an object"}, None, None),
    ],
)
def test_slsa_v1_source_variants(predicate: dict[str, Any], repo: str | None, ref: str | None) -> None:
    _, got_repo, got_ref = attestation.provenance_fields(SLSA_V1, predicate)
    assert (got_repo, got_ref) == (repo, ref)


def test_slsa_v02_without_config_source_uses_materials() -> None:
    predicate = slsa_v02()
    del predicate["invocation"]
    builder, repo, ref = attestation.provenance_fields(SLSA_V02, predicate)
    assert builder is not None
    assert (repo, ref) == ("https://github.com/acme/app", "refs/tags/v1.2.0")


def test_other_predicates_have_no_builder_or_source() -> None:
    vsa = {"verifier": {"id": "https://verifier.example"}, "builder": {"id": "would be wrong to report"}}
    assert attestation.provenance_fields("https://slsa.dev/verification_summary/v1", vsa) == (
        None,
        None,
        None,
    )
    assert attestation.provenance_fields(None, {}) == (None, None, None)


def test_subjects_are_normalised() -> None:
    doc = {
        "subject": [
            {"uri": "pkg:npm/x@1", "digest": {"sha512": "ff", "bad": 3}},
            {"name": "b", "digest": "not a map"},
            "not a subject",
        ]
    }
    assert attestation.statement_subjects(doc) == [
        {"name": "pkg:npm/x@1", "digest": {"sha512": "ff"}},
        {"name": "b", "digest": {}},
    ]
    assert attestation.statement_subjects({"subject": "x"}) == []


def test_empty_predicate_type_is_null(tmp_path: Path) -> None:
    [item] = collect(write(tmp_path, "s.json", statement("", {})))
    assert item["predicate_type"] is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("%%% not base64 %%%", "not valid base64"),
        (base64.b64encode(b"{not json").decode(), "not JSON"),
        (base64.b64encode(b"[1, 2]").decode(), "not an object"),
        (12, "not a base64 string"),
    ],
)
def test_malformed_envelope_is_a_collect_error(tmp_path: Path, payload: Any, message: str) -> None:
    env = {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": []}
    parsed = write(tmp_path, "bad.intoto.json", env)
    assert attestation.recognise(parsed)
    with pytest.raises(CollectError) as info:
        attestation.collect(parsed, CollectSettings())
    err = info.value
    assert message in err.message
    assert err.path == parsed.path
    assert err.remediation
    assert str(tmp_path) in err.one_line()


def test_stray_line_in_json_lines_is_a_collect_error(tmp_path: Path) -> None:
    text = (
        json.dumps(envelope(statement(SLSA_V02, slsa_v02()))) + "\n" + json.dumps({"hello": "world"}) + "\n"
    )
    parsed = write(tmp_path, "x.intoto.jsonl", text)
    with pytest.raises(CollectError, match="line 2"):
        attestation.collect(parsed, CollectSettings())


def test_deeply_nested_payload_is_refused(tmp_path: Path) -> None:
    raw = base64.b64encode(("[" * 300 + "]" * 300).encode()).decode()
    env = {"payloadType": "application/vnd.in-toto+json", "payload": raw, "signatures": []}
    with pytest.raises(CollectError, match="nested"):
        attestation.collect(write(tmp_path, "deep.intoto.json", env), CollectSettings())


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("sbom.json", {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}),
        (
            "cosign.json",
            [{"critical": {"identity": {}, "image": {"docker-manifest-digest": "sha256:" + DIGEST}}}],
        ),
        ("catalog.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"),
        ("other.json", {"_type": "https://in-toto.io/Statement/v9", "subject": []}),
    ],
)
def test_not_recognised(tmp_path: Path, name: str, content: Any) -> None:
    assert not attestation.recognise(write(tmp_path, name, content))
