"""Points: redemptions at the till (cashier, own store and register) and the expiry job (admin).

The paths keep their two roots (``/members/{id}/redemptions``, ``/points/expire``), so this
router has no common prefix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import AdminDep, CashierDep, ConnDep, check_register, check_store
from server.queries import membership as q
from storeflow.api.points import Balance, PointsExpired, RedemptionIn

router = APIRouter(tags=["points"])


@router.post("/members/{member_id}/redemptions")
async def redeem(member_id: int, body: RedemptionIn, conn: ConnDep, who: CashierDep) -> Balance:
    """Points as payment or for a reward; 409 when the balance does not cover it."""
    check_store(who, body.store_id)
    check_register(who, body.register_id)
    member_id = await q.survivor(conn, member_id)
    left = await q.redeem(conn, member_id, body, actor=who.name)
    return Balance(member_id=member_id, points_balance=left)


@router.post("/points/expire")
async def expire_points(
    conn: ConnDep, who: AdminDep, as_of: Annotated[datetime | None, Query()] = None
) -> PointsExpired:
    """The expiry job (run daily): lots past their date lose what remains."""
    expired = await q.expire_points(conn, as_of=as_of or datetime.now(UTC), actor=who.name)
    return PointsExpired(points_expired=expired)
