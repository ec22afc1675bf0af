"""``storeflow server`` and ``storeflow db ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def add_server_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "server",
        help="run the API server",
        description="Serve the Storeflow API. Without DATABASE_URL (or --database-url) an "
        "embedded PostgreSQL is started in $STOREFLOW_DATA_DIR/pgdata.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (8000)")
    p.add_argument("--database-url", default=None, help="PostgreSQL/TimescaleDB URL")
    p.set_defaults(func=run_server)


def add_db_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "db", help="database tasks: migrate, create-token, revoke-token, import-layout, purge"
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL/TimescaleDB URL")
    dsub = p.add_subparsers(dest="db_command", metavar="TASK", required=True)
    m = dsub.add_parser("migrate", help="apply pending migrations (re-running is a no-op)")
    m.set_defaults(func=run_migrate)
    t = dsub.add_parser("create-token", help="create a credential and print its token once")
    t.add_argument(
        "--role",
        required=True,
        choices=["edge", "cashier", "register", "planner", "admin"],
        help="what the credential may do",
    )
    t.add_argument("--name", required=True, help="who or what the credential is for")
    t.add_argument(
        "--store", default=None, help="store id (edge, cashier, register and planner credentials)"
    )
    t.add_argument(
        "--register", default=None, help="register id (cashier and register credentials)"
    )
    t.add_argument(
        "--chain", action="store_true", help="a planner for every store (instead of --store)"
    )
    t.set_defaults(func=run_create_token)
    r = dsub.add_parser("revoke-token", help="revoke credentials: their tokens get 401 at once")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, default=None, help="the credential's id")
    which.add_argument("--name", default=None, help="every credential with this name")
    which.add_argument("--token-env", default=None, help="a variable holding the token to revoke")
    r.set_defaults(func=run_revoke_token)
    i = dsub.add_parser("import-layout", help="import a store layout YAML")
    i.add_argument("path", type=Path, help="layout YAML, e.g. firmware_sim/stores/demo.yaml")
    i.set_defaults(func=run_import_layout)
    g = dsub.add_parser("purge", help="delete data past its retention period (docs/privacy.md)")
    g.set_defaults(func=run_purge)


class _Database:
    """The configured database, or an embedded one started (and later stopped) here."""

    def __init__(self, url: str | None) -> None:
        from server.settings import Settings

        self.settings = Settings()
        self.url = url or self.settings.database_url
        self._embedded = None
        if self.url is None:
            from server.embedded_pg import EmbeddedPostgres

            self._embedded = EmbeddedPostgres(self.settings.data_dir / "pgdata")
            self._embedded.start()
            self.url = self._embedded.url
            logger.info("embedded PostgreSQL at %s", self.url)

    def close(self) -> None:
        if self._embedded is not None and self._embedded.started_here:
            self._embedded.stop()


def run_server(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.db import wait_for_database
    from server.logs import use_format
    from server.migrate import migrate
    from server.timescale import TimescaleConfig, TimescaleRequired
    from storeflow.yamlconf import ConfigError

    db = _Database(args.database_url)
    use_format(db.settings.log_format)
    assert db.url is not None
    try:
        asyncio.run(wait_for_database(db.url, timeout_s=60))
        try:
            applied = asyncio.run(
                migrate(db.url, timescale=TimescaleConfig.from_settings(db.settings))
            )
        except TimescaleRequired as exc:
            print(f"database error: {exc}")
            return 2
        logger.info("database ready (%d migrations)", applied)
        try:
            app = create_app(db.settings, database_url=db.url)
        except ConfigError as exc:
            print(f"config error: {exc}")
            return 2
        from uvicorn.config import LOGGING_CONFIG

        # JSON logs: uvicorn's loggers go through the root logger's JSON handler
        json_logs = db.settings.log_format == "json"
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            log_config=None if json_logs else LOGGING_CONFIG,
        )
    finally:
        db.close()
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from server.migrate import migrate
    from server.timescale import TimescaleConfig, TimescaleRequired

    db = _Database(args.database_url)
    assert db.url is not None
    try:
        try:
            n = asyncio.run(migrate(db.url, timescale=TimescaleConfig.from_settings(db.settings)))
        except TimescaleRequired as exc:
            print(f"database error: {exc}")
            return 2
        print(f"{n} migrations applied")
    finally:
        db.close()
    return 0


def run_create_token(args: argparse.Namespace) -> int:
    import psycopg

    from server.queries.credentials import create_credential

    async def go(url: str) -> str:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            token = await create_credential(
                conn,
                name=args.name,
                role=args.role,
                store_id=args.store,
                register_id=args.register,
                chain=args.chain,
            )
            await conn.commit()
            return token

    db = _Database(args.database_url)
    assert db.url is not None
    try:
        print(asyncio.run(go(db.url)))
    except ValueError as exc:
        print(f"config error: {exc}")
        return 2
    finally:
        db.close()
    return 0


def run_revoke_token(args: argparse.Namespace) -> int:
    import os

    import psycopg

    from server.queries.credentials import revoke_credential

    token = None
    if args.token_env is not None:
        token = os.environ.get(args.token_env)
        if not token:
            print(f"config error: {args.token_env} is not set")
            return 2

    async def go(url: str) -> list[tuple[int, bool]]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            found = await revoke_credential(
                conn, credential_id=args.id, name=args.name, token=token
            )
            await conn.commit()
            return found

    db = _Database(args.database_url)
    assert db.url is not None
    try:
        found = asyncio.run(go(db.url))
    finally:
        db.close()
    if not found:
        print("no such credential")
        return 1
    for credential_id, newly in found:
        print(f"credential {credential_id}: {'revoked' if newly else 'already revoked'}")
    return 0


def run_import_layout(args: argparse.Namespace) -> int:
    import psycopg

    from server.queries.layout import import_layout
    from storeflow.layout import load_layout
    from storeflow.yamlconf import ConfigError

    try:
        layout = load_layout(args.path)
    except ConfigError as exc:
        print(f"config error: {exc}")
        return 2

    async def go(url: str) -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await import_layout(conn, layout)
            await conn.commit()

    db = _Database(args.database_url)
    assert db.url is not None
    try:
        asyncio.run(go(db.url))
        print(f"imported store {layout.store.id}: {len(layout.zones)} zones")
    finally:
        db.close()
    return 0


def run_purge(args: argparse.Namespace) -> int:
    import psycopg

    from server.privacy.keys import keys_from
    from server.privacy.retention import Retention, purge

    async def go(url: str, retention: Retention) -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            report = await purge(
                conn,
                retention,
                trigger="cli",
                keys=keys_from(db.settings),
                trip_gap_s=db.settings.trip_gap_s,
            )
        print(f"purge run {report.run_id}")
        for what, cutoff in report.cutoffs.items():
            print(f"  {what}: before {cutoff}")
        for what, n in report.deleted.items():
            print(f"  deleted {what}: {n}")

    db = _Database(args.database_url)
    assert db.url is not None
    try:
        asyncio.run(go(db.url, Retention.from_settings(db.settings)))
    finally:
        db.close()
    return 0
