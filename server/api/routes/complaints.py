"""``/complaints``: customer care records, assigns, answers and resolves complaints (the crm
role; admins too); open and overdue lists; targets per severity; figures and retention."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from server.api.deps import AdminDep, ConnDep
from server.crm.access import CrmDep
from server.queries import complaints as q
from server.queries.privacy import log_reads
from storeflow.api.complaints import (
    AssignIn,
    ComplaintIn,
    ComplaintOut,
    ComplaintReport,
    ResolveIn,
    RespondIn,
    Target,
)

router = APIRouter(prefix="/complaints", tags=["complaints"])


@router.post("", status_code=201, response_model=ComplaintOut)
async def record(body: ComplaintIn, conn: ConnDep, who: CrmDep) -> ComplaintOut:
    """Record a complaint (a member's, or anonymous with no ``member_id``)."""
    return await q.record(conn, body, actor=who.name)


@router.get("", response_model=list[ComplaintOut])
async def listing(
    conn: ConnDep,
    who: CrmDep,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    overdue: Annotated[bool, Query(description="only those past a running target")] = False,
    member_id: Annotated[int | None, Query()] = None,
    store_id: Annotated[str | None, Query()] = None,
) -> list[ComplaintOut]:
    """Complaints, newest first (each member named is written to the access log)."""
    found = await q.listing(
        conn, status=status, overdue=overdue, member_id=member_id, store_id=store_id
    )
    await log_reads(conn, who, [c.member_id for c in found], "GET /complaints")
    return found


@router.get("/targets", response_model=list[Target])
async def targets(conn: ConnDep, _: CrmDep) -> list[Target]:
    """Minutes to a first response and to a resolution, per severity."""
    return await q.list_targets(conn)


@router.put("/targets", response_model=list[Target])
async def set_targets(body: list[Target], conn: ConnDep, _: AdminDep) -> list[Target]:
    """Change the targets of the severities given (admin)."""
    for t in body:
        await q.set_target(conn, t)
    return await q.list_targets(conn)


@router.get("/report", response_model=ComplaintReport)
async def report(
    conn: ConnDep,
    _: CrmDep,
    start: Annotated[datetime, Query()],
    end: Annotated[datetime, Query()],
    store_id: Annotated[str | None, Query()] = None,
) -> ComplaintReport:
    """Figures per counter and category for complaints made in [start, end), and whether
    complainants bought again within 90 days, by how their complaint ended."""
    return await q.report(conn, start=start, end=end, store_id=store_id)


@router.get("/{complaint_id}", response_model=ComplaintOut)
async def get(complaint_id: int, conn: ConnDep, who: CrmDep) -> ComplaintOut:
    """One complaint with its history and the follow-ups it made."""
    found = await q.get(conn, complaint_id)
    await log_reads(conn, who, [found.member_id], "GET /complaints/{id}")
    return found


@router.post("/{complaint_id}/assign", response_model=ComplaintOut)
async def assign(complaint_id: int, body: AssignIn, conn: ConnDep, who: CrmDep) -> ComplaintOut:
    return await q.assign(conn, complaint_id, body.assignee, body.at, actor=who.name)


@router.post("/{complaint_id}/respond", response_model=ComplaintOut)
async def respond(complaint_id: int, body: RespondIn, conn: ConnDep, who: CrmDep) -> ComplaintOut:
    """Answer the customer; the first answer is the first response."""
    return await q.respond(conn, complaint_id, body.text, body.at, actor=who.name)


@router.post("/{complaint_id}/resolve", response_model=ComplaintOut)
async def resolve(complaint_id: int, body: ResolveIn, conn: ConnDep, who: CrmDep) -> ComplaintOut:
    """Resolve; the follow-up rules for resolved complaints make their tasks now."""
    return await q.resolve(
        conn, complaint_id, body.resolution, body.on_the_spot, body.at, actor=who.name
    )
