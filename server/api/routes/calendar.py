"""``/stores/{id}/calendar``: the store's promotions, layout changes and other events (planner)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from server.api.deps import ConnDep, PlannerDep
from server.api.routes.analytics import SelectionDep
from server.api.tables import FormatQ, respond
from server.queries import calendar as q
from storeflow.api.calendar import EventIn, StoreEvent

router = APIRouter(prefix="/stores/{store_id}/calendar", tags=["calendar"])


@router.get("", response_model=list[StoreEvent])
async def calendar(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Events overlapping the period (``start``/``end`` as the analytics take them): those
    planners recorded and the days the antenna mapping changed."""
    got = await q.events(conn, sel.store_id, sel.tz, sel.first, sel.last)
    return respond(got, format, name="calendar")


@router.post("", status_code=201)
async def add(store_id: str, body: EventIn, conn: ConnDep, who: PlannerDep) -> StoreEvent:
    """Record a promotion, a layout change or another event (counters: the store's codes)."""
    return await q.add_event(conn, store_id, body, recorded_by=who.name)


@router.delete("/{event_id}", status_code=204)
async def delete(store_id: str, event_id: int, conn: ConnDep, _: PlannerDep) -> Response:
    """Take a recorded event off the calendar."""
    await q.delete_event(conn, store_id, event_id)
    return Response(status_code=204)
