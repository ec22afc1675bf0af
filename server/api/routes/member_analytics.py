"""``/stores/{store_id}/analytics/members``: the planner's member figures (member numbers only:
no names, no contacts). The selection is the analytics one (``SelectionDep``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, SettingsDep
from server.api.routes.analytics import SelectionDep
from server.api.tables import FormatQ, TableQ, respond
from server.member_status import ensure_status
from server.queries import members_view as qm
from server.queries.members_view import LAPSE_FACTOR, LAPSE_MIN_PURCHASES
from storeflow.api.member_analytics import LapseAlert, MembersOverview

router = APIRouter(prefix="/stores/{store_id}/analytics/members", tags=["member-analytics"])


@router.get("", response_model=MembersOverview)
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


@router.get("/lapse", response_model=list[LapseAlert])
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
