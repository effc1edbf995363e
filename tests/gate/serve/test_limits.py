"""`gate serve` under hostile or heavy requests, as a real subprocess: crashing and hanging workers,
the time and findings limits, requests that must not wait behind a slow one, unparsable numbers,
and bodies that are too large, never end or trickle in (over raw sockets).

Crashes and hangs come from the server's test-only hooks (GATE_SERVE_TEST_HOOKS=1 and a request
whose `service` is `gate-test:abort`, `gate-test:segv` or `gate-test:hang`); everything else is a
real input built here. Waits are deadlines, never assertions on speed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.gate.serve.server import TOKEN, GateServer, example_files, gate_server

HOOKS = {"GATE_SERVE_TEST_HOOKS": "1"}
SOCKET_DEADLINE_S = 60.0  # a raw-socket read that gets nothing by then fails the test
BODY_TIMEOUT = "2"
SMALL_ENTITY = (
    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: small}\n"
    "spec: {type: service, lifecycle: production, owner: group:a}\n"
)


def _sbom(components: int) -> str:
    """A CycloneDX SBOM of components without purl or license: two findings each."""
    items = [{"type": "library", "name": f"c{i}", "version": "1.0.0"} for i in range(components)]
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": items})


def _small(server: GateServer) -> int:
    resp = server.check({"environment": "prod", "entities": [SMALL_ENTITY]})
    assert resp.status_code in (200, 422), resp.text
    return resp.status_code


def _assert_failed_closed(resp: Any, *needles: str) -> dict[str, Any]:
    assert resp.status_code == 503, resp.text
    decision: dict[str, Any] = resp.json()
    assert decision["outcome"] == "error"
    assert decision["findings"] == []
    assert "\n" not in decision["error"]
    for needle in needles:
        assert needle in decision["error"], decision["error"]
    assert decision["audit"]["record"].startswith("sha256:")  # the failure is on record
    return decision


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    args = ("--workers", "2", "--request-timeout", "20")
    with gate_server(tmp_path_factory.mktemp("hooked"), *args, env=HOOKS) as running:
        yield running


@pytest.fixture(scope="module")
def server_without_hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    with gate_server(tmp_path_factory.mktemp("plain"), "--workers", "1") as running:
        yield running


# --- item 5: a native crash takes down one worker, never the server -----------------------------


@pytest.mark.parametrize(("hook", "signal_name"), [("abort", "SIGABRT"), ("segv", "SIGSEGV")])
@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_a_crashing_worker_fails_only_its_request(
    hooked: GateServer, hook: str, signal_name: str, env_name: str
) -> None:
    body = {"environment": env_name, "service": f"gate-test:{hook}", "files": example_files()}
    crashed = hooked.check(body)
    decision = _assert_failed_closed(crashed, "worker process", signal_name, "not decided")
    assert decision["environment"] == env_name  # fail closed even where the environment only warns
    # The server goes on: more requests than it has workers, so the replacement decides some.
    for _ in range(3):
        assert _small(hooked) == 422
    with hooked.client(authorised=False) as client:
        assert client.get("/healthz").status_code == 200


def test_the_test_hooks_are_off_unless_the_variable_is_set(server_without_hooks: GateServer) -> None:
    resp = server_without_hooks.check(
        {"service": "gate-test:abort", "environment": "prod", "entities": [SMALL_ENTITY]}
    )
    assert resp.status_code == 422, resp.text


# --- item 8: time and findings limits; no request waits behind a slow one -----------------------


def test_a_request_over_the_time_limit_is_stopped_and_others_go_on(tmp_path: Path) -> None:
    args = ("--workers", "2", "--request-timeout", "5")
    with gate_server(tmp_path, *args, env=HOOKS) as running, ThreadPoolExecutor(max_workers=1) as pool:
        hanging = pool.submit(
            running.check, {"environment": "dev", "service": "gate-test:hang", "entities": [SMALL_ENTITY]}
        )
        answered = 0
        while not hanging.done() and answered < 3:
            _small(running)
            answered += 1
        still_running = not hanging.done()
        _assert_failed_closed(hanging.result(), "5-second limit", "--request-timeout")
        # The killed worker's place is taken: both workers decide again.
        with ThreadPoolExecutor(max_workers=2) as pair:
            assert list(pair.map(lambda _: _small(running), range(4))) == [422] * 4
    assert still_running and answered == 3  # the small ones were answered while the slow one ran


def test_a_genuinely_slow_request_does_not_hold_up_a_small_one(tmp_path: Path) -> None:
    """32,000 components without purl or license: 64,000 findings, slow on any engine."""
    body = {"environment": "prod", "files": [{"path": "bom.cdx.json", "content": _sbom(32_000)}]}
    args = ("--workers", "2", "--request-timeout", "20", "--max-findings", "1000")
    with (
        gate_server(tmp_path, *args, max_request_bytes=8 * 1024 * 1024) as running,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        slow: Future[Any] = pool.submit(running.check, body)
        smalls = []
        for _ in range(2):
            smalls.append(_small(running))
            if slow.done():
                break
        small_first = not slow.done()
        resp = slow.result()
    assert small_first, f"the small requests waited for the slow one ({len(smalls)} answered first)"
    decision = _assert_failed_closed(resp)
    assert "--request-timeout" in decision["error"] or "--max-findings" in decision["error"]


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_a_decision_over_the_findings_limit_fails_closed(tmp_path: Path, env_name: str) -> None:
    with gate_server(tmp_path, "--max-findings", "50") as running:
        over = running.check(
            {"environment": env_name, "files": [{"path": "bom.cdx.json", "content": _sbom(30)}]}
        )
        under = running.check(
            {"environment": env_name, "files": [{"path": "bom.cdx.json", "content": _sbom(10)}]}
        )
    decision = _assert_failed_closed(over, "61 findings", "limit of 50", "--max-findings")
    assert decision["environment"] == env_name
    assert under.status_code in (200, 422), under.text
    assert under.json()["summary"]["warn"] + under.json()["summary"]["block"] == 21


# --- item 7: integers Python will not parse -------------------------------------------------------

_DIGITS = "1" * 5000


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"entities": ["kind: x"], "service": ' + _DIGITS + "}", "integer of more than 4300 digits"),
        (
            json.dumps(
                {
                    "files": [
                        {
                            "path": "bom.cdx.json",
                            "content": '{"bomFormat": "CycloneDX", "version": ' + _DIGITS + "}",
                        }
                    ]
                }
            ),
            "more than 4300 digits",
        ),
        (
            json.dumps({"entities": [SMALL_ENTITY.replace("name: small", f"name: small, x: {_DIGITS}")]}),
            "more than 4300 digits",
        ),
    ],
    ids=["in-the-body", "in-a-json-file", "in-a-yaml-entity"],
)
def test_an_integer_over_4300_digits_gets_400(
    server_without_hooks: GateServer, body: str, expected: str
) -> None:
    with server_without_hooks.client() as client:
        resp = client.post("/v1/check", content=body.encode(), headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    err = resp.json()
    assert expected in err["error"] and err["remediation"]
    assert "\n" not in err["error"] and "set_int_max_str_digits" not in resp.text


# --- item 10: bodies too large, never ending, or trickling in --------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    with gate_server(
        tmp_path_factory.mktemp("guarded"), "--workers", "1", "--body-timeout", BODY_TIMEOUT
    ) as running:
        yield running


def _raw(server: GateServer, head: str, body: bytes = b"") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=SOCKET_DEADLINE_S)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def _head(path: str = "/v1/check", token: str | None = TOKEN, **headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the answer, read until the server closes the connection."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # closed with unread bytes: the answer came before it
        pass
    except TimeoutError:
        pytest.fail(f"the server neither answered nor closed within {SOCKET_DEADLINE_S:g} s; got {data!r}")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), data
    return int(head.split(b" ", 2)[1]), json.loads(rest)


def test_a_declared_length_over_the_limit_gets_413_before_any_body(guarded: GateServer) -> None:
    with _raw(guarded, _head(Content_Length=str(100 * 1024 * 1024))) as sock:  # and no body at all
        status, body = _response(sock)
    assert status == 413 and "limit" in body["error"]


def test_a_missing_token_gets_401_before_any_body(guarded: GateServer) -> None:
    with _raw(guarded, _head(token=None, Content_Length=str(100 * 1024 * 1024))) as sock:
        status, body = _response(sock)
    assert status == 401 and "token" in body["error"]


@pytest.mark.parametrize(
    ("headers", "sent"),
    [
        ({"Transfer_Encoding": "chunked"}, b"1\r\n{\r\n"),  # a chunked body that never ends
        ({"Content_Length": "100"}, b'{"entities": '),  # a body that stops short
    ],
    ids=["chunked-never-ending", "short-content-length"],
)
def test_a_body_that_never_arrives_times_out_with_408(
    guarded: GateServer, headers: dict[str, str], sent: bytes
) -> None:
    with _raw(guarded, _head(**headers), sent) as sock:
        status, body = _response(sock)
    assert status == 408, body
    assert f"within {BODY_TIMEOUT} s" in body["error"] and "--body-timeout" in body["remediation"]
    assert _small(guarded) == 422  # and the server goes on


def test_a_body_over_the_limit_sent_in_full_still_gets_its_413(guarded: GateServer) -> None:
    from tests.gate.serve.server import TEST_LIMIT

    with guarded.client() as client:
        resp = client.post(
            "/v1/check", content=b" " * (4 * TEST_LIMIT), headers={"content-type": "application/json"}
        )
    assert resp.status_code == 413, resp.text
