"""Connections: wait until the database answers, and the request pool."""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)


async def wait_for_database(url: str, *, timeout_s: float = 60.0) -> None:
    """Retry until the database accepts a connection (it may still be starting)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=5)
            await conn.close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"database did not answer within {timeout_s:.0f} s") from exc
            logger.info("waiting for the database: %s", str(exc).splitlines()[0])
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def make_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> AsyncConnectionPool:
    """A pool opened later, in the app's lifespan (``await pool.open(wait=True)``)."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": False},
        connection_class=psycopg.AsyncConnection[TupleRow],
    )
