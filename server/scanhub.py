"""Card scans announced with PostgreSQL ``NOTIFY card_scan``, fanned out in this process.

One dedicated connection per server process LISTENs (never a pooled one); each open cashier
stream subscribes for its register and gets the scans through an asyncio queue. The listener
reconnects with back-off when the database goes away; scans notified meanwhile are missed (the
till's screen is live only: the card scan itself is stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "card_scan"
QUEUE_SIZE = 64  # scans a slow stream may fall behind by before the oldest are dropped

Key = tuple[str, str]  # (store_id, register_id)


class ScanHub:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._subscribers: dict[Key, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self, *, timeout_s: float = 30.0) -> None:
        """Start listening; returns once LISTEN is in place (or raises after ``timeout_s``)."""
        self._task = asyncio.create_task(self._run(), name="scan-hub")
        await asyncio.wait_for(self.listening.wait(), timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(
        self, store_id: str, register_id: str
    ) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the scans at one register, for as long as the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        key = (store_id, register_id)
        self._subscribers.setdefault(key, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._subscribers.get(key)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subscribers[key]

    def publish(self, scan: dict[str, Any]) -> None:
        """Hand a scan to the streams of its register (pure fan-out; used by the listener)."""
        key = (str(scan.get("store_id")), str(scan.get("register_id")))
        for queue in self._subscribers.get(key, ()):
            if queue.full():  # a stream that does not keep up loses its oldest scans
                queue.get_nowait()
            queue.put_nowait(scan)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.5
                    async for note in conn.notifies():
                        try:
                            scan = json.loads(note.payload)
                        except ValueError:
                            logger.warning(
                                "card scan notification is not JSON: %.80r", note.payload
                            )
                            continue
                        if isinstance(scan, dict):
                            self.publish(scan)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                logger.warning("card scan listener lost (%s); retry in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
