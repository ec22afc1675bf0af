"""``/followups``: tasks to contact members, made by rules or by hand (the crm role; admins
too); the rules themselves; the sweep that turns new sales and tier upgrades into tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from server.api.deps import AdminDep, ConnDep, RulesDep
from server.crm.access import CrmDep
from server.queries import followups as q
from server.queries.privacy import log_reads
from storeflow.api.followups import (
    AssignFollowupIn,
    FollowupIn,
    FollowupOut,
    HoldoutReport,
    OutcomeIn,
    RuleIn,
    RuleOut,
    SweepOut,
)

router = APIRouter(prefix="/followups", tags=["followups"])


@router.get("", response_model=list[FollowupOut])
async def listing(
    conn: ConnDep,
    who: CrmDep,
    status: Annotated[Literal["open", "done", "all"], Query()] = "open",
    member_id: Annotated[int | None, Query()] = None,
    assignee: Annotated[str | None, Query(description="'-': not assigned yet")] = None,
    due_by: Annotated[date | None, Query()] = None,
) -> list[FollowupOut]:
    """The task list, earliest due first (open tasks unless asked otherwise); each member named
    is written to the access log."""
    found = await q.listing(
        conn,
        status=None if status == "all" else status,
        member_id=member_id,
        assignee=assignee,
        due_by=due_by,
    )
    await log_reads(conn, who, [f.member_id for f in found], "GET /followups")
    return found


@router.post("", status_code=201, response_model=FollowupOut)
async def create(body: FollowupIn, conn: ConnDep, who: CrmDep) -> FollowupOut:
    """A task made by hand."""
    return await q.create_manual(conn, body, actor=who.name)


@router.get("/rules", response_model=list[RuleOut])
async def rules(conn: ConnDep, _: CrmDep) -> list[RuleOut]:
    return await q.list_rules(conn)


@router.put("/rules", response_model=RuleOut)
async def put_rule(body: RuleIn, conn: ConnDep, _: AdminDep) -> RuleOut:
    """Add a rule, or change the one with that name (admin)."""
    return await q.put_rule(conn, body)


@router.get("/rules/{rule_id}/holdout", response_model=HoldoutReport)
async def holdout(
    rule_id: int,
    conn: ConnDep,
    _: CrmDep,
    start: Annotated[datetime, Query()],
    end: Annotated[datetime, Query()],
    window_days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> HoldoutReport:
    """Did contacting help? Members who bought again, contacted against held out."""
    return await q.holdout(conn, rule_id, start=start, end=end, window_days=window_days)


@router.post("/sweep", response_model=SweepOut)
async def sweep(
    conn: ConnDep,
    loyalty: RulesDep,
    who: CrmDep,
    as_of: Annotated[datetime | None, Query(description="default: now")] = None,
) -> SweepOut:
    """Make the tasks for sales and tier upgrades recorded since the last sweep (events more
    than 14 days before ``as_of`` make none)."""
    rank = {t.name: i for i, t in enumerate(loyalty.tiers.tiers)}
    return await q.sweep(conn, rank, actor=who.name, now=as_of)


@router.get("/{followup_id}", response_model=FollowupOut)
async def get(followup_id: int, conn: ConnDep, who: CrmDep) -> FollowupOut:
    found = await q.get(conn, followup_id)
    await log_reads(conn, who, [found.member_id], "GET /followups/{id}")
    return found


@router.post("/{followup_id}/assign", response_model=FollowupOut)
async def assign(followup_id: int, body: AssignFollowupIn, conn: ConnDep, _: CrmDep) -> FollowupOut:
    return await q.assign(conn, followup_id, body.assignee)


@router.post("/{followup_id}/outcome", response_model=FollowupOut)
async def outcome(followup_id: int, body: OutcomeIn, conn: ConnDep, _: CrmDep) -> FollowupOut:
    """Close the task with what came of it."""
    return await q.close(conn, followup_id, body)
