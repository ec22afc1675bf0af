"""The FastAPI application: ``create_app(settings, database_url=...)``; pool opened in lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool

from server.api import errors
from server.api.deps import STATE_KEY
from server.api.middleware import BodyLimit, SecurityHeadersAndMetrics
from server.api.routes import (
    alerts,
    analytics,
    calendar,
    campaigns,
    cards,
    chain,
    complaints,
    console,
    credentials,
    devices,
    experiments,
    followups,
    health,
    ingest,
    layout,
    member_analytics,
    members,
    points,
    privacy,
    purchases,
    referrals,
    registers,
    stages,
    tags,
    tiers,
)
from server.api.state import AppState, Limits
from server.crm.schedule import care_every
from server.db import make_pool
from server.devices import webhook
from server.loyalty.rules import load_loyalty_rules
from server.metrics import CONTENT_TYPE, Metrics
from server.privacy.keys import keys_from
from server.privacy.record import load_store_record
from server.privacy.retention import Retention, purge_every
from server.queries.credentials import ensure_bootstrap_admin
from server.rollup import refresh_dirty
from server.runtime import tune_gc
from server.scanhub import ScanHub
from server.settings import Settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

ROUTERS = (
    health,
    ingest,
    layout,
    analytics,
    chain,
    member_analytics,
    experiments,
    credentials,
    members,
    cards,
    purchases,
    points,
    tiers,
    registers,
    tags,
    privacy,
    complaints,
    followups,
    devices,
    alerts,
    referrals,
    stages,
    campaigns,
    calendar,
)


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in ROUTERS:
        router.include_router(module.router)
    return router


async def _refresh_facts(pool: AsyncConnectionPool[Any], interval_s: float) -> None:
    """Keep the daily facts of recent data up to date, so dashboard reads rarely wait."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with pool.connection() as conn:
                await refresh_dirty(conn)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed refresh is retried next time; readers refresh on demand
            logger.exception("re-computing daily facts failed")


def create_app(settings: Settings, *, database_url: str) -> FastAPI:
    """The app for one database. The pool is opened when the app starts, closed when it stops;
    the :class:`AppState` built then is what every request reads (``server.api.deps``).

    Loyalty rules files named in the settings are read here, so a bad file stops the start with
    an error naming its line and key."""
    rules = load_loyalty_rules(earning=settings.earning_rules, tiers=settings.tier_rules)
    if settings.privacy_record:  # a bad record stops the start, naming its line and key
        load_store_record(settings.privacy_record)

    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, AppState]]:
        tune_gc()
        pool = make_pool(database_url, max_size=settings.pool_max)
        await pool.open(wait=True, timeout=30)
        scans = ScanHub(database_url)
        await scans.start()
        state = AppState(
            settings=settings,
            database_url=database_url,
            pool=pool,
            rules=rules,
            scans=scans,
            metrics=metrics,
            limits=Limits.from_settings(settings),
        )
        metrics.watch(pool, lambda: scans.subscriber_count)
        if settings.admin_token:
            async with pool.connection() as conn:
                await ensure_bootstrap_admin(conn, settings.admin_token)
        refresher = asyncio.create_task(_refresh_facts(pool, settings.rollup_interval_s))
        purger = asyncio.create_task(
            purge_every(
                pool,
                Retention.from_settings(settings),
                settings.purge_interval_s,
                keys=keys_from(settings),
                trip_gap_s=settings.trip_gap_s,
            )
        )
        caring = asyncio.create_task(
            care_every(
                pool,
                settings.care_interval_s,
                tiers=rules.tiers,
                staleness_s=settings.rollup_staleness_s,
                webhook=settings.campaign_webhook,
            )
        )
        alerting = webhook.start(pool, settings)  # None unless STOREFLOW_ALERT_WEBHOOK is set
        try:
            yield {STATE_KEY: state}
        finally:
            for task in (refresher, purger, caring):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await webhook.stop(alerting)
            metrics.watch(None, None)
            await scans.stop()
            await pool.close()

    app = FastAPI(
        title="Storeflow",
        version="0.1.0",
        summary="In-store membership and RFID footfall: ingest, layout, analytics.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(api_router())
    app.include_router(registers.page_router)
    app.include_router(privacy.page_router)
    app.include_router(console.page_router)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus text format: requests, ingest outcomes, the pool, open scan streams."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    # the last added runs first: the body limit before anything reads the body
    app.add_middleware(SecurityHeadersAndMetrics, metrics=metrics)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
