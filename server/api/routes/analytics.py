"""Planner analytics endpoints (aggregates only: no names, no contacts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from server.api.deps import ConnDep, PlannerDep
from server.queries import analytics as q
from server.queries import counters as qc
from server.queries import paths as qp

router = APIRouter(prefix="/stores/{store_id}/analytics", tags=["analytics"])

StartQ = Annotated[datetime | None, Query(description="ISO start (default: 7 days before end)")]
EndQ = Annotated[datetime | None, Query(description="ISO end (default: the latest data)")]


async def _period(
    conn: ConnDep, store_id: str, start: datetime | None, end: datetime | None
) -> q.Period:
    p = await q.resolve_period(conn, store_id, start, end)
    if p.end <= p.start:
        raise HTTPException(422, "end must be after start")
    return p


@router.get("/summary", response_model=q.Summary)
async def summary(
    store_id: str, conn: ConnDep, _: PlannerDep, start: StartQ = None, end: EndQ = None
) -> q.Summary:
    """Visits, trips, distinct shoppers and median dwell in the period."""
    return await q.summary(conn, store_id, await _period(conn, store_id, start, end))


@router.get("/footfall", response_model=list[q.FootfallBucket])
async def footfall(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: StartQ = None,
    end: EndQ = None,
    bucket: Literal["hour", "day"] = "hour",
) -> list[q.FootfallBucket]:
    """Footfall: trips starting in each hour or day."""
    return await q.footfall(conn, store_id, await _period(conn, store_id, start, end), bucket)


@router.get("/dwell", response_model=list[q.ZoneDwell])
async def dwell(
    store_id: str, conn: ConnDep, _: PlannerDep, start: StartQ = None, end: EndQ = None
) -> list[q.ZoneDwell]:
    """Dwell per zone (exit - enter of each visit): median, p90, mean."""
    return await q.dwell(conn, store_id, await _period(conn, store_id, start, end))


@router.get("/zone-visits", response_model=list[q.ZoneVisits])
async def zone_visits(
    store_id: str, conn: ConnDep, _: PlannerDep, start: StartQ = None, end: EndQ = None
) -> list[q.ZoneVisits]:
    """Visits and distinct visitors per zone."""
    return await q.zone_visits(conn, store_id, await _period(conn, store_id, start, end))


@router.get("/counters", response_model=list[qc.CounterFigures])
async def counters(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: StartQ = None,
    end: EndQ = None,
    min_dwell_s: Annotated[float, Query(ge=0, description="visitor threshold (30 s)")] = 30.0,
) -> list[qc.CounterFigures]:
    """Counter evaluation: visitors, exposure, conversion, sales per visitor and per m², a
    ranking (sales per m²), a traffic x conversion quadrant and a plain recommendation."""
    p = await _period(conn, store_id, start, end)
    return await qc.counter_figures(conn, store_id, p, min_dwell_s=min_dwell_s)


@router.get("/paths", response_model=qp.Paths)
async def paths(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: StartQ = None,
    end: EndQ = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> qp.Paths:
    """Most common paths and the zone transition matrix P(j | i) over trips in the period."""
    return await qp.paths(conn, store_id, await _period(conn, store_id, start, end), top=top)
