"""Members, cards, purchases from the till, and redemptions.

Roles: admin manages members and cards; a cashier credential (bound to a store and register)
looks members up without their contact details, records sales and redemptions at its own
register only; planners and edge devices get 403 here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from server.api.deps import AdminDep, CashierDep, ConnDep, check_store
from server.queries import membership as q
from server.queries.credentials import Principal

router = APIRouter(tags=["membership"])

TillDep = CashierDep


def _raise(exc: q.MembershipError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


def _check_register(principal: Principal, store_id: str, register_id: str) -> None:
    check_store(principal, store_id)
    if principal.register_id is not None and principal.register_id != register_id:
        raise HTTPException(403, f"this credential is for register {principal.register_id!r}")


class Created(BaseModel):
    member_id: int
    member_no: str


class CardIn(BaseModel):
    card_number: str
    epc: str | None = None


class ReplaceIn(BaseModel):
    new_card_number: str
    new_epc: str | None = None


class Balance(BaseModel):
    member_id: int
    points_balance: int


@router.post("/members", response_model=Created, status_code=201)
async def create_member(body: q.MemberIn, conn: ConnDep, who: AdminDep) -> Created:
    """Enrol a member; the same phone or email twice is a 409, not a second member."""
    try:
        member_id, member_no = await q.create_member(conn, body, actor=who.name)
    except q.MembershipError as exc:
        raise _raise(exc) from exc
    return Created(member_id=member_id, member_no=member_no)


@router.get("/members/lookup", response_model=q.MemberAtTill)
async def lookup(
    conn: ConnDep,
    _: TillDep,
    card: Annotated[str | None, Query()] = None,
    phone: Annotated[str | None, Query()] = None,
    member_no: Annotated[str | None, Query()] = None,
) -> q.MemberAtTill:
    """By card number, phone or member number: name, tier, discount and points (no contacts)."""
    try:
        return await q.lookup(conn, card=card, phone=phone, member_no=member_no)
    except q.MembershipError as exc:
        raise _raise(exc) from exc


@router.post("/members/{member_id}/cards", status_code=201)
async def issue_card(member_id: int, body: CardIn, conn: ConnDep, _: AdminDep) -> CardIn:
    """Issue a card (and link the RFID tag inside it) to a member."""
    try:
        member_id = await q.survivor(conn, member_id)
        await q.issue_card(conn, member_id, body.card_number, body.epc)
    except q.MembershipError as exc:
        raise _raise(exc) from exc
    return body


@router.post("/cards/{card_number}/lost")
async def report_lost(card_number: str, conn: ConnDep, _: AdminDep) -> dict[str, object]:
    """The card and its tag stop working at once."""
    try:
        member_id = await q.report_lost(conn, card_number)
    except q.MembershipError as exc:
        raise _raise(exc) from exc
    return {"card_number": card_number, "member_id": member_id, "status": "lost"}


@router.post("/cards/{card_number}/replace", status_code=201)
async def replace_card(
    card_number: str, body: ReplaceIn, conn: ConnDep, _: AdminDep
) -> dict[str, object]:
    """A new card for the same member (points and history stay); the old card and tag stop."""
    try:
        member_id = await q.replace_card(conn, card_number, body.new_card_number, body.new_epc)
    except q.MembershipError as exc:
        raise _raise(exc) from exc
    return {"member_id": member_id, "card_number": body.new_card_number, "replaces": card_number}


@router.post("/purchases", response_model=q.PurchaseOut)
async def record_purchase(body: q.PurchaseIn, conn: ConnDep, who: TillDep) -> q.PurchaseOut:
    """A sale from the till, idempotent on the POS's own id: a retry never counts twice."""
    _check_register(who, body.store_id, body.register_id)
    try:
        return await q.record_purchase(conn, body, actor=who.name)
    except q.MembershipError as exc:
        raise _raise(exc) from exc


@router.post("/members/{member_id}/redemptions", response_model=Balance)
async def redeem(member_id: int, body: q.RedemptionIn, conn: ConnDep, who: TillDep) -> Balance:
    """Points as payment or for a reward; 409 when the balance does not cover it."""
    _check_register(who, body.store_id, body.register_id)
    try:
        member_id = await q.survivor(conn, member_id)
        left = await q.redeem(conn, member_id, body, actor=who.name)
    except q.MembershipError as exc:
        raise _raise(exc) from exc
    return Balance(member_id=member_id, points_balance=left)


@router.post("/purchases/{purchase_id}/returns", response_model=q.ReturnOut)
async def record_return(
    purchase_id: int, body: q.ReturnIn, conn: ConnDep, who: TillDep
) -> q.ReturnOut:
    """A full or partial return: points reverse in proportion, never twice (idempotent id)."""
    if who.register_id is not None and who.register_id != body.register_id:
        raise HTTPException(403, f"this credential is for register {who.register_id!r}")
    try:
        return await q.record_return(conn, purchase_id, body, actor=who.name, store_id=who.store_id)
    except q.MembershipError as exc:
        raise _raise(exc) from exc


@router.post("/points/expire")
async def expire_points(
    conn: ConnDep, who: AdminDep, as_of: Annotated[datetime | None, Query()] = None
) -> dict[str, int]:
    """The expiry job (run daily): lots past their date lose what remains."""
    expired = await q.expire_points(conn, as_of=as_of or datetime.now(UTC), actor=who.name)
    return {"points_expired": expired}


class MergeIn(BaseModel):
    into_member_id: int


@router.post("/members/{member_id}/merge", response_model=q.MemberAtTill)
async def merge(member_id: int, body: MergeIn, conn: ConnDep, who: AdminDep) -> q.MemberAtTill:
    """Merge this record into another (the same person enrolled twice)."""
    try:
        return await q.merge_members(conn, member_id, body.into_member_id, actor=who.name)
    except q.MembershipError as exc:
        raise _raise(exc) from exc


@router.post("/tiers/review")
async def review_tiers(
    conn: ConnDep, _: AdminDep, as_of: Annotated[datetime | None, Query()] = None
) -> dict[str, int]:
    """The tier review job: upgrades at once, downgrades only at a review date."""
    return await q.review_tiers(conn, as_of=as_of or datetime.now(UTC))
