"""Schemathesis against the real `gate serve`: generated requests, valid and invalid, from its OpenAPI document.

Checks: no 5xx but the documented 503 (whose body must be a decision with outcome error), every
status documented, every body of the documented media type and schema, and invalid requests refused.
Bounded: at most MAX_EXAMPLES generated cases per operation, a fixed seed, and a timeout per request
(so a hung request fails the run instead of stalling it); nothing asserts on speed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.gate.serve.server import GateServer, gate_server

MAX_EXAMPLES = 100
REQUEST_TIMEOUT_S = 120
STATS: dict[str, Counter[int]] = {}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    with gate_server(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: GateServer) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
            "request-timeout": REQUEST_TIMEOUT_S,
        }
    )
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json", config=config)


def only_documented_server_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 5xx is a bug unless it is the documented 503, which carries a decision with outcome error."""
    if response.status_code >= 500:
        assert response.status_code == 503, (
            f"undocumented server error {response.status_code}: {response.text}"
        )
        assert response.json().get("outcome") == "error", response.text
    return None


CHECKS = [
    only_documented_server_errors,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.mark.parametrize(
    ("path", "method", "mode"),
    [
        ("/v1/check", "POST", GenerationMode.POSITIVE),
        ("/v1/check", "POST", GenerationMode.NEGATIVE),
        ("/healthz", "GET", GenerationMode.POSITIVE),  # no parameters: nothing to make invalid
    ],
    ids=["check-valid", "check-invalid", "healthz"],
)
def test_api_conforms_to_its_openapi_document(
    api_schema: Any, fuzzed_server: GateServer, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(
            base_url=fuzzed_server.url,
            headers={"Authorization": f"Bearer {fuzzed_server.token}"},
            timeout=REQUEST_TIMEOUT_S,
            checks=CHECKS,
        )
        STATS.setdefault(f"{path} {mode.value}", Counter())[response.status_code] += 1

    call()
    print(path, mode.value, dict(STATS[f"{path} {mode.value}"]))


def test_documented_request_examples_are_decided(api_schema: Any, fuzzed_server: GateServer) -> None:
    operation = api_schema["/v1/check"]["POST"]
    strategies = api_schema.get_strategies_from_examples(operation)
    assert strategies, "the OpenAPI document shows no request example"
    statuses: Counter[int] = Counter()

    @given(case=st.one_of(*strategies))
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(
            base_url=fuzzed_server.url,
            headers={"Authorization": f"Bearer {fuzzed_server.token}"},
            timeout=REQUEST_TIMEOUT_S,
            checks=CHECKS,
        )
        statuses[response.status_code] += 1

    call()
    print("examples", dict(statuses))
    assert statuses[200] + statuses[422] > 0, dict(statuses)  # the documented examples are decided
