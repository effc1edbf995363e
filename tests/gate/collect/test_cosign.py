"""cosign verify JSON output: verified image signatures with identity and Rekor entry."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gate.collect import attestation, cosign, sigstore_bundle
from gate.collect.base import CollectSettings
from gate.collect.parse import ParsedFile, parse_file
from gate.schemas import compile_schema

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/signature"})

DIGEST = "b" * 64
IMAGE = "ghcr.io/acme/payments"
WORKFLOW = "https://github.com/acme/payments/.github/workflows/release.yml@refs/tags/v1.0.0"
ACTIONS = "https://token.actions.githubusercontent.com"


def rekor_body(kind: str = "hashedrekord", version: str = "0.0.1") -> str:
    return base64.b64encode(json.dumps({"apiVersion": version, "kind": kind, "spec": {}}).encode()).decode()


def entry(optional: dict[str, Any] | None, digest: str = "sha256:" + DIGEST) -> dict[str, Any]:
    return {
        "critical": {
            "identity": {"docker-reference": IMAGE},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": optional,
    }


def keyless(**extra: Any) -> dict[str, Any]:
    optional: dict[str, Any] = {
        "1.3.6.1.4.1.57264.1.1": ACTIONS,
        "Bundle": {
            "SignedEntryTimestamp": "MEUCIQ==",
            "Payload": {
                "body": rekor_body(),
                "integratedTime": 1700000000,
                "logIndex": 123456,
                "logID": "c0d2",
            },
        },
        "Issuer": ACTIONS,
        "Subject": WORKFLOW,
        "githubWorkflowTrigger": "push",
    }
    optional.update(extra)
    return entry(optional)


def write(tmp_path: Path, doc: Any, *, leading_newline: bool = True) -> ParsedFile:
    path = tmp_path / "verify.json"
    # cosign prints "\n<json>\n" on stdout; a redirected file starts with a blank line.
    path.write_text(("\n" if leading_newline else "") + json.dumps(doc) + "\n", encoding="utf-8")
    return parse_file(path)


def collect(parsed: ParsedFile) -> list[dict[str, Any]]:
    assert cosign.recognise(parsed)
    items = cosign.collect(parsed, CollectSettings())["signatures"]
    for item in items:
        ITEM.validate(item)
    return items


def test_keyless_result(tmp_path: Path) -> None:
    parsed = write(tmp_path, [keyless()])
    [item] = collect(parsed)
    assert item["source"] == "cosign"
    assert item["verified"] is True
    assert item["error"] is None
    assert item["artifact"] == {"path": f"{IMAGE}@sha256:{DIGEST}", "sha256": DIGEST}
    assert item["identity"] == {"san": WORKFLOW, "issuer": ACTIONS}
    assert item["tlog_entries"] == [
        {"log_index": 123456, "integrated_time": 1700000000, "kind": "hashedrekord/0.0.1"}
    ]
    assert item["trust_root"] == "cosign"
    assert item["path"] == parsed.path
    assert item["sha256"] == parsed.sha256


def test_old_cosign_subject_list_and_oid_issuer(tmp_path: Path) -> None:
    optional = {"Subject": ["dev@acme.example"], "1.3.6.1.4.1.57264.1.1": "https://accounts.google.com"}
    [item] = collect(write(tmp_path, [entry(optional)], leading_newline=False))
    assert item["identity"] == {"san": "dev@acme.example", "issuer": "https://accounts.google.com"}
    assert item["tlog_entries"] == []


def test_key_signed_result_has_no_identity(tmp_path: Path) -> None:
    [item] = collect(write(tmp_path, [entry(None)]))
    assert item["identity"] == {"san": None, "issuer": None}
    assert item["tlog_entries"] == []
    assert item["verified"] is True


def test_several_signatures_and_odd_values(tmp_path: Path) -> None:
    odd = keyless(Bundle={"Payload": {"body": "%%%", "integratedTime": "1700000001", "logIndex": "7"}})
    sha512 = entry({"Subject": WORKFLOW}, digest="sha512:" + "c" * 128)
    items = collect(write(tmp_path, [keyless(), odd, sha512]))
    assert len(items) == 3
    assert items[1]["tlog_entries"] == [{"log_index": 7, "integrated_time": 1700000001, "kind": None}]
    assert items[2]["artifact"] == {"path": f"{IMAGE}@sha512:{'c' * 128}", "sha256": None}


@pytest.mark.parametrize(
    "doc",
    [
        [],
        [{"critical": {"identity": {}, "image": {}}}],
        [keyless(), {"something": "else"}],
        {"critical": {"identity": {}, "image": {"docker-manifest-digest": "sha256:" + DIGEST}}},
        [{"payloadType": "application/vnd.in-toto+json", "payload": "", "signatures": []}],
    ],
)
def test_not_recognised(tmp_path: Path, doc: Any) -> None:
    assert not cosign.recognise(write(tmp_path, doc))


def test_other_collectors_leave_cosign_output_alone(tmp_path: Path) -> None:
    parsed = write(tmp_path, [keyless()])
    assert not sigstore_bundle.recognise(parsed)
    assert not attestation.recognise(parsed)
