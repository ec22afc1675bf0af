"""A store's devices and alerts at a moment, read from the database with the server's settings."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from server.devices.alerts import AlertLimits, device_alerts
from server.queries.devices import load_snapshot, store_devices, unknown_tag_counts
from server.settings import Settings
from storeflow.api.devices import StoreAlerts, StoreDevices

logger = logging.getLogger(__name__)


async def devices_at(
    conn: AsyncConnection[Any], store_id: str, at: datetime, settings: Settings
) -> StoreDevices:
    snap = await load_snapshot(conn, store_id, at)
    return store_devices(
        snap, at=at, interval=settings.heartbeat_interval_s, missed=settings.heartbeat_missed
    )


async def alerts_at(
    conn: AsyncConnection[Any],
    store_id: str,
    at: datetime,
    settings: Settings,
    limits: AlertLimits | None = None,
) -> StoreAlerts:
    snap = await load_snapshot(conn, store_id, at)
    devices = store_devices(
        snap, at=at, interval=settings.heartbeat_interval_s, missed=settings.heartbeat_missed
    )
    new, usual, since = await unknown_tag_counts(conn, store_id, at)
    alerts = device_alerts(
        devices,
        snap.recent,
        limits or AlertLimits(),
        new_unknown_tags=new,
        usual_unknown_tags=usual,
        unknown_since=since,
    )
    return StoreAlerts(store_id=store_id, at=at, alerts=alerts)
