"""``/members``: enrolment (admin), look-up at the till (cashier: no contact details),
merging two records of one person (admin), and customer care's search, profile and edit (crm).
Planners and edge devices get 403 here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import AdminDep, ConnDep, LookupDep, RulesDep
from server.crm import members as crm_members
from server.crm.access import CrmDep
from server.queries import membership as q
from server.queries.privacy import log_access, log_reads
from storeflow.api.members import (
    MemberAtTill,
    MemberCreated,
    MemberFound,
    MemberIn,
    MemberPatch,
    MemberProfile,
    MergeIn,
)

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=201)
async def create_member(body: MemberIn, conn: ConnDep, who: AdminDep) -> MemberCreated:
    """Enrol a member; the same phone or email twice is a 409, not a second member. With
    ``referral_code`` (another member's code) that member is recorded as the referrer; a code
    nobody has is a 422. The answer carries the new member's own referral code."""
    return await q.create_member(conn, body, actor=who.name)


@router.get("/lookup")
async def lookup(
    conn: ConnDep,
    rules: RulesDep,
    who: LookupDep,
    card: Annotated[str | None, Query()] = None,
    phone: Annotated[str | None, Query()] = None,
    member_no: Annotated[str | None, Query()] = None,
) -> MemberAtTill:
    """By card number, phone or member number: name, tier, discount and points (no contacts).
    Rate-limited per credential (429 beyond); each answer is written to the access log."""
    member = await q.lookup(conn, card=card, phone=phone, member_no=member_no, tiers=rules.tiers)
    await log_access(conn, who, member.member_id, "GET /members/lookup")
    return member


@router.post("/{member_id}/merge")
async def merge(
    member_id: int, body: MergeIn, conn: ConnDep, rules: RulesDep, who: AdminDep
) -> MemberAtTill:
    """Merge this record into another (the same person enrolled twice)."""
    return await q.merge_members(
        conn, member_id, body.into_member_id, actor=who.name, tiers=rules.tiers
    )


@router.get("", response_model=list[MemberFound])
async def search(
    conn: ConnDep,
    who: CrmDep,
    query: Annotated[str, Query(description="member number, phone, card number or name")],
) -> list[MemberFound]:
    """Customer care's search (crm role): exact number, phone or card first, then names.
    Every member in the answer is written to the access log."""
    found = await crm_members.search(conn, query)
    await log_reads(conn, who, [hit.member_id for hit in found], "GET /members?query=")
    return found


@router.get("/{member_id}", response_model=MemberProfile)
async def profile(member_id: int, conn: ConnDep, who: CrmDep) -> MemberProfile:
    """One member's profile, cards, tier, points and recent purchases (crm role; logged)."""
    found = await crm_members.profile(conn, member_id)
    await log_access(conn, who, found.member_id, "GET /members/{id}")
    return found


@router.patch("/{member_id}", response_model=MemberProfile)
async def edit(member_id: int, body: MemberPatch, conn: ConnDep, who: CrmDep) -> MemberProfile:
    """Change a member's name, contact details, birth date or gender (crm role; logged)."""
    changed = await crm_members.update(conn, member_id, body, actor=who.name)
    await log_access(conn, who, changed.member_id, "PATCH /members/{id}")
    return changed
