"""A real PostgreSQL for tests: one cluster per session, a fresh database per test.

The cluster is made by `initdb` in a temporary folder and started by `pg_ctl` on a free port of
127.0.0.1, with its socket in that folder; local connections over TCP from 127.0.0.1 are trusted
(the cluster is the test's own, gone when the session ends). PostgreSQL refuses to run as root,
so where the tests run as root the folder is given to the `postgres` user and initdb, pg_ctl and
postgres run as that user (`runuser -u postgres --`). Debian's `postgresql` package comes from
scripts/install-tools.sh: missing, the tests fail in CI and are skipped on a laptop.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.opa_server_fixture import free_port

START_TIMEOUT_S = 60  # a deadline for start-up, not an assertion on speed
HINT = "PostgreSQL not found (initdb, pg_ctl): run `bash scripts/install-tools.sh` (Debian's postgresql)"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A PostgreSQL cluster of the test session's own, on 127.0.0.1."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.user = "postgres"

    def _run(
        self, *args: str, check: bool = True, timeout: float = START_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check)

    def init(self) -> None:
        """initdb the cluster: trust for TCP from 127.0.0.1, no other access."""
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "--no-sync", "-E", "UTF8")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="utf-8"
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\nmax_connections = 200\n"
                "shared_buffers = 64MB\n"
            )

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._run("pg_ctl", "status", "-D", str(self.data), check=False).returncode == 0

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        proc = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            check=False,
        )
        if proc.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"PostgreSQL did not start ({proc.stderr.strip()}); {self.log}:\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (clean), or `immediate` (as a crash: recovery on the next start)."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data), check=False)

    def restart(self) -> None:
        """Stop cleanly and start again."""
        self.stop()
        self.start()

    def dsn(self, dbname: str = "postgres") -> str:
        """A connection string for a database of the cluster."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def admin_connect(self) -> Any:
        """An autocommit psycopg connection to the maintenance database."""
        import psycopg

        return psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        """A fresh, empty database; its DSN."""
        name = "t_" + uuid.uuid4().hex[:16]
        with self.admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster (started once, stopped at the end)."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(HINT)
        pytest.skip(HINT)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user")
    folder = Path(tempfile.mkdtemp(prefix="govgate-pg-"))
    folder.chmod(0o755)
    cluster = PostgresCluster(bin_dir, folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_dsn(postgres: PostgresCluster) -> str:
    """A fresh database of the session's cluster, for one test (the cluster is started if a test
    left it stopped)."""
    if not postgres.running:
        postgres.start()
    return postgres.create_database()
