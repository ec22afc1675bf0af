"""Planner analytics endpoints (aggregates only: no names, no contacts).

Every endpoint takes the same selection: ``start``/``end`` (whole store-local days, ``end``
exclusive; default the 7 days up to the latest data), ``segment`` (member tiers or
``non-member``; repeatable) and ``floor`` (zone and counter figures of one floor); and
``format=csv`` for a CSV file instead of JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from server.api.deps import ConnDep, PlannerDep, SettingsDep, check_store
from server.api.tables import FormatQ, TableQ, respond
from server.queries import analytics as q
from server.queries import counters as qc
from server.queries import paths as qp
from server.queries import staffing as qs
from server.queries.facts import Selection, select
from server.rollup import ensure_fresh
from storeflow.api.analytics import (
    VISITOR_MIN_DWELL_S,
    CounterFigures,
    DwellBin,
    FootfallBucket,
    HeatCell,
    OccupancyHour,
    SalesOutliers,
    Staffing,
    Summary,
    ZoneDwell,
    ZoneFootfall,
    ZoneVisits,
)
from storeflow.api.paths import Paths

router = APIRouter(prefix="/stores/{store_id}/analytics", tags=["analytics"])


async def selection(
    store_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    principal: PlannerDep,
    start: Annotated[datetime | None, Query(description="first day (default: 7 days)")] = None,
    end: Annotated[
        datetime | None, Query(description="day after the last (default: latest)")
    ] = None,
    segment: Annotated[list[str] | None, Query(description="tiers or non-member")] = None,
    floor: Annotated[str | None, Query(description="one floor's zones and counters")] = None,
) -> Selection:
    check_store(principal, store_id)  # a store's planner reads that store only
    return await select(
        conn,
        store_id,
        start,
        end,
        segments=tuple(segment) if segment else None,
        floor=floor,
        staleness_s=settings.rollup_staleness_s,
        max_days=settings.max_range_days,
    )


SelectionDep = Annotated[Selection, Depends(selection)]


@router.get("/summary", response_model=Summary)
async def summary(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    compare: Annotated[
        Literal["previous", "last_week", "last_year"],
        Query(description="the period just before, the same weekdays a week or a year before"),
    ] = "previous",
    format: FormatQ = "json",
) -> Any:
    """KPIs of the selection (entries, visits, shoppers, conversion, sales, mean trip, median
    dwell) and, under ``previous``, of the period it is compared with: by default the period of
    equal length just before it; ``last_week`` / ``last_year`` shift it by whole weeks (the
    weeks it spans, or 52), so weekdays match."""
    before = sel.shifted(-q.comparison_shift(sel.days, compare))
    await ensure_fresh(
        conn, sel.store_id, before.first, before.last, staleness_s=settings.rollup_staleness_s
    )
    return respond(await q.summary(conn, sel, before), format, name="summary")


@router.get("/sales/outliers", response_model=SalesOutliers)
async def sale_outliers(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Net sales of the period (returns taken off the sale they return) and the sales far above
    the usual sale (above Q3 + 3 x IQR of the log net totals), largest first."""
    return respond(await q.sale_outliers(conn, sel), format, name="sales-outliers")


@router.get("/footfall", response_model=list[FootfallBucket])
async def footfall(
    conn: ConnDep,
    sel: SelectionDep,
    bucket: Literal["hour", "day", "week"] = "hour",
    format: FormatQ = "json",
) -> Any:
    """Entries (trips starting) per hour, day or week, with the same bucket a week earlier."""
    return respond(await q.footfall(conn, sel, bucket), format, name="footfall")


@router.get("/zone-footfall", response_model=list[ZoneFootfall])
async def zone_footfall(
    conn: ConnDep,
    sel: SelectionDep,
    bucket: Literal["day", "week"] = "day",
    format: FormatQ = "json",
) -> Any:
    """Entries per zone (zone visits) per local day or week; ``floor`` keeps one floor."""
    return respond(await q.zone_footfall(conn, sel, bucket), format, name="zone-footfall")


@router.get("/occupancy", response_model=list[OccupancyHour])
async def occupancy(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Per hour: entries and mean occupancy (shoppers in the store)."""
    return respond(await q.occupancy(conn, sel), format, name="occupancy")


@router.get("/staffing", response_model=Staffing)
async def staffing(
    conn: ConnDep, sel: SelectionDep, format: FormatQ = "json", table: TableQ = None
) -> Any:
    """Per hour: mean shoppers in the store, staff badges seen, shoppers per staff member."""
    return respond(await qs.staffing(conn, sel), format, name="staffing", table=table)


@router.get("/heatmap", response_model=list[HeatCell])
async def heatmap(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Weekday x hour of day: mean entries per day and conversion."""
    return respond(await q.heatmap(conn, sel), format, name="heatmap")


@router.get("/dwell", response_model=list[ZoneDwell])
async def dwell(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Dwell per zone (exit - enter of each visit): median, p90, mean, holding power."""
    return respond(await q.dwell(conn, sel), format, name="dwell")


@router.get("/dwell-distribution", response_model=list[DwellBin])
async def dwell_distribution(
    conn: ConnDep,
    sel: SelectionDep,
    zone: Annotated[list[str] | None, Query()] = None,
    format: FormatQ = "json",
) -> Any:
    """Visits per dwell bin (bins 10 % wide) per zone."""
    return respond(await q.dwell_distribution(conn, sel, zone), format, name="dwell-distribution")


@router.get("/zone-visits", response_model=list[ZoneVisits])
async def zone_visits(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Visits and visitors (distinct tags per day) per zone."""
    return respond(await q.zone_visits(conn, sel), format, name="zone-visits")


@router.get("/counters", response_model=list[CounterFigures])
async def counters(
    conn: ConnDep,
    sel: SelectionDep,
    min_dwell_s: Annotated[
        float, Query(ge=0, description="visitor threshold in seconds (default 30)")
    ] = VISITOR_MIN_DWELL_S,
    format: FormatQ = "json",
) -> Any:
    """Counter evaluation: visitors, exposure, conversion, sales per visitor and per m², a
    ranking (sales per m²), a traffic x conversion quadrant and a plain recommendation."""
    got = await qc.counter_figures(conn, sel, min_dwell_s=min_dwell_s)
    return respond(got, format, name="counters")


@router.get("/paths", response_model=Paths)
async def paths(
    conn: ConnDep,
    sel: SelectionDep,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Most common paths, the zone transition matrix P(j | i), trip length and duration, and
    path efficiency (shortest route through the counters bought at / walked)."""
    return respond(await qp.paths(conn, sel, top=top), format, name="paths", table=table)


@router.get("/segments", response_model=list[str])
async def segments(store_id: str, conn: ConnDep, principal: PlannerDep) -> list[str]:
    """The shopper segments with data (member tiers and ``non-member``), for the filters."""
    check_store(principal, store_id)
    cur = await conn.execute(
        "SELECT DISTINCT segment FROM fact_hour WHERE store_id = %s ORDER BY 1", (store_id,)
    )
    return [r[0] for r in await cur.fetchall()]
