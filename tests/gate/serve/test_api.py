"""`gate serve` as a real subprocess: decisions, refusals, limits, fail-closed errors and audit records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gate import __version__
from tests.gate.serve.server import (
    CONFIG,
    EXAMPLE,
    PINNED_TIME,
    TEST_LIMIT,
    TOKEN,
    GateServer,
    example_files,
    gate_server,
)
from tests.helpers import audit_env, run_gate
from tests.opa_server_fixture import free_port

DECISION_KEYS = {
    "outcome",
    "environment",
    "findings",
    "summary",
    "inputs",
    "engine",
    "policy",
    "input",
    "audit",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    with gate_server(tmp_path_factory.mktemp("serve")) as running:
        yield running


def _gate_check(env_name: str) -> tuple[int, dict[str, Any]]:
    run = run_gate(
        "check", EXAMPLE, "--config", CONFIG, "--env", env_name, "--format", "json",
        env={"GATE_TIME": PINNED_TIME},
    )  # fmt: skip
    return run.code, run.json()


def _comparable(decision: dict[str, Any], prefix: str = "") -> Any:
    """The decision without what differs per run or per place: audit, engine, input digest, folder,
    and where the config came from (the server's own, against the pinned one of `gate check`)."""
    skip = ("audit", "engine", "input", "sources")
    text = json.dumps({k: v for k, v in decision.items() if k not in skip})
    return json.loads(text.replace(prefix, "") if prefix else text)


def _record_statement(log: Path, index: int, tmp_path: Path) -> dict[str, Any]:
    from audit.log import AuditLog
    from audit.record import EXTENSION
    from audit.verify import verify_record

    audit_log = AuditLog(log)
    entry = audit_log.entry(index)
    verified = verify_record(audit_log.record(entry.record), _trust(tmp_path))
    detail = verified.statement["predicate"][EXTENSION]
    assert isinstance(detail, dict)
    return {"detail": detail, "subjects": verified.statement["subject"], "record": entry.record}


def _log_key() -> Any:
    from audit.note import NoteSigner

    return NoteSigner.from_skey(audit_env()["GATE_LOG_KEY"]).verifier


def _trust(tmp_path: Path) -> Any:
    from audit.keys import load_public_key, load_record_key
    from audit.verify import Trust

    pub = tmp_path / "audit.pub"
    pub.write_bytes(load_record_key(audit_env()["GATE_SIGNING_KEY"].encode(), "test key").public_pem())
    return Trust(keys=(load_public_key(pub),))


# --- health and the OpenAPI document -----------------------------------------------------------


def test_healthz_needs_no_token(server: GateServer) -> None:
    with server.client(authorised=False) as client:
        resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "version": __version__, "engine": "embedded"}


def test_openapi_documents_every_status_of_check(server: GateServer) -> None:
    with server.client(authorised=False) as client:
        doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/check"]["post"]
    responses = post["responses"]
    assert set(responses) == {"200", "400", "401", "408", "413", "422", "503"}

    def ref(status: str) -> str:
        return str(responses[status]["content"]["application/json"]["schema"]["$ref"])

    assert ref("200").endswith("/DecisionOut") and ref("422").endswith("/DecisionOut")
    assert ref("503").endswith("/DecisionOut")
    assert all(ref(s).endswith("/ErrorOut") for s in ("400", "401", "408", "413"))
    assert "HTTPValidationError" not in json.dumps(doc)  # 422 means blocked here, not FastAPI's default
    assert post["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["paths"]["/healthz"]["get"]["responses"]["200"]


# --- decisions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_name", "status", "outcome", "exit_code"), [("dev", 200, "warn", 0), ("prod", 422, "block", 1)]
)
def test_example_service_decides_as_gate_check(
    server: GateServer, env_name: str, status: int, outcome: str, exit_code: int
) -> None:
    resp = server.check({"environment": env_name, "files": example_files()})
    assert resp.status_code == status, resp.text
    decision = resp.json()
    assert decision["outcome"] == outcome
    assert set(decision) >= DECISION_KEYS
    assert decision["engine"]["name"] == "embedded"
    assert decision["audit"]["record"].startswith("sha256:")
    paths = {f["subject"]["path"] for f in decision["findings"]}
    assert paths <= {"catalog-info.yaml", "template.yaml", "sbom.cdx.json", None}, paths
    code, local = _gate_check(env_name)
    assert code == exit_code
    assert _comparable(decision) == _comparable(local, prefix="examples/payments-api/")


def test_files_may_be_sent_base64_and_in_folders(server: GateServer) -> None:
    import base64

    files = [
        {
            "path": f"service/{f['path']}",
            "content": base64.b64encode(f["content"].encode()).decode(),
            "encoding": "base64",
        }
        for f in example_files()
    ]
    resp = server.check({"environment": "prod", "files": files})
    assert resp.status_code == 422, resp.text
    paths = {f["subject"]["path"] for f in resp.json()["findings"]} - {None}
    assert paths and all(p.startswith("service/") for p in paths)


def test_scaffolder_request_with_only_template_and_entities(server: GateServer) -> None:
    template = (EXAMPLE / "template.yaml").read_text(encoding="utf-8")
    entities = list(yaml.safe_load_all((EXAMPLE / "catalog-info.yaml").read_text(encoding="utf-8")))
    body = {
        "environment": "prod",
        "service": "payments-api",
        "template": template,
        "entities": entities,
        "context": {"repository": "https://github.com/acme/payments-api", "actor": "user:jdoe"},
    }
    resp = server.check(body)
    assert resp.status_code == 422, resp.text
    decision = resp.json()
    assert decision["inputs"]["templates"] == 1 and decision["inputs"]["catalog"] == 2
    by_check = {(f["check"], f["subject"]["path"], f["action"]) for f in decision["findings"]}
    assert ("TEMPLATE-ACTIONS-ALLOWED", "template", "block") in by_check
    assert ("CATALOG-OWNER-GROUP", "entities[0]", "waived") in by_check
    assert ("CATALOG-ONCALL", "entities[0]", "warn") in by_check


def test_template_may_be_an_object(server: GateServer) -> None:
    template = yaml.safe_load((EXAMPLE / "template.yaml").read_text(encoding="utf-8"))
    resp = server.check({"environment": "dev", "template": template})
    assert resp.status_code == 200, resp.text
    assert resp.json()["outcome"] == "warn"
    assert {f["subject"]["path"] for f in resp.json()["findings"]} <= {"template", None}


# --- refusals -----------------------------------------------------------------------------------

_BAD_REQUESTS: list[tuple[str, Any, str]] = [
    (
        "bad-yaml",
        {"files": [{"path": "catalog-info.yaml", "content": "kind: [Component"}]},
        "catalog-info.yaml: malformed YAML",
    ),
    ("bad-yaml-entity", {"entities": ["kind: [Component"]}, "entities[0]: malformed YAML"),
    ("traversal", {"files": [{"path": "../../etc/passwd.yaml", "content": "a: 1"}]}, "files[0].path"),
    ("traversal-inside", {"files": [{"path": "a/../../b.yaml", "content": "a: 1"}]}, "leaves the repository"),
    ("absolute", {"files": [{"path": "/etc/passwd.yaml", "content": "a: 1"}]}, "absolute"),
    ("backslash", {"files": [{"path": "..\\x.yaml", "content": "a: 1"}]}, "files[0].path"),
    (
        "duplicate",
        {"files": [{"path": "a.yaml", "content": "a: 1"}, {"path": "a.yaml", "content": "b: 1"}]},
        "given twice",
    ),
    (
        "file-and-folder",
        {"files": [{"path": "a", "content": "x"}, {"path": "a/b.yaml", "content": "x"}]},
        "which is a file",
    ),
    ("empty", {}, "no files, template or entities"),
    ("empty-lists", {"files": [], "entities": []}, "no files, template or entities"),
    ("files-not-a-list", {"files": "catalog-info.yaml"}, "files:"),
    ("entity-a-number", {"entities": [1]}, "entities[0]:"),
    ("content-not-text", {"files": [{"path": "a.yaml", "content": 5}]}, "files[0].content:"),
    ("context-type", {"template": "kind: x", "context": {"actor": 7}}, "context.actor:"),
    ("unknown-field", {"template": "kind: x", "enviroment": "prod"}, "enviroment:"),
    (
        "bad-encoding",
        {"files": [{"path": "a.yaml", "content": "x", "encoding": "utf-16"}]},
        "files[0].encoding:",
    ),
    (
        "bad-base64",
        {"files": [{"path": "a.yaml", "content": "@@@", "encoding": "base64"}]},
        "files[0].content: content is not valid base64",
    ),
    ("unrecognised-entity", {"entities": [{"hello": "world"}]}, "entities[0]: not a recognised input"),
    (
        "unknown-environment",
        {"environment": "moon", "entities": ["kind: x"]},
        "environment: unknown environment 'moon'",
    ),
    ("not-an-object", [1, 2], "must be a JSON object"),
    (
        "control-character",
        {"entities": ["kind: \u008c"]},
        "entities[0]: YAML does not allow the character U+008C",
    ),
    (
        "control-character-file",
        # a file that is recognisably an input (by its name): one that is not is skipped, as in a walk
        {
            "files": [
                {"path": "README.md", "content": "\u008c"},
                {"path": "c/catalog-info.yaml", "content": "a: \u008c"},
            ]
        },
        "c/catalog-info.yaml: YAML does not allow the character U+008C",
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [(b, e) for _, b, e in _BAD_REQUESTS], ids=[i for i, _, _ in _BAD_REQUESTS]
)
def test_bad_requests_get_400_naming_the_field(server: GateServer, body: Any, expected: str) -> None:
    resp = server.check(body)
    assert resp.status_code == 400, resp.text
    err = resp.json()
    assert set(err) == {"error", "remediation"}
    assert expected in err["error"]
    assert "\n" not in err["error"] and err["remediation"]
    assert "gate-serve-" not in resp.text  # never the server's temporary folder


def test_a_request_with_nothing_to_check_is_refused_where_the_environment_blocks(server: GateServer) -> None:
    """As `gate check` on a folder with no input: nothing checked never reads as a pass."""
    files = [{"path": "README.md", "content": "# payments\n"}, {"path": "src/app.py", "content": "x = 1\n"}]
    resp = server.check({"environment": "prod", "files": files})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"].startswith("nothing to check: ")
    assert "the request's files" in resp.json()["error"] and "gate-serve-" not in resp.text
    resp = server.check({"environment": "dev", "files": files})
    assert resp.status_code == 200, resp.text
    decision = resp.json()
    assert decision["outcome"] != "error" and not any(decision["inputs"].values())


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b'{"files": [', "application/json", "not valid JSON"),
        (b"", "application/json", "body is missing"),
        (b'{"template": "kind: x"}', "text/plain", "must be a JSON object"),
        (b'{"entities": ["\\ud800"]}', "application/json", "entities[0]: not valid Unicode"),
    ],
    ids=["malformed-json", "no-body", "not-json-content-type", "lone-surrogate"],
)
def test_malformed_bodies_get_400(
    server: GateServer, content: bytes, content_type: str, expected: str
) -> None:
    with server.client() as client:
        resp = client.post("/v1/check", content=content, headers={"content-type": content_type})
    assert resp.status_code == 400, resp.text
    assert expected in resp.json()["error"]


@pytest.mark.parametrize(
    "authorization",
    [None, f"Bearer {TOKEN}x", "Bearer", f"Basic {TOKEN}", TOKEN],
    ids=["missing", "wrong", "empty", "basic", "no-scheme"],
)
def test_token_is_required(server: GateServer, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
        resp = client.post("/v1/check", json={}, headers=headers)  # 401 comes before the body is looked at
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert "error" in resp.json()


def test_body_over_the_limit_gets_413(server: GateServer) -> None:
    with server.client() as client:
        big = client.post(
            "/v1/check", content=b" " * (TEST_LIMIT + 1), headers={"content-type": "application/json"}
        )
        at_limit = client.post(
            "/v1/check", content=b" " * TEST_LIMIT, headers={"content-type": "application/json"}
        )
    assert big.status_code == 413, big.text
    assert "limit" in big.json()["error"]
    assert at_limit.status_code == 400  # within the limit: parsed, and refused as no JSON


def test_chunked_body_over_the_limit_gets_413(server: GateServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(TEST_LIMIT // 65536 + 2):
            yield b" " * 65536

    with server.client() as client:
        resp = client.post("/v1/check", content=chunks(), headers={"content-type": "application/json"})
    assert resp.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413, resp.text


# --- fail closed --------------------------------------------------------------------------------


def test_engine_failure_is_503_with_outcome_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    args = ("--engine", "opa-server", "--opa-url", dead, "--opa-retries", "0", "--opa-timeout", "5")
    with gate_server(tmp_path, *args) as running:
        with running.client(authorised=False) as client:
            assert client.get("/healthz").json()["engine"] == "opa-server"
        resp = running.check({"environment": "prod", "files": example_files()})
    assert resp.status_code == 503, resp.text
    decision = resp.json()
    assert decision["outcome"] == "error"
    assert decision["environment"] == "prod"
    assert decision["findings"] == []
    assert decision["error"]
    assert decision["engine"]["name"] == "opa-server"
    assert decision["audit"]["record"].startswith("sha256:")  # the error itself is on record


@pytest.mark.parametrize(("env_name", "status", "outcome"), [("prod", 503, "error"), ("dev", 200, "warn")])
def test_audit_failure_fails_closed_where_the_environment_blocks(
    tmp_path: Path, env_name: str, status: int, outcome: str
) -> None:
    not_a_folder = tmp_path / "log-is-a-file"
    not_a_folder.write_text("x", encoding="utf-8")
    with gate_server(tmp_path / "server", "--audit-log", str(not_a_folder)) as running:
        resp = running.check({"environment": env_name, "files": example_files()})
    assert resp.status_code == status, resp.text
    decision = resp.json()
    assert decision["outcome"] == outcome
    assert decision["audit"] is None
    if outcome == "error":
        assert "audit record not written" in decision["error"]


def test_startup_refuses_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text("environment: [not, a, name]\n", encoding="utf-8")
    run = run_gate("serve", "--config", config, "--port", str(free_port()))
    assert run.code == 2, run.stderr
    assert "gate:" in run.stderr
    run = run_gate("serve", "--engine", "opa-server", "--port", str(free_port()))
    assert run.code == 2 and "--opa-url" in run.stderr


# --- audit records ------------------------------------------------------------------------------


def test_every_decision_gets_a_verifiable_record(tmp_path: Path) -> None:
    from audit.verify import verify_log

    leaked = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "server/leak", "GITHUB_SHA": "f" * 40}
    context = {
        "repository": "https://github.com/acme/payments-api",
        "commit": "a" * 40,
        "ref": "refs/heads/main",
        "actor": "user:jdoe",
        "change_id": "42",
        "run_id": "task-7",
    }
    template = (EXAMPLE / "template.yaml").read_text(encoding="utf-8")
    bodies: list[dict[str, Any]] = [
        {"environment": "prod", "files": example_files(), "context": context},
        {"environment": "dev", "files": example_files(), "service": "payments-api"},
        *(
            {"environment": "staging", "template": template, "context": {"run_id": f"run-{i}"}}
            for i in range(6)
        ),
    ]
    with gate_server(tmp_path / "server", env=leaked) as running:
        refused = running.check({"files": []})
        with ThreadPoolExecutor(max_workers=4) as pool:
            responses = list(pool.map(running.check, bodies))
        log = running.audit_log
    assert refused.status_code == 400
    assert [r.status_code for r in responses[:2]] == [422, 200]
    decisions = [r.json() for r in responses]
    indexes = sorted(d["audit"]["index"] for d in decisions)
    assert indexes == list(range(len(bodies)))  # one record per decision, none for the refusal

    report = verify_log(log, _trust(tmp_path), log_key=_log_key())
    assert report.ok, [p.line() for p in report.problems]
    assert report.size == len(bodies)

    first = _record_statement(log, decisions[0]["audit"]["index"], tmp_path)
    assert first["record"] == decisions[0]["audit"]["record"]
    detail = first["detail"]
    assert detail["outcome"] == "block" and detail["environment"] == "prod"
    assert detail["inputDigest"] == decisions[0]["input"]["digest"]
    assert {k: detail["context"][k] for k in context} == context
    assert detail["context"]["ci"] == "none"  # the server's own GitHub variables stay out
    assert {s["name"] for s in first["subjects"]} == {"catalog-info.yaml", "template.yaml", "sbom.cdx.json"}

    second = _record_statement(log, decisions[1]["audit"]["index"], tmp_path)["detail"]
    assert second["context"]["repository"] is None and second["context"]["commit"] is None
    assert second["context"]["service"] == "payments-api"


def test_a_request_whose_file_is_refused_is_recorded_as_gate_check_records_it(tmp_path: Path) -> None:
    """One rule for `gate check` and `gate serve` (gate.pipeline): an input refused while it is
    collected leaves a refusal record, outcome error, with no stored input."""
    from audit.log import AuditLog

    body = {
        "environment": "prod",
        "files": [{"path": "sbom.cdx.json", "content": '{"bomFormat": "CycloneDX", '}],
    }
    with gate_server(tmp_path / "server") as running:
        resp = running.check(body)
        log = running.audit_log
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"].startswith("sbom.cdx.json: ")
    audit_log = AuditLog(log)
    assert audit_log.size() == 1 and audit_log.entry(0).input is None
    detail = _record_statement(log, 0, tmp_path)["detail"]
    assert detail["outcome"] == "error" and detail["environment"] == "prod"
    assert "sbom.cdx.json" in detail["error"] and str(tmp_path) not in detail["error"]


def test_gate_audit_verify_accepts_the_servers_log(tmp_path: Path) -> None:
    with gate_server(tmp_path / "server") as running:
        resp = running.check(
            {
                "environment": "prod",
                "entities": [
                    "kind: Component\napiVersion: backstage.io/v1alpha1\nmetadata: {name: a}\nspec: {type: service, lifecycle: production, owner: group:a}\n"
                ],
            }
        )
        log = running.audit_log
    assert resp.status_code in (200, 422), resp.text
    _trust(tmp_path)
    (tmp_path / "log.pub").write_text(_log_key().vkey + "\n")
    run = run_gate(
        "audit", "verify", "--log", log, "--key", tmp_path / "audit.pub", "--log-key", tmp_path / "log.pub"
    )
    assert run.code == 0, run.stdout + run.stderr


def test_the_servers_own_config_beside_it_is_trusted_and_named(tmp_path: Path) -> None:
    """The change under review arrives in the request: the operator's config in the server's own
    folder is used in prod (no pin needed) and every decision names it as its source."""
    with gate_server(tmp_path / "serve", "--env", "prod") as running:
        resp = running.check({"files": example_files()})
    assert resp.status_code == 422, resp.text
    sources = resp.json()["sources"]
    assert [(s["kind"], s["origin"]) for s in sources] == [
        ("config", "outside the working tree"),
        ("waivers", "outside the working tree"),
    ]
