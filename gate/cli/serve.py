"""`gate serve`: the HTTP JSON API for Backstage scaffolder pre-publish checks, on uvicorn."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from gate.cli.options import engine_options, policy_input_options
from gate.errors import ExitCode, GateError
from gate.report.escape import terminal_safe

DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT_S = 30.0  # under the Backstage action's 60 s, so its users get the error
DEFAULT_BODY_TIMEOUT_S = 30.0
DEFAULT_MAX_FINDINGS = 10_000
MAX_WORKERS = 64
SHORT_TOKEN = 16


def default_workers() -> int:
    """One worker per core, at most four: each holds its own engine (tens of MB)."""
    return max(1, min(4, os.cpu_count() or 1))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_token(token: str | None, host: str) -> None:
    """Refuse a token no client could send; say loudly when the API is open to the network."""
    if token is None:
        if not _is_loopback(host):
            click.echo(
                f"gate: warning: no --token: anyone who reaches {host} can run checks and write audit records",
                err=True,
            )
        return
    if not token or any(not (33 <= ord(c) <= 126) for c in token):
        raise click.BadParameter("the token must be printable ASCII without spaces", param_hint="--token")
    if len(token) < SHORT_TOKEN:
        click.echo(f"gate: warning: the --token is shorter than {SHORT_TOKEN} characters", err=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on."
)
@click.option("--config", type=click.Path(path_type=Path), help="Config file [./gate.yaml if present].")
@click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="Environment for requests that name none [GATE_ENV, config, dev].",
)
@policy_input_options
@click.option(
    "--token",
    envvar="GATE_SERVE_TOKEN",
    metavar="TOKEN",
    help="Bearer token POST /v1/check requires [GATE_SERVE_TOKEN; none: no authentication].",
)
@click.option(
    "--max-request-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_REQUEST_BYTES,
    show_default=True,
    metavar="N",
    help="Largest request body accepted (413 beyond).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_BODY_TIMEOUT_S,
    show_default=True,
    metavar="S",
    help="Seconds a request body may take to arrive (408 beyond).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=default_workers(),
    show_default="CPU cores, at most 4",
    metavar="N",
    help="Worker processes: requests decided at once, each on its own engine.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_REQUEST_TIMEOUT_S,
    show_default=True,
    metavar="S",
    help="Seconds a check may take, waiting for a free worker included (outcome error, 503, beyond).",
)
@click.option(
    "--max-findings",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FINDINGS,
    show_default=True,
    metavar="N",
    help="Most findings one decision may have (outcome error, 503, beyond).",
)
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Decision log for the signed records [GATE_AUDIT_LOG, config, .gate/audit].",
)
@engine_options
def serve_command(
    host: str,
    port: int,
    config: Path | None,
    environment: str | None,
    policies: tuple[Path, ...],
    data_files: tuple[Path, ...],
    require: str | None,
    waivers: Path | None,
    token: str | None,
    max_request_bytes: int,
    body_timeout: float,
    workers: int,
    request_timeout: float,
    max_findings: int,
    audit_log: Path | None,
    engine: str | None,
    opa_path: Path | None,
    opa_url: str | None,
    opa_token: str | None,
    opa_ca: Path | None,
    opa_timeout: float,
    opa_retries: int,
) -> None:
    """Serve the gate as an HTTP JSON API for Backstage scaffolder pre-publish checks.

    \b
    GET  /healthz       the server is up: {"status": "ok", "version", "engine"}
    GET  /openapi.json  the API's OpenAPI document
    POST /v1/check      files, a template and entities in; the decision out
                        (200 pass or warn, 422 block, 400 bad request, 401 token,
                        408 body too slow, 413 too large, 503 the gate could not decide)
    Config, waivers and policies are loaded once, at start; every decision is signed and
    appended to the audit log, as `gate check` does. Requests are decided in --workers
    processes; a worker that crashes or runs past --request-timeout fails only its own
    request (outcome error, 503) and is replaced.
    Exit codes: 0 stopped, 2 bad usage or config, 3 the engine is missing or broken.
    """
    from gate.audit_step import AuditOptions
    from gate.pipeline import CheckOptions
    from gate.serve.service import CheckService, Limits

    _check_token(token, host)
    opts = CheckOptions(
        environment=environment,
        config=config,
        policies=policies,
        data=data_files,
        require=tuple(p.strip() for p in require.split(",") if p.strip()) if require is not None else None,
        waivers=waivers,
        engine=engine,
        opa_path=opa_path,
        opa_url=opa_url,
        opa_token=opa_token,
        opa_ca=opa_ca,
        opa_timeout=opa_timeout,
        opa_retries=opa_retries,
        # The change under review arrives in each request, never beside the server: the server's
        # own folder and config are its operator's.
        working_tree=(),
        env=dict(os.environ),
    )
    try:
        limits = Limits(workers=workers, request_timeout=request_timeout, max_findings=max_findings)
        service = CheckService.start(opts, AuditOptions(log=audit_log), limits)
    except GateError as exc:
        click.echo(f"gate: {terminal_safe(exc.one_line())}", err=True)
        sys.exit(int(exc.exit_code))

    import uvicorn

    from gate.serve.app import ServeSettings, create_app

    settings = ServeSettings(token=token, max_request_bytes=max_request_bytes, body_timeout=body_timeout)
    app = create_app(service, settings)
    click.echo(
        f"gate: serving on http://{host}:{port} · engine {service.engine_name} · {workers} worker"
        f"{'s' if workers > 1 else ''} · default environment {service.environment} · "
        f"{'bearer token required' if token else 'no authentication'}",
        err=True,
    )
    # uvicorn shuts down gracefully on SIGINT or SIGTERM, then raises the signal again for the
    # handler it found: this one, so the workers are stopped and their folders removed.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=30,
        )
    except _Stopped:
        pass
    finally:
        service.close()
    sys.exit(ExitCode.OK)


class _Stopped(Exception):
    """SIGINT or SIGTERM, once uvicorn has shut down."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
