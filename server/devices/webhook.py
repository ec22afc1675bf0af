"""Device alerts posted to a webhook (``STOREFLOW_ALERT_WEBHOOK``), each alert once.

An alert is one problem of one subject since one moment (``key`` and ``since``); it is recorded
in ``alert_sent`` after the webhook took it, so a failed post is tried again next round and a
restarted server does not post it twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from server.devices.report import alerts_at
from server.settings import Settings
from storeflow.api.devices import Alert

logger = logging.getLogger(__name__)

Post = Callable[[str, Alert], Awaitable[None]]


async def deliver(
    conn: AsyncConnection[Any], settings: Settings, at: datetime, post: Post
) -> list[Alert]:
    """Post the alerts of every store not posted before; returns those posted."""
    stores = await (
        await conn.execute("SELECT DISTINCT store_id FROM device_heartbeat ORDER BY 1")
    ).fetchall()
    posted: list[Alert] = []
    for (store_id,) in stores:
        report = await alerts_at(conn, store_id, at, settings)
        for alert in report.alerts:
            seen = await (
                await conn.execute(
                    "SELECT 1 FROM alert_sent WHERE store_id = %s AND key = %s AND since = %s",
                    (store_id, alert.key, alert.since),
                )
            ).fetchone()
            if seen:
                continue
            await post(store_id, alert)
            await conn.execute(
                "INSERT INTO alert_sent (store_id, key, since) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (store_id, alert.key, alert.since),
            )
            await conn.commit()
            posted.append(alert)
    return posted


def http_post(client: httpx.AsyncClient, url: str) -> Post:
    async def post(store_id: str, alert: Alert) -> None:
        body = {"store_id": store_id, **alert.model_dump(mode="json")}
        r = await client.post(url, json=body)
        r.raise_for_status()

    return post


async def _run(pool: AsyncConnectionPool[Any], settings: Settings, url: str) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        post = http_post(client, url)
        while True:
            try:
                async with pool.connection() as conn:
                    await deliver(conn, settings, datetime.now(UTC), post)
            except asyncio.CancelledError:
                raise
            except Exception:  # the webhook or the database is down: try again next round
                logger.exception("posting device alerts failed")
            await asyncio.sleep(settings.alert_check_s)


def start(pool: AsyncConnectionPool[Any], settings: Settings) -> asyncio.Task[None] | None:
    """The background task posting alerts, or None when no webhook is configured."""
    if not settings.alert_webhook:
        return None
    return asyncio.create_task(_run(pool, settings, settings.alert_webhook))


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
