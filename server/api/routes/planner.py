"""Planner endpoints on members and experiments (member numbers only: no names, no contacts)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from server.api.deps import ConnDep, SettingsDep
from server.api.routes.analytics import SelectionDep
from server.api.tables import FormatQ, TableQ, respond
from server.member_status import ensure_status
from server.queries import experiments as qe
from server.queries import members_view as qm
from server.queries.members_view import LAPSE_FACTOR, LAPSE_MIN_PURCHASES

router = APIRouter(prefix="/stores/{store_id}/analytics", tags=["analytics"])

CountersQ = Annotated[list[str] | None, Query(description="counter codes (repeatable)")]


@router.get("/members", response_model=qm.MembersOverview)
async def members(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Members as of the end of the selection: the five classes, RFM segments, the Pareto
    curve, each tier's share of traffic and of sales, and age band x gender."""
    computed = await ensure_status(
        conn, sel.store_id, sel.end, staleness_s=settings.rollup_staleness_s
    )
    answer = await qm.overview(conn, sel, computed)
    return respond(answer, format, name="members", table=table)


@router.get("/members/lapse", response_model=list[qm.LapseAlert])
async def lapse(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    factor: Annotated[float, Query(gt=0, description="x the member's median interval")] = (
        LAPSE_FACTOR
    ),
    min_purchases: Annotated[int, Query(ge=2, description="purchase days needed")] = (
        LAPSE_MIN_PURCHASES
    ),
    max_p_alive: Annotated[float, Query(ge=0, le=1, description="only below this")] = 1.0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    format: FormatQ = "json",
) -> Any:
    """Lapse alerts: members overdue against their own purchase rhythm, most overdue first,
    with BG/NBD P(alive) and a suggested action."""
    await ensure_status(conn, sel.store_id, sel.end, staleness_s=settings.rollup_staleness_s)
    got = await qm.lapse(
        conn,
        sel,
        factor=factor,
        min_purchases=min_purchases,
        max_p_alive=max_p_alive,
        limit=limit,
    )
    return respond(got, format, name="lapse-alerts")


@router.get("/experiments/promotion", response_model=qe.ExperimentOut)
async def promotion(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    first_day: Annotated[date, Query(description="first day of the promotion")],
    last_day: Annotated[date, Query(description="last day of the promotion")],
    counter: CountersQ = None,
    category: Annotated[str | None, Query(description="every counter of a category")] = None,
    control: Annotated[list[str] | None, Query(description="default: the other counters")] = None,
    before_days: Annotated[int, Query(ge=7, le=180)] = 28,
    after_days: Annotated[int, Query(ge=0, le=90)] = 14,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Did a promotion move traffic, dwell, conversion and sales of its counters, against the
    other counters (difference-in-differences, 95 % bootstrap interval)?"""
    treated = list(counter or [])
    if category:
        cur = await conn.execute(
            "SELECT code FROM counter WHERE store_id = %s AND category = %s ORDER BY code",
            (sel.store_id, category),
        )
        treated += [r[0] for r in await cur.fetchall()]
        if not treated:
            raise HTTPException(422, f"no counter has category {category!r}")
    if not treated:
        raise HTTPException(422, "name a counter or a category")
    if last_day < first_day:
        raise HTTPException(422, "the promotion ends before it starts")
    try:
        got = await qe.promotion(
            conn,
            store_id=sel.store_id,
            tz=sel.tz,
            treated=sorted(set(treated)),
            start=first_day,
            end=last_day,
            before_days=before_days,
            after_days=after_days,
            staleness_s=settings.rollup_staleness_s,
            control=control,
        )
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    return respond(got, format, name="promotion", table=table)


@router.get("/experiments/layout-change", response_model=qe.ExperimentOut)
async def layout_change(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    day: Annotated[date, Query(description="the first day with the new layout")],
    counter: CountersQ = None,
    control: Annotated[list[str] | None, Query(description="default: the other counters")] = None,
    days: Annotated[int, Query(ge=7, le=180, description="days compared on each side")] = 28,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Before vs after a layout change: for moved counters against the others, or for the
    whole store on the same weekdays."""
    try:
        got = await qe.layout_change(
            conn,
            store_id=sel.store_id,
            tz=sel.tz,
            day=day,
            days=days,
            counters=counter,
            control=control,
            staleness_s=settings.rollup_staleness_s,
        )
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    return respond(got, format, name="layout-change", table=table)


@router.get("/experiments/layout-changes", response_model=list[qe.LayoutChangeDate])
async def layout_changes(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Days on which the antenna-to-zone mapping changed (the layout's validity periods)."""
    return respond(await qe.layout_changes(conn, sel.store_id, sel.tz), format, name="changes")
