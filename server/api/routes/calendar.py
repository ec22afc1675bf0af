"""``/stores/{id}/calendar``: the store's promotions, layout changes and other events (planner)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, PlannerDep
from server.api.tables import FormatQ, respond
from server.errors import InvalidRequest
from server.queries import calendar as q
from server.queries.facts import EARLIEST, LATEST
from server.rollup import store_timezone
from storeflow.api.calendar import EventIn, StoreEvent

router = APIRouter(prefix="/stores/{store_id}/calendar", tags=["calendar"])


@router.get("", response_model=list[StoreEvent])
async def calendar(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: Annotated[datetime | None, Query(description="first day (default: no limit)")] = None,
    end: Annotated[datetime | None, Query(description="day after the last (exclusive)")] = None,
    format: FormatQ = "json",
) -> Any:
    """Events overlapping the period (``start``/``end`` as the analytics take them: local
    days, ``end`` exclusive): those planners recorded and the days the antenna mapping
    changed. Reading the calendar computes no facts."""
    tz = await store_timezone(conn, store_id)
    zone = ZoneInfo(tz)

    def local(t: datetime) -> datetime:
        return (t if t.tzinfo is not None else t.replace(tzinfo=zone)).astimezone(zone)

    try:
        first = local(start).date() if start is not None else EARLIEST
        last = (local(end) - timedelta(microseconds=1)).date() if end is not None else LATEST
    except OverflowError as exc:
        raise InvalidRequest(f"dates must lie between {EARLIEST} and {LATEST}") from exc
    if last < first:
        raise InvalidRequest("end must be after start")
    return respond(await q.events(conn, store_id, tz, first, last), format, name="calendar")


@router.post("", status_code=201)
async def add(store_id: str, body: EventIn, conn: ConnDep, who: PlannerDep) -> StoreEvent:
    """Record a promotion, a layout change or another event (counters: the store's codes)."""
    return await q.add_event(conn, store_id, body, recorded_by=who.name)


@router.delete("/{event_id}")
async def delete(store_id: str, event_id: int, conn: ConnDep, _: PlannerDep) -> StoreEvent:
    """Take a recorded event off the calendar; answers with the event taken off."""
    return await q.delete_event(conn, store_id, event_id)
