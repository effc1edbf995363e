"""The central decision log service on a real PostgreSQL: appends, admission, tiles, decisions.

Each test gets a fresh database of the session's cluster (tests/postgres_fixture.py) and talks to
the service's ASGI application in process (FastAPI's TestClient).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from audit.auth import Authenticator, new_token
from audit.keys import load_public_key
from audit.log import AuditLog, leaf_bytes, sha256_digest
from audit.merkle import leaf_hash, verify_inclusion
from audit.note import NoteSigner
from audit.pgstore import PgLog, StoreError, latest_version, migrate, schema_version
from audit.service import LogService, LogServiceSettings, create_log_app
from audit.verify import Trust
from audit.writer import sign_record
from tests.audit.logs import Keys, document, facts, make_keys


@dataclass
class Served:
    """A running service on a fresh database: its HTTP client, store and tokens."""

    client: TestClient
    service: LogService
    keys: Keys
    append: dict[str, str]
    read: dict[str, str]
    dsn: str

    @property
    def log_key(self) -> NoteSigner:
        return NoteSigner.from_skey(self.keys.log_skey)


def open_store(dsn: str, keys: Keys) -> PgLog:
    from psycopg_pool import ConnectionPool

    pool: ConnectionPool[Any] = ConnectionPool(dsn, min_size=1, max_size=8, timeout=10, open=True)
    with pool.connection() as conn:
        migrate(conn)
    store = PgLog(pool, NoteSigner.from_skey(keys.log_skey))
    store.initialise()
    return store


def start(dsn: str, keys: Keys, **settings: Any) -> tuple[LogService, TestClient]:
    store = open_store(dsn, keys)
    service = LogService(
        store,
        Authenticator(store),
        LogServiceSettings(trust=Trust(keys=(load_public_key(keys.pub),)), **settings),
    )
    return service, TestClient(create_log_app(service))


def bearer(store: PgLog, *scopes: str) -> dict[str, str]:
    text, stored = new_token(scopes, "test")
    store.add_token(stored)
    return {"authorization": f"Bearer {text}"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def served(postgres_dsn: str, keys: Keys) -> Iterator[Served]:
    service, client = start(postgres_dsn, keys)
    try:
        yield Served(
            client,
            service,
            keys,
            bearer(service.store, "append"),
            bearer(service.store, "read"),
            postgres_dsn,
        )
    finally:
        service.close()
        service.store.pool.close()


def record(keys: Keys, n: int, tmp: Path, **kw: Any) -> tuple[bytes, bytes]:
    """Record n, signed as `gate check` signs it for this log: (bundle, stored input)."""
    signed = sign_record(keys.settings(tmp / "unused"), facts(n, **kw), document(n))
    assert signed.stored_input is not None
    return signed.bundle, signed.stored_input


def body(bundle: bytes, stored: bytes | None) -> dict[str, Any]:
    return {
        "record": base64.b64encode(bundle).decode(),
        "input": base64.b64encode(stored).decode() if stored is not None else None,
    }


def post(s: Served, bundle: bytes, stored: bytes | None, headers: dict[str, str] | None = None) -> Any:
    return s.client.post(
        "/v1/log/entries", json=body(bundle, stored), headers=s.append if headers is None else headers
    )


# --- appending ---------------------------------------------------------------------------------


def test_an_append_answers_its_index_and_a_proof_in_a_signed_checkpoint(
    served: Served, tmp_path: Path
) -> None:
    verifier = served.log_key.verifier
    for n in range(3):
        bundle, stored = record(served.keys, n, tmp_path)
        answer = post(served, bundle, stored)
        assert answer.status_code == 200, answer.text
        got = answer.json()
        assert (got["index"], got["id"], got["existing"]) == (n, f"rec-{n}", False)
        assert got["record"] == sha256_digest(bundle) and got["input"] == sha256_digest(stored)
        from audit.log import open_checkpoint

        cp = open_checkpoint(got["checkpoint"], verifier, "answer")
        assert cp.size == n + 1
        leaf = leaf_bytes(n, f"rec-{n}", got["record"], got["input"])
        proof = [base64.b64decode(h) for h in got["proof"]]
        assert verify_inclusion(leaf_hash(leaf), n, cp.size, proof, cp.root_hash)
    assert served.service.store.state()[0] == 3


def test_appending_the_same_record_again_answers_the_same_index(served: Served, tmp_path: Path) -> None:
    bundle, stored = record(served.keys, 0, tmp_path)
    first = post(served, bundle, stored).json()
    post(served, *record(served.keys, 1, tmp_path))
    again = post(served, bundle, stored)
    assert again.status_code == 200
    assert again.json()["index"] == first["index"] == 0 and again.json()["existing"] is True
    assert served.service.store.state()[0] == 2


def test_a_record_id_taken_by_another_record_is_a_conflict(served: Served, tmp_path: Path) -> None:
    post(served, *record(served.keys, 0, tmp_path))
    other = record(served.keys, 1, tmp_path, record_id="rec-0")
    answer = post(served, *other)
    assert answer.status_code == 409
    assert "rec-0 is in the log already, with another record" in answer.json()["error"]
    assert served.service.store.state()[0] == 1


def test_the_tiles_served_are_the_folder_logs_for_the_same_records(served: Served, tmp_path: Path) -> None:
    """Served at the tiles paths, the central log is byte for byte the folder log of the same
    records: the same entry bundles, hash tiles and root (a tiles client reads either)."""
    folder = AuditLog(tmp_path / "folder")
    count = 600  # three entry bundles, a second level of hash tiles
    items = [record(served.keys, n, tmp_path) for n in range(count)]
    for bundle, stored in items[:300]:
        assert post(served, bundle, stored).status_code == 200
    folder.append_many([(b, f"rec-{n}", s) for n, (b, s) in enumerate(items[:300])], served.log_key)
    folder.append_many([(b, f"rec-{n + 300}", s) for n, (b, s) in enumerate(items[300:])], served.log_key)
    for bundle, stored in items[300:]:
        assert post(served, bundle, stored).status_code == 200
    central = served.client.get("/checkpoint").text
    from audit.note import Checkpoint

    assert Checkpoint.parse(central[: central.index("\n\n") + 1]) == Checkpoint.parse(
        folder.checkpoint_text()[: folder.checkpoint_text().index("\n\n") + 1]
    )
    files = sorted(p for p in (tmp_path / "folder" / "tile").rglob("*") if p.is_file())
    assert len(files) >= 6
    for path in files:
        rel = path.relative_to(tmp_path / "folder").as_posix()
        got = served.client.get("/" + rel)
        assert got.status_code == 200, rel
        assert got.content == path.read_bytes(), rel
    # a partial width an earlier checkpoint had is the prefix of the tile now stored
    old = served.client.get("/tile/entries/002.p/44")
    assert (
        old.status_code == 200
        and old.content == folder.read("tile", "entries", "002.p", "88")[: len(old.content)]
    )
    assert served.client.get("/tile/entries/002.p/89").status_code == 404
    assert served.client.get("/tile/0/x001/000").status_code == 404
    assert served.client.get("/tile/not-a-tile").status_code == 404
    assert served.client.get("/log.pub").text.strip() == served.log_key.verifier.vkey


def test_concurrent_appends_are_batched_and_every_one_is_in_the_log(served: Served, tmp_path: Path) -> None:
    items = [record(served.keys, n, tmp_path) for n in range(50)]
    answers: dict[int, Any] = {}

    def one(n: int) -> None:
        answers[n] = post(served, *items[n])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a.status_code == 200 for a in answers.values())
    assert sorted(a.json()["index"] for a in answers.values()) == list(range(50))
    with served.service.store.connection() as conn:
        checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert checkpoints is not None and checkpoints[0] < 50  # batches: fewer checkpoints than records
    metrics = served.client.get("/metrics").text
    assert "govgate_log_appends_total 50.0" in metrics
    assert "govgate_log_tree_size 50.0" in metrics


def test_two_replicas_on_one_database_never_fork_the_log(served: Served, tmp_path: Path) -> None:
    other, other_client = start(served.dsn, served.keys)
    try:
        items = [record(served.keys, n, tmp_path) for n in range(40)]
        clients = [served.client, other_client]
        out: list[Any] = [None] * 40

        def one(n: int) -> None:
            out[n] = clients[n % 2].post("/v1/log/entries", json=body(*items[n]), headers=served.append)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(a.json()["index"] for a in out) == list(range(40))
        assert served.client.get("/checkpoint").text == other_client.get("/checkpoint").text
    finally:
        other.close()
        other.store.pool.close()


# --- admission -------------------------------------------------------------------------------------


def test_a_record_of_an_unknown_signer_is_refused_before_it_is_sequenced(
    served: Served, tmp_path: Path
) -> None:
    stranger = make_keys(tmp_path / "stranger")
    # signed by another record key, naming this log
    from dataclasses import replace

    signed = sign_record(
        replace(served.keys, record=stranger.record).settings(tmp_path / "x"), facts(0), document(0)
    )
    answer = post(served, signed.bundle, signed.stored_input)
    assert answer.status_code == 403
    assert "which is not an allowed key" in answer.json()["error"]
    assert served.service.store.state()[0] == 0


def test_a_forged_record_is_refused(served: Served, tmp_path: Path) -> None:
    bundle, stored = record(served.keys, 0, tmp_path)
    doc = json.loads(bundle)
    envelope = doc["dsseEnvelope"]
    envelope["payload"] = base64.b64encode(
        base64.b64decode(envelope["payload"]).replace(b"block", b"pass ")
    ).decode()
    answer = post(served, json.dumps(doc).encode(), stored)
    assert answer.status_code == 403 and "signature does not verify" in answer.json()["error"]


def test_a_record_of_another_log_is_refused(served: Served, tmp_path: Path) -> None:
    elsewhere = make_keys(tmp_path / "elsewhere")
    from dataclasses import replace

    signed = sign_record(
        replace(served.keys, log_skey=elsewhere.log_skey).settings(tmp_path / "x"), facts(0), document(0)
    )
    answer = post(served, signed.bundle, signed.stored_input)
    assert answer.status_code == 403 and "record refused" in answer.json()["error"]


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        (b"{not json", 400, "not JSON"),
        (b'{"record": 7}', 400, "must be"),
        (b'{"record": "%%%"}', 400, "base64"),
        (b'{"record": "e30="}', 403, "record refused"),
        (b"[]", 400, "must be"),
    ],
)
def test_malformed_appends_are_refused_in_one_line(
    served: Served, payload: bytes, status: int, says: str
) -> None:
    answer = served.client.post(
        "/v1/log/entries", content=payload, headers={**served.append, "content-type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"] and "\n" not in answer.json()["error"]


def test_the_stored_input_must_be_the_one_the_record_names(served: Served, tmp_path: Path) -> None:
    bundle, stored = record(served.keys, 0, tmp_path)
    assert post(served, bundle, stored + b" ").status_code == 400
    assert post(served, bundle, None).status_code == 400
    assert served.service.store.state()[0] == 0


def test_an_oversized_body_is_refused(postgres_dsn: str, keys: Keys, tmp_path: Path) -> None:
    service, client = start(postgres_dsn, keys, max_request_bytes=1024)
    try:
        headers = bearer(service.store, "append")
        answer = client.post("/v1/log/entries", json=body(*record(keys, 0, tmp_path)), headers=headers)
        assert answer.status_code == 413
    finally:
        service.close()
        service.store.pool.close()


def test_appends_and_reads_need_a_token_of_their_scope(served: Served, tmp_path: Path) -> None:
    bundle, stored = record(served.keys, 0, tmp_path)
    assert post(served, bundle, stored, headers={}).status_code == 401
    wrong = {"authorization": "Bearer ggl_0123456789abcdef_" + "A" * 43}
    assert post(served, bundle, stored, headers=wrong).status_code == 401
    assert post(served, bundle, stored, headers={"authorization": "Basic dTpw"}).status_code == 401
    assert post(served, bundle, stored, headers=served.read).status_code == 403
    assert post(served, bundle, stored).status_code == 200
    digest = sha256_digest(stored).removeprefix("sha256:")
    assert served.client.get(f"/inputs/sha256-{digest}.json", headers=served.append).status_code == 403
    got = served.client.get(f"/inputs/sha256-{digest}.json", headers=served.read)
    assert got.status_code == 200 and got.content == stored
    assert served.client.get("/v1/decisions", headers=served.append).status_code == 403
    admin = bearer(served.service.store, "admin")
    assert served.client.get("/v1/decisions", headers=admin).status_code == 200


# --- decisions ----------------------------------------------------------------------------------


def test_decisions_are_filtered_and_paginated(served: Served, tmp_path: Path) -> None:
    for n in range(9):
        outcome = "block" if n % 2 else "warn"
        assert post(served, *record(served.keys, n, tmp_path, outcome=outcome)).status_code == 200

    def indexes(**params: Any) -> list[int]:
        got = served.client.get("/v1/decisions", params=params, headers=served.read)
        assert got.status_code == 200, got.text
        return [d["index"] for d in got.json()["decisions"]]

    assert indexes(service="svc-1") == [1, 4, 7]
    assert indexes(service="svc-*", outcome="block") == [1, 3, 5, 7]
    assert indexes(repository="https://github.com/acme/svc-2") == [2, 5, 8]
    assert indexes(since="2026-11-23T12:00:03Z", until="2026-11-23T12:00:05Z") == [3, 4]
    page = served.client.get("/v1/decisions", params={"limit": 4}, headers=served.read).json()
    assert [d["index"] for d in page["decisions"]] == [0, 1, 2, 3] and page["next"] == 3
    assert indexes(after=page["next"], limit=4) == [4, 5, 6, 7]
    one = served.client.get("/v1/decisions/rec-4", headers=served.read).json()
    assert one["index"] == 4 and one["service"] == "svc-1" and one["environment"] == "prod"
    assert served.client.get("/v1/decisions/rec-404", headers=served.read).status_code == 404


@pytest.mark.parametrize(
    "value", ["'; DROP TABLE entries; --", "svc-1' OR '1'='1", "%", "_", "\\", "svc-1)--", "$1"]
)
def test_sql_metacharacters_in_filters_match_literally(served: Served, tmp_path: Path, value: str) -> None:
    post(served, *record(served.keys, 1, tmp_path))
    for name in ("environment", "outcome", "check", "repository", "service", "signer", "after"):
        got = served.client.get("/v1/decisions", params={name: value}, headers=served.read)
        assert got.status_code in (200, 400), got.text
        if got.status_code == 200:
            assert got.json()["decisions"] == []
    assert served.service.store.state()[0] == 1


def test_bad_filters_are_refused(served: Served) -> None:
    for params in (
        {"nope": "1"},
        {"limit": "0"},
        {"limit": "x"},
        {"since": "yesterday"},
        {"service": "a" * 600},
    ):
        got = served.client.get("/v1/decisions", params=params, headers=served.read)
        assert got.status_code == 400, params


# --- schema and readiness --------------------------------------------------------------------------


def test_migrations_apply_once_from_an_empty_database(postgres_dsn: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        assert schema_version(conn) == 0
        assert migrate(conn) == ["0001_central_log"]
        assert migrate(conn) == []
        assert schema_version(conn) == latest_version()


def test_a_database_of_a_newer_or_changed_schema_is_refused(postgres_dsn: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        migrate(conn)
        conn.execute("UPDATE govgate_migrations SET digest = 'sha256:00' WHERE version = 1")
        conn.commit()
        with pytest.raises(StoreError, match="differs from the one shipped"):
            migrate(conn)
        conn.execute("INSERT INTO govgate_migrations (version, name, digest) VALUES (999, 'future', 'x')")
        conn.commit()
        with pytest.raises(StoreError, match="newer than this govgate"):
            migrate(conn)


def test_readyz_says_whether_the_database_answers(served: Served, postgres: Any) -> None:
    assert served.client.get("/readyz").json() == {"status": "ready", "schema": latest_version()}
    postgres.stop("immediate")
    try:
        assert served.client.get("/readyz").status_code == 503
        assert served.client.get("/healthz").status_code == 200
    finally:
        postgres.start()
