"""The opa-server engine and `gate policy push` against a real `opa run --server` on 127.0.0.1.

Parity with the embedded engine on the example service and scenarios built by code; provenance
(decision id, bundle revision, version); and each failure saying which: down, slow, missing
policy, token, TLS, server error, malformed answer, compile error on push.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from urllib3.exceptions import InsecureRequestWarning

from gate import input as input_doc
from gate.collect.registry import collect_paths
from gate.config import from_mapping, load_config
from gate.context import build_context
from gate.engine.embedded import EmbeddedEngine
from gate.engine.opa_server import OpaConnection, OpaServerEngine
from gate.errors import ConfigError, EngineError
from gate.policy.policy_set import PolicySet, build_policy_set
from gate.policy.push import PREFIX, delete_all, dependency_order, push
from gate.waivers import load_waivers
from tests.helpers import ROOT, component_entity, cyclonedx_bom, npm_component, write_json, write_yaml
from tests.opa_server_fixture import OpaServer, free_port, make_tls, opa_server

EXAMPLE = ROOT / "examples" / "payments-api"
EXAMPLE_CONFIG = ROOT / "examples" / "gate.yaml"
NOW_NS = 1_795_435_200 * 10**9  # 2026-11-23T12:00:00Z
TODAY = dt.date(2026, 11, 23)
ENVIRONMENTS = ("dev", "staging", "prod")

# --- policies and input documents -------------------------------------------------------------


def default_policy() -> PolicySet:
    return build_policy_set([], from_mapping({}, None).policy_data(), [])


def example_policy() -> PolicySet:
    config = load_config(EXAMPLE_CONFIG, explicit=True)
    assert config.waivers is not None
    waivers = load_waivers(config.waivers, TODAY, config.max_waiver_days)
    return build_policy_set(list(config.policies), config.policy_data(), waivers)


def small_policy(extra: dict[str, str] | None = None) -> PolicySet:
    """Three modules; by name the check sorts before the library it calls, as in the shipped set."""
    modules = {
        "lib/gate/checks/a/check.rego": "package gate.checks.a\n\nimport data.gate.lib\n\n"
        'violation contains {"msg": lib.shout(input.name)} if input.name\n',
        "lib/gate/lib.rego": "package gate.lib\n\nshout(x) := upper(x)\n",
        "lib/gate/main.rego": "package gate.main\n\n"
        'decision := {"outcome": "pass", "findings": [], "level": data.gate.config.level,\n'
        '\t"seen": [v.msg | some v in data.gate.checks.a.violation]}\n',
    }
    return PolicySet(
        modules={**modules, **(extra or {})}, data={"gate": {"config": {"level": 3}, "waivers": []}}
    )


def _document(paths: list[Path], environment: str, require: tuple[str, ...] = ()) -> dict[str, Any]:
    settings = load_config(EXAMPLE_CONFIG, explicit=True).collect_settings()
    sections = collect_paths(paths, settings)
    document = input_doc.assemble(build_context(environment, {}, now_ns=NOW_NS), require, sections)
    input_doc.validate(document)
    return document


def _scenario_files(directory: Path) -> dict[str, list[Path]]:
    """Inputs built by code: clean, risky and half-empty services."""
    clean = write_yaml(directory / "clean" / "catalog-info.yaml", component_entity("clean"))
    clean_bom = write_json(
        directory / "clean" / "sbom.cdx.json", cyclonedx_bom([npm_component("left-pad", "1.3.0")])
    )
    risky = write_yaml(
        directory / "risky" / "catalog-info.yaml",
        component_entity("risky", owner="user:jdoe", system=None),
    )
    risky_bom = write_json(
        directory / "risky" / "sbom.cdx.json",
        cyclonedx_bom(
            [
                npm_component("gpl-thing", "2.0.0", "GPL-3.0-only"),
                npm_component("no-license", "0.1.0", None),
                {"type": "library", "name": "no-purl", "version": "1"},
            ]
        ),
    )
    empty_bom = write_json(directory / "empty" / "sbom.cdx.json", cyclonedx_bom([]))
    return {
        "clean": [clean, clean_bom],
        "risky": [risky, risky_bom],
        "empty": [empty_bom],
    }


SCENARIOS = ("example", "example-require", "clean", "risky", "empty")
DOC_NAMES = [f"{s}/{e}" for s in SCENARIOS for e in ENVIRONMENTS] + ["nothing-but-requirements/prod"]
POLICIES: dict[str, Callable[[], PolicySet]] = {"default": default_policy, "example": example_policy}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    files = _scenario_files(tmp_path_factory.mktemp("scenarios"))
    docs: dict[str, dict[str, Any]] = {}
    for env in ENVIRONMENTS:
        docs[f"example/{env}"] = _document([EXAMPLE], env)
        docs[f"example-require/{env}"] = _document([EXAMPLE], env, ("sbom", "signature", "provenance"))
        for name, paths in files.items():
            docs[f"{name}/{env}"] = _document(paths, env)
    docs["nothing-but-requirements/prod"] = _document([], "prod", ("sbom", "signature"))
    assert sorted(docs) == sorted(DOC_NAMES)
    return docs


def _comparable(decision: dict[str, Any]) -> dict[str, Any]:
    findings = decision.get("findings", [])
    return {
        "outcome": decision["outcome"],
        "findings": {
            (f["check"], f["action"], json.dumps(f.get("subject"), sort_keys=True)) for f in findings
        },
        "full": sorted(json.dumps(f, sort_keys=True) for f in findings),
        "rest": {k: v for k, v in decision.items() if k != "findings"},
    }


# --- servers ----------------------------------------------------------------------------------


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[OpaServer]:
    with opa_server(tmp_path / "opa") as srv:
        yield srv


class _Stub:
    """A tiny HTTP server on 127.0.0.1 that answers every request with the next canned reply."""

    def __init__(self, replies: list[tuple[int, str]] | None = None, *, hang: bool = False) -> None:
        self.replies = list(replies or [])
        self.hang = hang
        self.release = threading.Event()
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                stub.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if stub.hang:
                    stub.release.wait()
                    return
                status, body = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> _Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _engine_error(fn: Callable[[], object]) -> str:
    with pytest.raises(EngineError) as err:
        fn()
    return err.value.one_line()


DOC = {"context": {"environment": "prod"}}

# --- parity and provenance --------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(POLICIES))
def pushed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OpaServer, PolicySet]]:
    """A server per policy variant, holding it through `gate policy push`'s library call."""
    policy = POLICIES[request.param]()
    with opa_server(tmp_path_factory.mktemp(f"opa-{request.param}")) as srv:
        result = push(policy, srv.url)
        assert result.digest == policy.digest
        assert result.modules == tuple(sorted(PREFIX + name for name in policy.modules))
        yield srv, policy


@pytest.mark.slow
@pytest.mark.parametrize("doc_name", DOC_NAMES)
def test_decision_equals_the_embedded_engine(
    pushed: tuple[OpaServer, PolicySet], documents: dict[str, dict[str, Any]], doc_name: str
) -> None:
    srv, policy = pushed
    document = documents[doc_name]
    got = OpaServerEngine(srv.url).evaluate(policy, document).decision
    want = EmbeddedEngine().evaluate(policy, document).decision
    assert _comparable(got) == _comparable(want), f"{doc_name}: {json.dumps(document)}"


def test_scenarios_reach_every_outcome(
    pushed: tuple[OpaServer, PolicySet], documents: dict[str, dict[str, Any]]
) -> None:
    srv, policy = pushed
    engine = OpaServerEngine(srv.url)
    outcomes = {engine.evaluate(policy, doc).decision["outcome"] for doc in documents.values()}
    assert outcomes == {"pass", "warn", "block"}


def test_decision_id_and_version_are_kept(fresh_server: OpaServer) -> None:
    policy = small_policy()
    push(policy, fresh_server.url)
    engine = OpaServerEngine(fresh_server.url)
    got = engine.evaluate(policy, {"name": "x"})
    assert got.decision["level"] == 3 and got.decision["seen"] == ["X"]
    assert "_server" not in got.decision  # what the engine says of itself is in meta
    first = got.meta
    second = engine.evaluate(policy, DOC).meta
    assert first["url"] == fresh_server.url
    assert first["decision_id"] and second["decision_id"] and first["decision_id"] != second["decision_id"]
    assert first["revisions"] == {}  # pushed policies come from no bundle
    assert re.fullmatch(rf"opa \d+\.\d+\.\d+\S* \({re.escape(fresh_server.url)}\)", engine.version())


def test_bundle_revision_is_kept(tmp_path: Path, documents: dict[str, dict[str, Any]]) -> None:
    policy = default_policy()
    with opa_server(tmp_path / "opa", bundle=policy, revision="policies-2026.11.23") as srv:
        engine = OpaServerEngine(srv.url)
        assert engine.version().startswith("opa 1.")  # asked before any decision
        got = engine.evaluate(policy, documents["example/prod"])
        assert got.meta["revisions"] == {srv.bundle_name: "policies-2026.11.23"}
        want = EmbeddedEngine().evaluate(policy, documents["example/prod"]).decision
        assert _comparable(got.decision) == _comparable(want)
        # The bundle owns the tree: a push is refused, saying why.
        message = _engine_error(lambda: push(policy, srv.url))
        assert "owned by bundle" in message and "publish a new bundle" in message


# --- failures, each saying which --------------------------------------------------------------


def test_server_down_says_connection_refused_at_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    engine = OpaServerEngine(url, retries=2, backoff=0)
    message = _engine_error(lambda: engine.evaluate(default_policy(), DOC))
    assert f"connection refused at {url}: the OPA server is down" in message
    assert "(3 attempts)" in message
    assert engine.version() == f"opa-server {url}"  # never raises


def test_missing_policy_says_to_push(fresh_server: OpaServer) -> None:
    message = _engine_error(lambda: OpaServerEngine(fresh_server.url).evaluate(default_policy(), DOC))
    assert "has no data.gate.main.decision" in message
    assert f"gate policy push --opa-url {fresh_server.url}" in message


def test_slow_server_says_timed_out() -> None:
    with _Stub(hang=True) as stub:
        engine = OpaServerEngine(stub.url, timeout=0.2, retries=3, backoff=0)
        message = _engine_error(lambda: engine.evaluate(default_policy(), DOC))
    assert "too slow: timed out after 0.2 s waiting for an answer" in message
    assert "--opa-timeout" in message
    assert "attempts" not in message  # the server has the query: a read timeout is not retried


def test_server_error_shows_opas_message(fresh_server: OpaServer) -> None:
    main = 'package gate.main\n\ndecision := {"outcome": "pass", "findings": [], "n": to_number(input.s)}\n'
    policy = PolicySet(modules={"lib/gate/main.rego": main}, data={"gate": {"config": {}}})
    push(policy, fresh_server.url)
    message = _engine_error(lambda: OpaServerEngine(fresh_server.url).evaluate(policy, {"s": "x"}))
    assert "HTTP 500" in message and "eval_builtin_error" in message and "to_number" in message
    assert "lib/gate/main.rego:3" in message and PREFIX not in message


def test_transient_errors_are_retried_with_backoff() -> None:
    ok = json.dumps({"result": {"outcome": "pass", "findings": []}, "decision_id": "d-1"})
    busy = json.dumps({"code": "unavailable", "message": "try later"})
    with _Stub([(503, busy), (502, "bad gateway"), (200, ok)]) as stub:
        got = OpaServerEngine(stub.url, retries=2, backoff=0).evaluate(default_policy(), DOC)
        assert got.decision["outcome"] == "pass" and got.meta["decision_id"] == "d-1"
        assert len(stub.requests) == 3
        assert (
            stub.requests[0] == "POST /v1/data/gate/main/decision?provenance=true&strict-builtin-errors=true"
        )
    with _Stub([(503, busy)]) as stub:
        message = _engine_error(
            lambda: OpaServerEngine(stub.url, retries=1, backoff=0).evaluate(default_policy(), DOC)
        )
        assert "HTTP 503: unavailable: try later (2 attempts)" in message


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "<html>proxy login</html>", "malformed response"),
        (200, "[1, 2]", "malformed response"),
        (200, json.dumps({"result": ["not", "an", "object"]}), "is a list, not an object"),
        (404, "not here", "answered HTTP 404"),
        (401, json.dumps({"code": "unauthorized", "message": "no"}), "--opa-token or GATE_OPA_TOKEN"),
    ],
)
def test_bad_answers_are_engine_errors(status: int, body: str, expected: str) -> None:
    with _Stub([(status, body)]) as stub:
        message = _engine_error(lambda: OpaServerEngine(stub.url, retries=0).evaluate(default_policy(), DOC))
    assert expected in message and stub.url in message


def test_url_path_prefix_is_kept() -> None:
    ok = json.dumps({"result": {"outcome": "pass", "findings": []}})
    with _Stub([(200, ok)]) as stub:
        OpaServerEngine(stub.url + "/opa/").evaluate(default_policy(), DOC)
        assert stub.requests[0].startswith("POST /opa/v1/data/gate/main/decision?")


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("ftp://127.0.0.1:8181", {}),
        ("127.0.0.1:8181", {}),
        ("http://user:secret@127.0.0.1:8181", {}),
        ("http://127.0.0.1:8181?x=1", {}),
        ("http://127.0.0.1:99999", {}),
        ("http://127.0.0.1:8181", {"ca": "ca.pem"}),
        ("https://127.0.0.1:8181", {"ca": "/nonexistent/ca.pem"}),
        ("https://127.0.0.1:8181", {"client_key": "k.pem"}),
        ("http://127.0.0.1:8181", {"timeout": 0}),
        ("http://127.0.0.1:8181", {"retries": -1}),
    ],
)
def test_bad_options_are_config_errors(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        OpaServerEngine(url, **options)


def test_token_is_not_in_the_repr() -> None:
    conn = OpaConnection.from_options("http://127.0.0.1:8181", " s3cret\n")
    assert conn.token == "s3cret" and "s3cret" not in repr(conn)


# --- bearer tokens and TLS --------------------------------------------------------------------


def test_bearer_token(tmp_path: Path) -> None:
    policy = small_policy()
    with opa_server(tmp_path / "opa", token="t0ken-for-tests") as srv:
        assert "--opa-token" in _engine_error(lambda: push(policy, srv.url))
        assert "--opa-token" in _engine_error(lambda: push(policy, srv.url, "wrong"))
        push(policy, srv.url, "t0ken-for-tests")
        assert OpaServerEngine(srv.url, "t0ken-for-tests").evaluate(policy, DOC).decision["outcome"] == "pass"
        for token in (None, "wrong"):
            message = _engine_error(partial(OpaServerEngine(srv.url, token).evaluate, policy, DOC))
            assert "rejected the request: HTTP 401" in message
            assert "--opa-token or GATE_OPA_TOKEN" in message
            assert "t0ken-for-tests" not in message


def test_tls_with_ca_bundle_and_client_certificate(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "pki")
    policy = default_policy()
    with opa_server(tmp_path / "opa", tls=tls, bundle=policy) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        assert OpaServerEngine(srv.url, ca=tls.ca).evaluate(policy, DOC).decision["outcome"] == "pass"
        with pytest.warns(InsecureRequestWarning):  # the escape hatch is loud
            assert OpaServerEngine(srv.url, verify=False).evaluate(policy, DOC).decision["outcome"] == "pass"
        message = _engine_error(lambda: OpaServerEngine(srv.url).evaluate(policy, DOC))
        assert "TLS connection to the OPA server at" in message and "--opa-ca" in message
    with opa_server(tmp_path / "opa-mtls", tls=tls, mutual_tls=True, bundle=policy) as srv:
        engine = OpaServerEngine(srv.url, ca=tls.ca, client_cert=tls.client_cert, client_key=tls.client_key)
        assert engine.evaluate(policy, DOC).decision["outcome"] == "pass"
        message = _engine_error(lambda: OpaServerEngine(srv.url, ca=tls.ca, retries=0).evaluate(policy, DOC))
        assert "TLS connection to the OPA server at" in message or "HTTP 401" in message


# --- push -------------------------------------------------------------------------------------


def test_compile_error_on_push_shows_opas_message(fresh_server: OpaServer) -> None:
    base = small_policy()
    bad = PolicySet(
        modules={**base.modules, "user/policies/bad.rego": "package gate.checks.user.bad\n\nz := 1 +\n"},
        data=base.data,
    )
    message = _engine_error(lambda: push(bad, fresh_server.url))
    assert "does not accept the policies" in message
    assert re.search(r"user/policies/bad\.rego:\d+: rego_parse_error", message), message
    assert PREFIX not in message  # module names as the user knows them

    undefined = PolicySet(
        modules={
            **base.modules,
            "user/policies/undef.rego": "package gate.checks.user.undef\n\nimport data.gate.lib\n\n"
            "x := lib.no_such_function(1)\n",
        },
        data=base.data,
    )
    message = _engine_error(lambda: push(undefined, fresh_server.url))
    assert (
        "user/policies/undef.rego:5: rego_type_error: undefined function data.gate.lib.no_such_function"
        in message
    )


def test_push_syncs_modules_and_leaves_others_alone(fresh_server: OpaServer) -> None:
    base = small_policy()
    extra = PolicySet(
        modules={**base.modules, "user/p/extra.rego": "package gate.checks.user.extra\n\nx := 1\n"},
        data=base.data,
    )
    engine = OpaServerEngine(fresh_server.url)
    client = engine.connection.client()
    try:
        client.update_policy_from_string("package other\n\ny := 2\n", "other/keep.rego", rego_compat=False)
        push(extra, fresh_server.url)
        assert PREFIX + "user/p/extra.rego" in client.get_policies_list()
        result = push(base, fresh_server.url)
        assert result.removed == (PREFIX + "user/p/extra.rego",)
        ids = set(client.get_policies_list())
        assert ids == {PREFIX + n for n in base.modules} | {"other/keep.rego"}
        assert client.get_data("gate/config")["result"] == base.data["gate"]["config"]
        assert engine.evaluate(base, DOC).decision["outcome"] == "pass"
        assert delete_all(fresh_server.url) == tuple(sorted(PREFIX + n for n in base.modules))
        assert client.get_policies_list() == ["other/keep.rego"]
    finally:
        client.close_connection()
    assert "gate policy push" in _engine_error(lambda: engine.evaluate(base, DOC))


def test_dependency_order_puts_imported_packages_first() -> None:
    modules = {
        "a/check.rego": "package gate.checks.a\n\nimport data.gate.lib\n\nx := lib.f(1)\n",
        "b/lib.rego": "package gate.lib\n\nf(x) := x\n",
        "c/main.rego": "package gate.main\n\ny := data.gate.checks.a.x\n",
    }
    order = dependency_order(modules)
    assert order.index("b/lib.rego") < order.index("a/check.rego") < order.index("c/main.rego")
