"""The FastAPI application of `gate serve`: /healthz, /openapi.json and POST /v1/check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from audit import DEFAULT_BODY_TIMEOUT_S, DEFAULT_MAX_REQUEST_BYTES, RECEIVED_KEY, RequestGuard
from gate import __version__
from gate.decision import Outcome
from gate.errors import ConfigError, InputError
from gate.serve.models import CheckRequest, DecisionOut, ErrorOut, HealthOut
from gate.serve.service import CheckService

CHECK_PATH = "/v1/check"
STATUS = {Outcome.PASS: 200, Outcome.WARN: 200, Outcome.BLOCK: 422, Outcome.ERROR: 503}
VALIDATION_FIX = f"send a JSON object as GET /openapi.json describes for POST {CHECK_PATH}"
DESCRIPTION = """\
Pre-publish governance checks for the Backstage scaffolder: send a change's files, or a template
and its rendered entities, and get the gate's decision. Every decision is signed and appended to
the server's audit log. Status 422 means the change is blocked; 400 means the request could not be
checked; 503 means the gate could not decide (fail closed): the engine or the audit log failed, the
worker deciding the request crashed, or the request ran past the server's time or findings limit.
"""
PARSE_FIX = "send the request body as JSON that Python's json module reads"


@dataclass(frozen=True)
class ServeSettings:
    """How the API is guarded: the bearer token (None: no authentication), the body limit and the
    seconds a body may take to arrive."""

    token: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S


def _where(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_validation(errors: Sequence[Any]) -> str:
    """One line for pydantic's errors about a request body: the field, and what is wrong with it."""
    if not errors:
        return "the request body is malformed"
    first = errors[0]
    loc = list(first.get("loc") or ())
    if loc and loc[0] == "body":
        loc = loc[1:]
    kind = first.get("type")
    if kind == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "malformed")
        at = f" at character {loc[0]}" if loc and isinstance(loc[0], int) else ""
        return f"the request body is not valid JSON: {reason}{at}"
    where = _where(loc)
    if kind == "missing" and not where:
        return "the request body is missing"
    if not where and kind in ("model_attributes_type", "dict_type", "model_type"):
        return "the request body must be a JSON object, sent as Content-Type: application/json"
    message = str(first.get("msg") or "invalid").removeprefix("Value error, ")
    line = f"{where}: {message}" if where else message
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return line


def describe_parse_failure(cause: BaseException | None) -> tuple[str, str]:
    """The error and remediation for a body FastAPI could not parse (not a JSON syntax error)."""
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return (
            "the request body is not valid JSON here: it holds an integer of more than 4300 digits",
            "send numbers of at most 4300 digits (as a string if it must be longer)",
        )
    if isinstance(cause, RecursionError):
        return "the request body is nested too deeply to parse", "send a body nested less deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "the request body is not valid UTF-8", "send the JSON encoded as UTF-8"
    return "the request body could not be parsed", PARSE_FIX


def _error(
    status: int, error: str, remediation: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(ErrorOut(error=error, remediation=remediation).model_dump(), status, headers=headers)


def create_app(service: CheckService, settings: ServeSettings) -> RequestGuard:
    """The ASGI application: the FastAPI app behind the token and body-size guard."""
    app = FastAPI(
        title="govgate",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, describe_validation(exc.errors()), VALIDATION_FIX)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse the body
            error, remediation = describe_parse_failure(exc.__cause__)
            return _error(400, error, remediation, exc.headers)
        return _error(exc.status_code, str(exc.detail), "", exc.headers)

    # async: it runs on the event loop, so it answers even while every thread waits on a worker.
    @app.get("/healthz", response_model=HealthOut, summary="The server is up")
    async def healthz() -> HealthOut:
        """The server is up and its policies are loaded."""
        return HealthOut(status="ok", version=__version__, engine=service.engine_name)

    @app.post(
        CHECK_PATH,
        response_model=None,
        summary="Decide whether a change may be published",
        responses={
            200: {"model": DecisionOut, "description": "The decision: outcome pass or warn."},
            400: {"model": ErrorOut, "description": "Bad input, bad config or a malformed request."},
            401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
            408: {"model": ErrorOut, "description": "The request body did not arrive in time."},
            413: {"model": ErrorOut, "description": "The request body is over the server's limit."},
            422: {"model": DecisionOut, "description": "The decision: outcome block."},
            503: {
                "model": DecisionOut,
                "description": "The gate could not decide: outcome error. The engine or the audit log "
                "failed, the worker deciding the request crashed, or the request ran past the "
                "server's time or findings limit.",
            },
        },
    )
    def check(request: CheckRequest, http: Request) -> JSONResponse:
        """Check the request's files, template and entities like `gate check`, and record the decision."""
        try:
            received = http.scope.get(RECEIVED_KEY)
            checked = service.check(request, received if isinstance(received, float) else None)
        except (InputError, ConfigError) as exc:
            message = f"{exc.path}: {exc.message}" if exc.path else exc.message
            return _error(400, message, exc.remediation)
        decision = checked.decision
        return JSONResponse(decision.to_json(), STATUS[decision.outcome])

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            if settings.token is not None:
                components = schema.setdefault("components", {})
                components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
                schema["paths"][CHECK_PATH]["post"]["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return RequestGuard(
        app,
        paths=(CHECK_PATH,),
        token=settings.token,
        max_bytes=settings.max_request_bytes,
        body_timeout=settings.body_timeout,
    )
