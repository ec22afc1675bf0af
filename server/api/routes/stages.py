"""Stage history: ``/members/{id}/stages``, one member's class over time (crm role, the read
logged), and ``/stores/{store_id}/analytics/members/transitions``, the moves between classes
per month for planners (counts only, no member named)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, SettingsDep
from server.api.routes.analytics import SelectionDep
from server.api.tables import FormatQ, respond
from server.crm.access import CrmDep
from server.member_status import ensure_status
from server.queries import privacy as qp
from server.queries import stages as q
from storeflow.api.stages import MemberStages, StageTransitions

router = APIRouter()


@router.get("/members/{member_id}/stages", response_model=MemberStages, tags=["members"])
async def member_stages(member_id: int, conn: ConnDep, who: CrmDep) -> MemberStages:
    """The member's class (potential, occasional, loyal, core; referrer flag) at every class
    snapshot, per store, and the same as periods spent in one class."""
    answer = await q.member_stages(conn, member_id)
    await qp.log_access(conn, who, member_id, "GET /members/{id}/stages")
    return answer


@router.get(
    "/stores/{store_id}/analytics/members/transitions",
    response_model=StageTransitions,
    tags=["member-analytics"],
)
async def transitions(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    months: Annotated[
        int, Query(ge=1, le=q.MAX_MONTHS, description="months up to the selection's last day")
    ] = 12,
    format: FormatQ = "json",
) -> Any:
    """How many members moved from which class to which in each month (the month of the
    selection's last day and the ones before it); the definition is in the answer. The class
    snapshot as of the selection's end is taken first if it is missing."""
    await ensure_status(conn, sel.store_id, sel.end, staleness_s=settings.rollup_staleness_s)
    answer = await q.transitions(conn, sel.store_id, last_day=sel.last, months=months)
    return respond(answer, format, name="class-transitions")
