"""`gate audit serve`: the organisation's decision log over HTTP, on PostgreSQL.

    POST /v1/log/entries          append a signed record (scope append): index, proof, checkpoint
    GET  /v1/decisions            the decisions, filtered and paginated (scope read)
    GET  /v1/decisions/{ref}      one decision by index, record id or record digest (scope read)
    GET  /checkpoint              the latest signed checkpoint       } C2SP tlog-tiles, read as a
    GET  /tile/<L>/<N>[.p/<W>]    hash tiles and entry bundles       } log folder is (public unless
    GET  /log.pub                 the log's verifier key             } public_tiles is off)
    GET  /records/sha256-<hex>.json, /inputs/sha256-<hex>.json   a record, a stored input (scope read)
    GET  /healthz, /readyz, /metrics

A record is admitted only when its signature verifies against the allowed keys or identities and
it names this log (its origin and key): anything else is 403 with the reason, before it is
sequenced. Appends from every request thread are gathered into batches (audit/batcher.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from audit.auth import Authenticator, AuthError, Principal
from audit.batcher import Batcher, Closed
from audit.errors import AuditError
from audit.http_guard import DEFAULT_BODY_TIMEOUT_S, DEFAULT_MAX_REQUEST_BYTES, RequestGuard
from audit.log import not_of_log, sha256_digest
from audit.pgstore import BUNDLE_LEVEL, MAX_PAGE, Admitted, Conflict, PgLog, Query, Sequenced, StoreError
from audit.query import parse_time
from audit.record import detail_of
from audit.tiles import parse_tile_parts
from audit.verify import Trust, verify_record

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from psycopg_pool import ConnectionPool

ENTRIES_PATH = "/v1/log/entries"
BLOB = re.compile(r"sha256-([0-9a-f]{64})\.json")
LOG = logging.getLogger("govgate.audit.serve")


@dataclass(frozen=True)
class LogServiceSettings:
    """What the service admits and how it batches: who may sign records, the body limit, the
    batch bounds, whether the tiles are public, and the request timeout for an append."""

    trust: Trust
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S
    max_batch: int = 256
    batch_wait: float = 0.005
    public_tiles: bool = True
    append_timeout: float = 30.0


@dataclass
class Metrics:
    """The service's Prometheus metrics, in a registry of its own."""

    registry: CollectorRegistry
    appends: Any
    refusals: Any
    batch_sizes: Any
    latency: Any
    tree_size: Any

    @classmethod
    def create(cls) -> Metrics:
        """New metrics in a fresh registry."""
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        registry = CollectorRegistry()
        return cls(
            registry,
            Counter("govgate_log_appends", "Records appended (new entries)", registry=registry),
            Counter("govgate_log_refusals", "Appends refused, by reason", ["reason"], registry=registry),
            Histogram(
                "govgate_log_batch_size",
                "Records per batch",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                registry=registry,
            ),
            Histogram("govgate_log_append_seconds", "Latency of an append request", registry=registry),
            Gauge("govgate_log_tree_size", "Entries in the log", registry=registry),
        )


def _error(status: int, error: str, remediation: str = "") -> JSONResponse:
    return JSONResponse({"error": error, "remediation": remediation}, status)


@dataclass
class LogService:
    """The log service's parts: the store, the batcher, who may call it, and its metrics."""

    store: PgLog
    auth: Authenticator
    settings: LogServiceSettings
    metrics: Metrics = field(default_factory=Metrics.create)
    batcher: Batcher[Admitted, Sequenced | Conflict] = field(init=False)

    def __post_init__(self) -> None:
        def on_batch(size: int, seconds: float) -> None:
            self.metrics.batch_sizes.observe(size)

        self.batcher = Batcher(
            self.store.append,
            max_batch=self.settings.max_batch,
            max_wait=self.settings.batch_wait,
            on_batch=on_batch,
        )

    def close(self) -> None:
        """Finish the batch in flight and stop taking appends."""
        self.batcher.close()

    def admit(self, body: bytes) -> Admitted:
        """Check an append request's body: a signed record of this log, with the input it names.
        Raises Refused (400, 403, 413) naming what is wrong."""
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise Refused(400, "malformed", f"the request body is not JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("record"), str):
            raise Refused(400, "malformed", 'the body must be {"record": base64, "input": base64 or null}')
        raw_input = doc.get("input")
        if raw_input is not None and not isinstance(raw_input, str):
            raise Refused(400, "malformed", '"input" must be base64 or null')
        try:
            bundle = base64.b64decode(doc["record"], validate=True)
            stored = base64.b64decode(raw_input, validate=True) if raw_input is not None else None
        except (binascii.Error, ValueError):
            raise Refused(400, "malformed", '"record" and "input" must be standard base64') from None
        try:
            verified = verify_record(bundle, self.settings.trust)
        except AuditError as exc:
            raise Refused(403, "signature", f"record refused: {exc}") from None
        detail = detail_of(verified.statement)
        record_id = detail.get("recordId")
        if not isinstance(record_id, str) or not record_id:
            raise Refused(403, "malformed", "record refused: it has no record id")
        verifier = self.store.key.verifier
        foreign = not_of_log(detail, verifier.name, verifier.vkey)
        if foreign is not None or "log" not in detail:
            raise Refused(403, "other-log", f"record refused: {foreign or 'it names no log'}")
        named = detail.get("storedInput")
        if named is None and stored is not None:
            raise Refused(400, "input", "the record names no stored input, but one was sent")
        if named is not None and (stored is None or sha256_digest(stored) != named):
            raise Refused(400, "input", "the stored input sent is not the one the record names")
        return Admitted(bundle, record_id, stored, verified.statement, verified.signer)


class Refused(Exception):
    """An append refused before it is sequenced: HTTP status, a metrics reason, a message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def appended_json(result: Sequenced) -> dict[str, Any]:
    """The answer to an append: where the record is, and the proof that the checkpoint holds it."""
    return {
        "index": result.index,
        "id": result.record_id,
        "record": result.record,
        "input": result.input,
        "checkpoint": result.checkpoint,
        "proof": [_b64(h) for h in result.proof],
        "existing": result.existing,
    }


def create_log_app(service: LogService) -> RequestGuard:
    """The ASGI application of `gate audit serve`, behind the body-size guard."""
    app = FastAPI(title="govgate decision log", docs_url=None, redoc_url=None)
    settings = service.settings

    def principal(request: Request, scope: str) -> Principal:
        who = service.auth.authenticate(request.headers.get("authorization"))
        service.auth.require(who, scope)
        return who

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError) -> JSONResponse:
        service.metrics.refusals.labels("auth").inc()
        response = _error(
            exc.status, exc.reason, "send `Authorization: Bearer <token>` with a token of that scope"
        )
        if exc.status == 401:
            response.headers["www-authenticate"] = 'Bearer realm="govgate"'
        return response

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        return _error(503, str(exc), exc.remediation or "")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """The database answers and its schema is the one this service expects."""
        from audit.pgstore import latest_version, schema_version

        try:
            with service.store.connection() as conn:
                version = schema_version(conn)
        except StoreError as exc:
            return _error(503, str(exc), exc.remediation or "")
        if version != latest_version():
            return _error(
                503,
                f"the database's schema is at version {version}, not {latest_version()}",
                "run `gate audit serve --migrate`",
            )
        return JSONResponse({"status": "ready", "schema": version})

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        size, _ = service.store.state()
        service.metrics.tree_size.set(size)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(ENTRIES_PATH)
    async def append(request: Request) -> JSONResponse:
        """Append a signed record: 200 with its index, inclusion proof and checkpoint."""
        import asyncio

        started = time.monotonic()
        who = principal(request, "append")
        body = await request.body()
        try:
            admitted = service.admit(body)
        except Refused as exc:
            service.metrics.refusals.labels(exc.reason).inc()
            LOG.info(
                json.dumps({"event": "refused", "reason": exc.reason, "who": who.subject, "why": str(exc)})
            )
            return _error(exc.status, str(exc))
        try:
            future = service.batcher.submit(admitted)
        except Closed as exc:
            return _error(503, str(exc), exc.remediation or "")
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), settings.append_timeout)
        except TimeoutError:
            return _error(503, "the append did not complete in time", "retry: appends are idempotent")
        except StoreError as exc:
            return _error(503, str(exc), exc.remediation or "")
        if isinstance(result, Conflict):
            service.metrics.refusals.labels("conflict").inc()
            return _error(409, str(result))
        if not result.existing:
            service.metrics.appends.inc()
        service.metrics.latency.observe(time.monotonic() - started)
        LOG.info(
            json.dumps(
                {"event": "appended", "index": result.index, "id": result.record_id, "who": who.subject}
            )
        )
        return JSONResponse(appended_json(result))

    def public(request: Request) -> None:
        if not settings.public_tiles:
            principal(request, "read")

    @app.get("/checkpoint")
    def checkpoint(request: Request) -> Response:
        """The latest signed checkpoint (404 before the first entry)."""
        public(request)
        _, note = service.store.state()
        if note is None:
            return PlainTextResponse("no checkpoint yet\n", 404)
        return PlainTextResponse(note, headers={"cache-control": "no-store"})

    @app.get("/log.pub")
    def log_pub(request: Request) -> Response:
        """The log's C2SP verifier key (pin it out of band: this copy proves nothing)."""
        public(request)
        return PlainTextResponse(service.store.key.verifier.vkey + "\n")

    @app.get("/tile/{path:path}")
    def tile(path: str, request: Request) -> Response:
        """A hash tile or entry bundle, as the folder log holds it."""
        public(request)
        parsed = parse_tile_parts(["tile", *path.split("/")])
        if parsed is None:
            return PlainTextResponse("not a tile path\n", 404)
        level, n, width = parsed
        data = service.store.tile(BUNDLE_LEVEL if level is None else level, n, width)
        if data is None:
            return PlainTextResponse("no such tile\n", 404)
        cache = "public, max-age=31536000, immutable" if width == 256 else "no-cache"
        return Response(data, media_type="application/octet-stream", headers={"cache-control": cache})

    def blob(table: str, name: str, request: Request) -> Response:
        principal(request, "read")
        m = BLOB.fullmatch(name)
        data = service.store.blob(table, "sha256:" + m.group(1)) if m else None
        if data is None:
            return PlainTextResponse("not found\n", 404)
        return Response(data, media_type="application/json")

    @app.get("/records/{name}")
    def record(name: str, request: Request) -> Response:
        """A record bundle by digest."""
        return blob("records", name, request)

    @app.get("/inputs/{name}")
    def stored_input(name: str, request: Request) -> Response:
        """A stored input by digest (it may hold sensitive data)."""
        return blob("inputs", name, request)

    @app.get("/v1/decisions")
    def decisions(request: Request) -> JSONResponse:
        """The decisions the filters match, in log order; `next` is the cursor of the next page."""
        principal(request, "read")
        try:
            query = query_of(request.query_params)
        except ValueError as exc:
            return _error(400, str(exc), "see the filters of GET /v1/decisions in the docs")
        rows, nxt = service.store.decisions(query)
        return JSONResponse({"decisions": [r.to_json() for r in rows], "next": nxt})

    @app.get("/v1/decisions/{ref}")
    def decision(ref: str, request: Request) -> JSONResponse:
        """One decision by index, record id or record digest."""
        principal(request, "read")
        row = service.store.entry(ref)
        if row is None:
            return _error(404, f"no decision {ref[:80]}")
        return JSONResponse(row.to_json())

    return RequestGuard(
        app,
        paths=(ENTRIES_PATH,),
        token=None,
        max_bytes=settings.max_request_bytes,
        body_timeout=settings.body_timeout,
    )


FILTERS = (
    "environment",
    "outcome",
    "check",
    "repository",
    "service",
    "signer",
    "since",
    "until",
    "after",
    "limit",
)


def query_of(params: Mapping[str, str]) -> Query:
    """The Query of the decisions endpoint's parameters; ValueError names a bad one."""
    unknown = sorted(set(params) - set(FILTERS))
    if unknown:
        raise ValueError(f"unknown filter {unknown[0][:40]!r}")
    values: dict[str, Any] = {}
    for name in ("environment", "outcome", "check", "repository", "service", "signer"):
        value = params.get(name)
        if value is not None:
            if len(value) > 512 or "\x00" in value:
                raise ValueError(f"{name}: too long, or holds a NUL character")
            values[name] = value
    for name in ("since", "until"):
        if name in params:
            when = parse_time(params[name])
            if when is None:
                raise ValueError(f"{name}: not an RFC 3339 time or a date")
            values[name] = when
    for name, low, high in (("after", -1, 2**62), ("limit", 1, MAX_PAGE)):
        if name in params:
            text = params[name]
            if not text.lstrip("-").isdigit() or len(text) > 20 or not low <= int(text) <= high:
                raise ValueError(f"{name}: an integer from {low} to {high}")
            values[name] = int(text)
    return Query(**values)


@dataclass(frozen=True)
class ServiceConfig:
    """`gate audit serve --config FILE`: the log key, who may sign records, and the service's bounds.

        log_key: /etc/govgate/log.key        # the log's C2SP signer key (or GATE_LOG_KEY)
        keys: [/etc/govgate/ci-audit.pub]    # record-signing public keys records may be signed by
        identities:                          # sigstore identities: ISSUER=SAN_REGEX
          - https://token.actions.githubusercontent.com=^https://github.com/acme/
        trust_root: production
        public_tiles: true                   # checkpoint, tiles and log.pub without a token
        max_batch: 256
        batch_wait_ms: 5
        max_request_bytes: 8388608

    Relative paths are read from the config file's folder.
    """

    log_key: Path | None = None
    keys: tuple[Path, ...] = ()
    identities: tuple[str, ...] = ()
    trust_root: str = "production"
    public_tiles: bool = True
    max_batch: int = 256
    batch_wait_ms: float = 5.0
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES


CONFIG_LIMIT = 1024 * 1024


def load_service_config(path: Path) -> ServiceConfig:
    """Read a service config; AuditError names the field that is wrong."""
    import yaml

    try:
        with path.open("rb") as fh:
            raw = fh.read(CONFIG_LIMIT + 1)
    except OSError as exc:
        raise AuditError(f"{path}: cannot read the config ({exc.strerror})") from None
    if len(raw) > CONFIG_LIMIT:
        raise AuditError(f"{path}: over {CONFIG_LIMIT} bytes, not a config")
    try:
        doc = yaml.safe_load(raw) if raw.strip() else {}
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise AuditError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise AuditError(f"{path}: the config must be a mapping")
    fields = {f.name for f in dataclasses.fields(ServiceConfig)}
    unknown = sorted(str(k) for k in doc if k not in fields)
    if unknown:
        raise AuditError(f"{path}: unknown field {unknown[0]!r}", "fields: " + ", ".join(sorted(fields)))
    base = path.parent

    def where(name: str) -> str:
        return f"{path}: {name}"

    def a_path(name: str, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise AuditError(f"{where(name)} must be a file path")
        return base / value

    def a_list(name: str) -> list[Any]:
        value = doc.get(name, [])
        if not isinstance(value, list):
            raise AuditError(f"{where(name)} must be a list")
        return value

    def a_number(name: str, low: float, high: float, kind: type) -> Any:
        value = doc.get(name, getattr(ServiceConfig, name))
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise AuditError(f"{where(name)} must be a number from {low:g} to {high:g}")
        if kind is int and not isinstance(value, int):
            raise AuditError(f"{where(name)} must be an integer")
        return value

    public = doc.get("public_tiles", True)
    if not isinstance(public, bool):
        raise AuditError(f"{where('public_tiles')} must be true or false")
    root = doc.get("trust_root", "production")
    if not isinstance(root, str):
        raise AuditError(f"{where('trust_root')} must be production, staging or a trusted_root.json")
    identities = a_list("identities")
    if not all(isinstance(i, str) for i in identities):
        raise AuditError(f"{where('identities')} must be a list of ISSUER=SAN_REGEX")
    return ServiceConfig(
        log_key=a_path("log_key", doc["log_key"]) if doc.get("log_key") is not None else None,
        keys=tuple(a_path("keys", k) for k in a_list("keys")),
        identities=tuple(identities),
        trust_root=root if root in ("production", "staging") else str(base / root),
        public_tiles=public,
        max_batch=a_number("max_batch", 1, 4096, int),
        batch_wait_ms=float(a_number("batch_wait_ms", 0, 1000, float)),
        max_request_bytes=a_number("max_request_bytes", 1024, 2**31, int),
    )


def open_pool(dsn: str, max_size: int = 16) -> ConnectionPool[Any]:
    """A connection pool on the database, once it answers (StoreError when it does not in 10 s)."""
    import psycopg
    import psycopg_pool

    # One direct connection first: a database that is not there is named at once, in one line.
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise StoreError(
            f"the database is unreachable: {lines[0] if lines else type(exc).__name__}",
            "check --db and that PostgreSQL is up",
        ) from None
    pool: ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        dsn, min_size=1, max_size=max_size, timeout=10, kwargs={"connect_timeout": 5}, open=False
    )
    try:
        pool.open(wait=True, timeout=10)
    except psycopg_pool.PoolTimeout:
        pool.close()
        raise StoreError(
            "the database is unreachable (no connection within 10 s)", "check --db and that PostgreSQL is up"
        ) from None
    return pool


def prepare_database(pool: ConnectionPool[Any], apply: bool) -> list[str]:
    """Apply the pending migrations (apply), or check there are none; returns those applied."""
    from audit.pgstore import latest_version, migrate, schema_version

    with pool.connection() as conn:
        if apply:
            return migrate(conn)
        version = schema_version(conn)
    if version != latest_version():
        raise StoreError(
            f"the database's schema is at version {version}, not {latest_version()}",
            "run `gate audit serve --migrate` once (it applies the migrations under a lock)",
        )
    return []


def open_service(dsn: str, config: ServiceConfig, log_key_text: str, *, apply_migrations: bool) -> LogService:
    """The log service on the database at dsn: migrated (or checked), its log made or checked."""
    from audit.keys import load_public_key
    from audit.note import NoteError, NoteSigner
    from audit.verify import Identity

    try:
        key = NoteSigner.from_skey(log_key_text.strip())
    except NoteError as exc:
        raise AuditError(
            f"not a log signer key ({exc})", "use the log.key from `gate audit keygen`"
        ) from None
    trust = Trust(
        keys=tuple(load_public_key(k) for k in config.keys),
        identities=tuple(Identity.parse(i) for i in config.identities),
        trust_root=config.trust_root,
    )
    if not trust.keys and not trust.identities:
        raise AuditError("the config allows no record signer", "list keys: and/or identities: in the config")
    pool = open_pool(dsn)
    try:
        prepare_database(pool, apply_migrations)
        store = PgLog(pool, key)
        store.initialise()
    except BaseException:
        pool.close()
        raise
    settings = LogServiceSettings(
        trust=trust,
        max_request_bytes=config.max_request_bytes,
        max_batch=config.max_batch,
        batch_wait=config.batch_wait_ms / 1000,
        public_tiles=config.public_tiles,
    )
    return LogService(store, Authenticator(store), settings)


def create_token(dsn: str, scopes: Sequence[str], name: str) -> str:
    """Store a new bearer token in the database; its text (shown once)."""
    from audit.auth import new_token

    text, stored = new_token(scopes, name)
    pool = open_pool(dsn, max_size=1)
    try:
        prepare_database(pool, apply=False)
        PgLog(pool, None).add_token(stored)
    finally:
        pool.close()
    return text
