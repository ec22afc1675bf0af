"""Database fixtures: a private real PostgreSQL for the test session, a fresh database per test.

``STOREFLOW_TEST_DATABASE_URL`` names a server to use instead (a database is created on it per
test and dropped after; nothing else is touched), for instance a TimescaleDB server with
``timescaledb`` preloaded; ``STOREFLOW_TIMESCALE=require`` then makes sure the migrated template
took the TimescaleDB path. Otherwise an embedded PostgreSQL is started in a
temporary folder on a free port and stopped at the end. This fixture never skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from server.migrate import migrate
from server.settings import Settings
from server.timescale import TimescaleConfig


@dataclass
class PgServer:
    admin_url: str  # a maintenance database on the server
    embedded: object | None = None

    def url_for(self, database: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_url)
        info["dbname"] = database
        return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    def stop(self) -> None:
        from server.embedded_pg import EmbeddedPostgres

        if isinstance(self.embedded, EmbeddedPostgres):
            self.embedded.stop()

    def start(self) -> None:
        from server.embedded_pg import EmbeddedPostgres

        if isinstance(self.embedded, EmbeddedPostgres):
            self.embedded.start()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get("STOREFLOW_TEST_DATABASE_URL")
    if external:
        yield PgServer(admin_url=external)
        return
    from server.embedded_pg import EmbeddedPostgres

    # Not under pytest's basetemp: another pytest run of the same user rotates those folders
    # away, and a running server must not lose its data directory.
    root = Path(tempfile.mkdtemp(prefix="storeflow-test-pg-"))
    pg = EmbeddedPostgres(root / "data", fsync=False)
    pg.start()
    try:
        yield PgServer(admin_url=pg.admin_url, embedded=pg)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> Iterator[str]:
    """A migrated database that per-test databases are cloned from."""
    name = f"sf_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    # STOREFLOW_TIMESCALE as the server reads it: ``require`` makes a run against a server
    # without a usable TimescaleDB fail here instead of silently testing plain tables
    asyncio.run(
        migrate(pg_server.url_for(name), timescale=TimescaleConfig.from_settings(Settings()))
    )
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        # No one may connect to a template while it is copied: TimescaleDB's background
        # scheduler reconnects to every database that allows it, and CREATE DATABASE ... TEMPLATE
        # is refused while another session is connected to the template.
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
    try:
        yield name
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _fresh_db(pg_server: PgServer, template_db: str) -> Iterator[str]:
    name = f"sf_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    try:
        yield pg_server.url_for(name)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    yield from _fresh_db(pg_server, template_db)


@pytest.fixture
def second_db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """Another fresh, migrated database for the same test (two runs compared side by side)."""
    yield from _fresh_db(pg_server, template_db)


@pytest.fixture(scope="module")
def module_db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A fresh, migrated database shared by the tests of one module."""
    yield from _fresh_db(pg_server, template_db)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url) as c:
        yield c


def make_token(
    db_url: str,
    role: str,
    *,
    store_id: str | None = None,
    register_id: str | None = None,
    chain: bool | None = None,
) -> str:
    """Create a credential directly in the database; returns its token. A planner without a
    store is one for the whole chain unless ``chain`` says otherwise."""
    from server.auth import new_token, token_hash

    if chain is None:
        chain = role == "planner" and store_id is None
    token = new_token()
    with psycopg.connect(db_url) as c:
        c.execute(
            "INSERT INTO api_credential (name, role, store_id, register_id, chain, token_sha256) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (f"test-{role}", role, store_id, register_id, chain, token_hash(token)),
        )
    return token


@dataclass
class Api:
    """A real app on a fresh database, driven in-process through HTTP semantics."""

    client: object  # fastapi.testclient.TestClient
    db_url: str

    def token(
        self, role: str, *, store_id: str | None = None, register_id: str | None = None
    ) -> str:
        return make_token(self.db_url, role, store_id=store_id, register_id=register_id)

    def headers(self, role: str, **scope: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **scope)}"}


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(), database_url=db_url)
    with TestClient(app) as client:
        yield Api(client=client, db_url=db_url)
