"""``GET /stores/{id}/devices`` (edges and readers with their status and decode statistics) and
``GET /stores/{id}/completeness`` (per store-hour: readers up, reads and visits against the
usual). Planner or admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, PlannerDep, SettingsDep
from server.devices.report import devices_at
from server.errors import InvalidRequest
from server.queries.devices import completeness
from storeflow.api.devices import CompletenessHour, StoreDevices

router = APIRouter(prefix="/stores/{store_id}", tags=["devices"])

MAX_HOURS = 24 * 31


@router.get("/devices")
async def devices(
    store_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    _: PlannerDep,
    at: Annotated[datetime | None, Query(description="status as of (default: now)")] = None,
) -> StoreDevices:
    """The store's edges and readers: status by heartbeat age, outbox and fault counters,
    each reader's connection and decode statistics."""
    return await devices_at(conn, store_id, at or datetime.now(UTC), settings)


@router.get("/completeness")
async def store_completeness(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: Annotated[datetime | None, Query(description="from (default: 24 h before end)")] = None,
    end: Annotated[datetime | None, Query(description="until, exclusive (default: now)")] = None,
) -> list[CompletenessHour]:
    """Per hour: readers that reported being connected, reads and visits stored, and the usual
    for that weekday-hour (median of the same hour in the 4 weeks before)."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    if end <= start or end - start > timedelta(hours=MAX_HOURS):
        raise InvalidRequest(f"the period must be positive and at most {MAX_HOURS} hours")
    return await completeness(conn, store_id, start, end)
