"""`gate audit serve` and `gate audit token`: the organisation's decision log on PostgreSQL."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from gate.cli.audit import _die, audit_group
from gate.errors import ExitCode

DB_OPTION = click.option(
    "--db",
    "dsn",
    metavar="URL",
    envvar="GATE_AUDIT_DB",
    required=True,
    help="The PostgreSQL database: postgresql://USER@HOST:PORT/DB [GATE_AUDIT_DB].",
)


class _Stopped(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def _quiet_pool_logs() -> None:
    """The pool logs each failed connection attempt; the command says what failed, once."""
    import logging

    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)


def _host_port(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535 or not host:
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:8443", param_hint="--listen")
    return host.strip("[]"), int(port)


@audit_group.command("serve")
@DB_OPTION
@click.option(
    "--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT", help="Address to listen on."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The service's config: its log key, the record signers it admits, its bounds.",
)
@click.option(
    "--migrate", is_flag=True, help="Apply the database's pending schema migrations first (under a lock)."
)
def serve_log(dsn: str, listen: str, config_path: Path, migrate: bool) -> None:
    """Serve the decision log: CI jobs append signed records, auditors read it.

    \b
    POST /v1/log/entries      append a signed record (a token of scope append)
    GET  /v1/decisions        decisions, filtered and paginated (scope read)
    GET  /checkpoint, /tile/…  the log as C2SP tlog-tiles (as a log folder is)
    GET  /healthz, /readyz, /metrics
    Records are admitted only when signed by a key or identity the config allows and naming this
    log. Replicas may share one database: one sequences at a time. The log key comes from the
    config's log_key or GATE_LOG_KEY. Exit codes: 0 stopped, 2 usage or config error, 3 the
    database cannot be used.
    """
    import uvicorn

    from audit import AuditError, StoreError, create_log_app, load_service_config, open_log_service

    host, port = _host_port(listen)
    _quiet_pool_logs()
    try:
        config = load_service_config(config_path)
        key_text = os.environ.get("GATE_LOG_KEY")
        if key_text is None:
            if config.log_key is None:
                _die(
                    f"{config_path}: no log_key, and no GATE_LOG_KEY",
                    remediation="name the log.key of `gate audit keygen`",
                )
                return
            key_text = config.log_key.read_text(encoding="utf-8")
        service = open_log_service(dsn, config, key_text, apply_migrations=migrate)
    except StoreError as exc:
        _die(str(exc), ExitCode.ENGINE, exc.remediation)
        return
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    except OSError as exc:
        _die(f"cannot read the log key ({exc.strerror})")
        return
    click.echo(f"gate: decision log on http://{host}:{port} · log {service.store.key.name}", err=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    try:
        uvicorn.run(
            create_log_app(service),
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=30,
        )
    except _Stopped:
        pass
    finally:
        service.close()
        service.store.pool.close()
    sys.exit(ExitCode.OK)


@audit_group.group("token")
def token_group() -> None:
    """Bearer tokens of the decision log service (stored hashed in its database)."""


@token_group.command("create")
@DB_OPTION
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["append", "read", "admin"]),
    help="What the token may do (repeatable): append records, read the log, or both (admin).",
)
@click.option("--name", required=True, help="Who the token is for (shown in the service's logs).")
def token_create(dsn: str, scopes: tuple[str, ...], name: str) -> None:
    """Create a token and print it once: only its sha256 is stored."""
    from audit import AuditError, StoreError, create_token

    _quiet_pool_logs()
    try:
        click.echo(create_token(dsn, scopes, name))
    except StoreError as exc:
        _die(str(exc), ExitCode.ENGINE, exc.remediation)
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
