"""Numbered SQL migrations (``server/migrations/NNNN_name.sql``), applied in order, once.

Each file runs in its own transaction and is recorded in ``schema_migration``; re-running is a
no-op. An advisory lock keeps two server processes starting at once from racing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from server.timescale import TimescaleConfig, apply_timescale

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x5107EF10
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover() -> list[Migration]:
    found = []
    for entry in resources.files("server").joinpath("migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def migrate(url: str, *, timescale: TimescaleConfig | None = None) -> int:
    """Apply pending migrations, then the TimescaleDB path if :mod:`server.timescale` takes it
    (``timescale``: from the settings; default ``auto``). Returns how many migrations are
    applied in total."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migration")
            done = {row[0] for row in await cur.fetchall()}
            for mig in discover():
                if mig.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(mig.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migration (version, name) VALUES (%s, %s)",
                        (mig.version, mig.name),
                    )
                logger.info("applied migration %04d_%s", mig.version, mig.name)
                done.add(mig.version)
            await apply_timescale(conn, timescale)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return len(done)
