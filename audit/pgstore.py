"""The central decision log on PostgreSQL: schema migrations, batched appends, tiles and queries.

The same log as a folder (audit/log.py): RFC 6962 leaves `{id, index, input, record}`, C2SP
tlog-tiles, checkpoints signed by the log key; PostgreSQL is the system of record. One sequencer at
a time, across every replica of the service: an append takes the row lock on `log_state` in its
transaction, so a batch of records becomes one tree update, one checkpoint and one commit, and a
replica killed mid-batch leaves nothing (its transaction rolls back). A record id already in the log
answers with the index it has (clients retry safely).

Migrations are the numbered SQL files of `audit/migrations/`, applied in order, each in its own
transaction, under an advisory lock so replicas starting together apply each once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from audit.auth import StoredToken
from audit.errors import AuditError
from audit.log import leaf_bytes, sha256_digest
from audit.merkle import leaf_hash
from audit.note import Checkpoint, NoteSigner, sign_note
from audit.proof import compact_tree
from audit.record import detail_of
from audit.tiles import (
    HEIGHT,
    MAX_LEAF,
    WIDTH,
    appended_tiles,
    decode_bundle,
    decode_hash_tile,
    inclusion_path,
    perfect_root,
    tile_bytes,
)

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

# pg_advisory_lock keys: "govgate" in ASCII, and one more for migrations.
MIGRATION_LOCK = 0x676F7667617465
BUNDLE_LEVEL = -1  # entry bundles in the tiles table
MAX_PAGE = 1000


class StoreError(AuditError):
    """The database cannot be used as the log (unreachable, not migrated, of another log key)."""


class Conflict(AuditError):
    """A record id already in the log names another record."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration the package ships, in order."""
    found = []
    for item in resources.files("audit").joinpath("migrations").iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name.removesuffix(".sql"), item.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    """The schema version this code expects."""
    return migrations()[-1][0]


def schema_version(conn: Connection[Any]) -> int:
    """The highest migration applied to the database (0: none)."""
    row = conn.execute("SELECT to_regclass('govgate_migrations') IS NOT NULL AS present").fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT coalesce(max(version), 0) FROM govgate_migrations").fetchone()
    return int(got[0]) if got else 0


def migrate(conn: Connection[Any]) -> list[str]:
    """Apply the migrations the database lacks; returns their names. A database of a newer
    schema than this code knows, or one whose applied migration differs from the shipped file, is
    refused (StoreError): an older service must not write a newer log."""
    applied: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS govgate_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " digest text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        done = {
            int(v): (str(n), str(d))
            for v, n, d in conn.execute("SELECT version, name, digest FROM govgate_migrations").fetchall()
        }
        shipped = migrations()
        known = {v for v, _, _ in shipped}
        newer = sorted(v for v in done if v not in known and v > max(known))
        if newer:
            raise StoreError(
                f"the database's schema is at version {newer[-1]}, newer than this govgate's {max(known)}",
                "run the govgate version that migrated it (or a newer one)",
            )
        for version, name, sql in shipped:
            digest = sha256_digest(sql.encode("utf-8"))
            if version in done:
                if done[version][1] != digest:
                    raise StoreError(
                        f"migration {done[version][0]} applied to the database differs from the one shipped",
                        "restore the database's schema, or run the govgate version that made it",
                    )
                continue
            with conn.transaction():
                conn.execute(sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO govgate_migrations (version, name, digest) VALUES (%s, %s, %s)",
                    (version, name, digest),
                )
            applied.append(name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        conn.commit()
    return applied


@dataclass(frozen=True)
class Admitted:
    """A record the service admitted (its signature verified): what an append takes."""

    bundle: bytes
    record_id: str
    stored_input: bytes | None
    statement: dict[str, Any]
    signer: str


@dataclass(frozen=True)
class Sequenced:
    """Where a record is in the log: its index, digests, the checkpoint covering it and its
    inclusion proof in that checkpoint; `existing` when it was there before this append."""

    index: int
    record_id: str
    record: str
    input: str | None
    checkpoint: str
    proof: list[bytes]
    existing: bool = False


class _Tiles:
    """Subtree hashes read from the tiles table of one transaction, each tile read once."""

    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn
        self.cache: dict[tuple[int, int], list[bytes]] = {}

    def items(self, level: int, n: int, width: int) -> list[bytes]:
        """The first width items of tile (level, N) (level -1: an entry bundle's leaves)."""
        have = self.cache.get((level, n))
        if have is None or len(have) < width:
            row = self.conn.execute(
                "SELECT width, data FROM tiles WHERE level = %s AND n = %s", (level, n)
            ).fetchone()
            if row is None or int(row[0]) < width:
                raise StoreError(f"tile {level}/{n} of width {width} is missing from the database")
            stored = int(row[0])
            data = bytes(row[1])
            have = decode_bundle(data, stored) if level == BUNDLE_LEVEL else decode_hash_tile(data, stored)
            self.cache[(level, n)] = have
        return have[:width]

    def put(self, level: int, n: int, items: list[bytes]) -> None:
        """Keep a tile this transaction wrote (wider than the one stored)."""
        self.cache[(level, n)] = items

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves starting at leaf index * 2**level."""
        tile_level, below = divmod(level, HEIGHT)
        first = index << below
        n, offset = divmod(first, WIDTH)
        count = 1 << below
        return perfect_root(self.items(tile_level, n, offset + count)[offset : offset + count])


def _time(statement: dict[str, Any]) -> dt.datetime | None:
    text = (statement.get("predicate") or {}).get("timeVerified")
    if not isinstance(text, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _columns(statement: dict[str, Any]) -> dict[str, Any]:
    """The columns auditors filter on, from a verified record's statement."""
    d = detail_of(statement)
    ctx = d.get("context") if isinstance(d.get("context"), dict) else {}
    summary = d.get("summary") if isinstance(d.get("summary"), dict) else {}
    found = d.get("findings")
    findings: list[Any] = found if isinstance(found, list) else []

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    def count(value: Any) -> int | None:
        return (
            value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31 else None
        )

    assert isinstance(ctx, dict) and isinstance(summary, dict)
    return {
        "time": _time(statement),
        "environment": text(d.get("environment")),
        "outcome": text(d.get("outcome")),
        "repository": text(ctx.get("repository")),
        "service": text(ctx.get("service")),
        "checks": sorted({str(f.get("check")) for f in findings if isinstance(f, dict) and f.get("check")}),
        "blocking": count(summary.get("blocking")),
        "warnings": count(summary.get("warnings")),
    }


@dataclass(frozen=True)
class Query:
    """Filters of `GET /v1/decisions` (None matches everything); repository and service take
    `*` and `?` wildcards."""

    environment: str | None = None
    outcome: str | None = None
    check: str | None = None
    repository: str | None = None
    service: str | None = None
    signer: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    after: int | None = None
    limit: int = 100
    extra: dict[str, Any] = field(default_factory=dict)


def glob_like(pattern: str) -> tuple[str, bool]:
    """A `*`/`?` glob as a LIKE pattern (with `\\` escaping), and whether it has wildcards."""
    out = []
    wild = False
    for ch in pattern:
        if ch == "*":
            out.append("%")
            wild = True
        elif ch == "?":
            out.append("_")
            wild = True
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out), wild


def _where(q: Query) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("environment", q.environment), ("outcome", q.outcome), ("signer", q.signer)):
        if value is not None:
            clauses.append(f"{column} = %s")
            args.append(value)
    for column, value in (("repository", q.repository), ("service", q.service)):
        if value is not None:
            like, wild = glob_like(value)
            clauses.append(f"{column} LIKE %s" if wild else f"{column} = %s")
            args.append(like if wild else value)
    if q.check is not None:
        clauses.append("checks @> ARRAY[%s]::text[]")
        args.append(q.check)
    if q.since is not None:
        clauses.append("time >= %s")
        args.append(q.since)
    if q.until is not None:
        clauses.append("time < %s")
        args.append(q.until)
    if q.after is not None:
        clauses.append("idx > %s")
        args.append(q.after)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


@dataclass(frozen=True)
class Row:
    """One entry as the decisions API lists it."""

    index: int
    record_id: str
    record: str
    input: str | None
    time: dt.datetime | None
    environment: str | None
    outcome: str | None
    repository: str | None
    service: str | None
    signer: str | None
    checks: list[str]
    blocking: int | None
    warnings: int | None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of one decision."""
        return {
            "index": self.index,
            "id": self.record_id,
            "record": self.record,
            "input": self.input,
            "time": self.time.isoformat().replace("+00:00", "Z") if self.time else None,
            "environment": self.environment,
            "outcome": self.outcome,
            "repository": self.repository,
            "service": self.service,
            "signer": self.signer,
            "checks": self.checks,
            "blocking": self.blocking,
            "warnings": self.warnings,
        }


_ROW_COLUMNS = (
    "idx, record_id, record, input, time, environment, outcome, repository, service, signer, checks,"
    " blocking, warnings"
)


class PgLog:
    """The log in a PostgreSQL database, through a connection pool."""

    def __init__(self, pool: ConnectionPool[Any], key: NoteSigner | None) -> None:
        self.pool = pool
        self._key = key

    @property
    def key(self) -> NoteSigner:
        """The log key the store signs checkpoints with."""
        if self._key is None:
            raise StoreError("this store was opened without the log key")
        return self._key

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        """A pooled connection (StoreError when the database cannot be reached in time)."""
        import psycopg
        import psycopg_pool

        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            raise StoreError("the database did not answer in time", "check that PostgreSQL is up") from None
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"the database is unreachable: {first}", "check that PostgreSQL is up") from None

    def initialise(self) -> None:
        """Make the log's state row for this log key, or check the database holds this key's log."""
        vkey = self.key.verifier.vkey
        with self.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO log_state (origin, vkey) VALUES (%s, %s) ON CONFLICT (singleton) DO NOTHING",
                (self.key.name, vkey),
            )
            row = conn.execute("SELECT vkey FROM log_state").fetchone()
        if row is None or row[0] != vkey:
            raise StoreError(
                f"the database holds the log of key {row[0] if row else '?'}, not of this service's log key",
                "configure the log key the log was started with",
            )

    # --- appending -------------------------------------------------------------------------------

    def append(self, items: Sequence[Admitted]) -> list[Sequenced | Conflict]:
        """Sequence a batch of admitted records in one transaction: one tree update, one signed
        checkpoint. Each item answers where its record is (the index it already had, for a record id
        the log holds with the same record) or a Conflict (the id is taken by another record)."""
        with self.connection() as conn, conn.transaction():
            state = conn.execute("SELECT size FROM log_state FOR UPDATE").fetchone()
            if state is None:
                raise StoreError("the database holds no log", "start `gate audit serve` once to make it")
            base = int(state[0])
            ids = list({item.record_id for item in items})
            held = {
                str(rid): (int(idx), str(rec), inp)
                for rid, idx, rec, inp in conn.execute(
                    "SELECT record_id, idx, record, input FROM entries WHERE record_id = ANY(%s)", (ids,)
                ).fetchall()
            }
            answers: list[tuple[int, str, str | None, bool] | Conflict] = []
            leaves: list[bytes] = []
            rows: list[tuple[Any, ...]] = []
            for item in items:
                digest = sha256_digest(item.bundle)
                input_digest = sha256_digest(item.stored_input) if item.stored_input is not None else None
                have = held.get(item.record_id)
                if have is not None:
                    if have[1] != digest:
                        answers.append(
                            Conflict(f"record id {item.record_id} is in the log already, with another record")
                        )
                    else:
                        answers.append((have[0], digest, have[2], have[0] < base))
                    continue
                index = base + len(leaves)
                leaf = leaf_bytes(index, item.record_id, digest, input_digest)
                if len(leaf) > MAX_LEAF:
                    answers.append(Conflict(f"record id of {len(item.record_id)} characters is too long"))
                    continue
                held[item.record_id] = (index, digest, input_digest)
                leaves.append(leaf)
                conn.execute(
                    "INSERT INTO records (digest, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (digest, item.bundle),
                )
                if item.stored_input is not None:
                    conn.execute(
                        "INSERT INTO inputs (digest, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (input_digest, item.stored_input),
                    )
                c = _columns(item.statement)
                rows.append(
                    (
                        index,
                        item.record_id,
                        digest,
                        input_digest,
                        c["time"],
                        c["environment"],
                        c["outcome"],
                        c["repository"],
                        c["service"],
                        item.signer,
                        c["checks"],
                        c["blocking"],
                        c["warnings"],
                    )
                )
                answers.append((index, digest, input_digest, False))
            tiles = _Tiles(conn)
            size = base
            note = None
            if leaves:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO entries ({_ROW_COLUMNS}) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )
                tree = compact_tree(tiles, base)
                new = appended_tiles(
                    base,
                    leaves,
                    lambda n, w: tiles.items(BUNDLE_LEVEL, n, w),
                    tiles.items,
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO tiles (level, n, width, data) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (level, n) DO UPDATE SET width = EXCLUDED.width, data = EXCLUDED.data "
                        "WHERE tiles.width < EXCLUDED.width",
                        [
                            (
                                BUNDLE_LEVEL if level is None else level,
                                n,
                                len(items),
                                tile_bytes(level, items),
                            )
                            for level, n, items in new
                        ],
                    )
                for level, n, got in new:
                    tiles.put(BUNDLE_LEVEL if level is None else level, n, got)
                for leaf in leaves:
                    tree.append(leaf_hash(leaf))
                size = tree.size
                note = sign_note(Checkpoint(self.key.name, size, tree.root()).to_text(), [self.key])
                conn.execute("INSERT INTO checkpoints (size, note) VALUES (%s, %s)", (size, note))
                conn.execute("UPDATE log_state SET size = %s, checkpoint = %s", (size, note))
            else:
                latest = conn.execute("SELECT checkpoint FROM log_state").fetchone()
                note = str(latest[0]) if latest and latest[0] else None
            out: list[Sequenced | Conflict] = []
            for item, answer in zip(items, answers, strict=True):
                if isinstance(answer, Conflict):
                    out.append(answer)
                    continue
                index, digest, input_digest, existing = answer
                assert note is not None  # a log with an entry has a checkpoint
                proof = inclusion_path(tiles.subtree_hash, index, size)
                out.append(Sequenced(index, item.record_id, digest, input_digest, note, proof, existing))
            return out

    # --- reading ---------------------------------------------------------------------------------

    def state(self) -> tuple[int, str | None]:
        """The log's size and latest checkpoint (None before the first entry)."""
        with self.connection() as conn:
            row = conn.execute("SELECT size, checkpoint FROM log_state").fetchone()
        if row is None:
            return 0, None
        return int(row[0]), (str(row[1]) if row[1] is not None else None)

    def tile(self, level: int, n: int, width: int) -> bytes | None:
        """The bytes of tile (level, N) of that width (level -1: an entry bundle), or None when the
        log does not have it: a partial width is the prefix of the tile stored."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT width, data FROM tiles WHERE level = %s AND n = %s", (level, n)
            ).fetchone()
        if row is None or int(row[0]) < width:
            return None
        data = bytes(row[1])
        if int(row[0]) == width:
            return data
        if level == BUNDLE_LEVEL:
            return tile_bytes(None, decode_bundle(data, int(row[0]))[:width])
        return data[: width * 32]

    def blob(self, table: str, digest: str) -> bytes | None:
        """A record (table "records") or stored input ("inputs") by digest."""
        if table not in ("records", "inputs"):
            raise ValueError(table)
        with self.connection() as conn:
            row = conn.execute(f"SELECT data FROM {table} WHERE digest = %s", (digest,)).fetchone()
        return bytes(row[0]) if row else None

    def checkpoint_at(self, size: int) -> str | None:
        """The checkpoint the log signed at that size, if it made one."""
        with self.connection() as conn:
            row = conn.execute("SELECT note FROM checkpoints WHERE size = %s", (size,)).fetchone()
        return str(row[0]) if row else None

    def decisions(self, q: Query) -> tuple[list[Row], int | None]:
        """The entries the filters match, in index order after q.after, at most q.limit; and the
        cursor of the next page (None on the last)."""
        where, args = _where(q)
        limit = max(1, min(q.limit, MAX_PAGE))
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM entries{where} ORDER BY idx LIMIT %s",
                [*args, limit + 1],
            ).fetchall()
        out = [
            Row(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], list(r[10]), r[11], r[12])
            for r in rows[:limit]
        ]
        return out, (out[-1].index if len(rows) > limit else None)

    def entry(self, ref: str) -> Row | None:
        """An entry by index, record id or record digest."""
        with self.connection() as conn:
            if ref.isdigit():
                r = conn.execute(f"SELECT {_ROW_COLUMNS} FROM entries WHERE idx = %s", (int(ref),)).fetchone()
            else:
                r = conn.execute(
                    f"SELECT {_ROW_COLUMNS} FROM entries WHERE record_id = %s OR record = %s LIMIT 1",
                    (ref, ref),
                ).fetchone()
        if r is None:
            return None
        return Row(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], list(r[10]), r[11], r[12])

    # --- tokens ----------------------------------------------------------------------------------

    def add_token(self, token: StoredToken) -> None:
        """Store a bearer token's digest and scopes."""
        with self.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO tokens (id, name, digest, scopes) VALUES (%s, %s, %s, %s)",
                (token.id, token.name, token.digest, sorted(token.scopes)),
            )

    def lookup(self, token_id: str) -> StoredToken | None:
        """The stored token of that id (the service's TokenStore)."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT name, digest, scopes, revoked_at IS NOT NULL FROM tokens WHERE id = %s", (token_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredToken(token_id, str(row[0]), bytes(row[1]), frozenset(row[2]), bool(row[3]))
