"""Prometheus metrics of one app: requests, ingest outcomes, the connection pool, live streams.

Each app has its own registry (several apps may live in one process, as in the tests); it is
served at ``GET /metrics`` in the text exposition format. Routes are labelled by their template
(``/api/v1/members/{member_id}/redemptions``), never by the path asked for, so the label set
stays small and holds no personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _PoolCollector(Collector):
    def __init__(self) -> None:
        self.pool: AsyncConnectionPool[Any] | None = None
        self.streams: Callable[[], int] | None = None

    def collect(self) -> Iterable[GaugeMetricFamily]:
        if self.pool is not None:
            stats = self.pool.get_stats()
            for key, help_ in (
                ("pool_size", "connections the pool holds, busy or idle"),
                ("pool_available", "idle connections in the pool"),
                ("pool_max", "the most connections the pool may hold"),
                ("requests_waiting", "requests waiting for a connection"),
            ):
                yield GaugeMetricFamily(
                    f"storeflow_db_{key}", help_, value=float(stats.get(key, 0))
                )
        if self.streams is not None:
            yield GaugeMetricFamily(
                "storeflow_scan_streams", "open cashier scan streams", value=float(self.streams())
            )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "storeflow_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "storeflow_http_request_seconds",
            "time to answer an HTTP request (to the start of the body for streams)",
            ["method", "route"],
            registry=self.registry,
        )
        self.ingest_events = Counter(
            "storeflow_ingest_events",
            "events received at ingest, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "storeflow_rate_limited",
            "requests refused by an abuse limit",
            ["limit"],
            registry=self.registry,
        )
        self._pool = _PoolCollector()
        self.registry.register(self._pool)

    def watch(
        self, pool: AsyncConnectionPool[Any] | None, streams: Callable[[], int] | None
    ) -> None:
        """Report this pool's statistics and this count of open streams (None: stop)."""
        self._pool.pool = pool
        self._pool.streams = streams

    def ingested(self, *, accepted: int, duplicates: int, rejected: int) -> None:
        self.ingest_events.labels("accepted").inc(accepted)
        self.ingest_events.labels("duplicate").inc(duplicates)
        self.ingest_events.labels("rejected").inc(rejected)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
