"""``GET /api/v1/health``: up or down for anyone; with a credential also the migrations,
TimescaleDB, and what the edge devices report."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.api.deps import BearerDep, StateDep, authenticate
from storeflow.api.health import DeviceHealth, Health

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/health", response_model=Health, response_model_exclude_unset=True)
async def health(request: Request, state: StateDep, creds: BearerDep) -> Any:
    """No credential needed (load balancers call it): then only ``status`` (ok or down) and
    ``database``. With any valid credential, the details too. 503 when the database is down."""
    try:
        async with state.pool.connection(timeout=3.0) as conn:
            await conn.execute("SELECT 1")
            if creds is None or not creds.credentials:
                return Health(status="ok", database=True)
            await authenticate(request, state, conn, creds.credentials)
            n = await (await conn.execute("SELECT count(*) FROM schema_migration")).fetchone()
            ts = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
                )
            ).fetchone()
            rows = await (
                await conn.execute(
                    "SELECT device_id, store_id, received_at, outbox_depth, readers "
                    "FROM device_heartbeat ORDER BY device_id"
                )
            ).fetchall()
    except (psycopg.Error, TimeoutError, OSError) as exc:
        logger.warning("health: database unavailable: %s", exc)
        return JSONResponse({"status": "down", "database": False}, status_code=503)
    devices = [
        DeviceHealth(device_id=r[0], store_id=r[1], last_seen=r[2], outbox_depth=r[3], readers=r[4])
        for r in rows
    ]
    degraded = any(
        not reader.get("connected", False) for d in devices for reader in d.readers.values()
    )
    return Health(
        status="degraded" if degraded else "ok",
        database=True,
        migrations=n[0] if n else 0,
        timescaledb=bool(ts and ts[0]),
        devices=devices,
    )
