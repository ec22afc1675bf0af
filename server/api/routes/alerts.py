"""``GET /stores/{id}/alerts``: what store IT should look at now (planner or admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, PlannerDep, SettingsDep
from server.devices.report import alerts_at
from storeflow.api.devices import StoreAlerts

router = APIRouter(prefix="/stores/{store_id}", tags=["devices"])


@router.get("/alerts")
async def alerts(
    store_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    _: PlannerDep,
    at: Annotated[datetime | None, Query(description="alerts as of (default: now)")] = None,
) -> StoreAlerts:
    """Edges or readers silent or disconnected, outboxes growing or refusing writes, dead
    letters, late data, clocks off, a surge of unknown tags: each with severity, since when, and
    what is wrong in plain words. Most severe first."""
    return await alerts_at(conn, store_id, at or datetime.now(UTC), settings)
