"""``/purchases``: sales from the till and their returns (a cashier credential, at its own store
and register only)."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import CashierDep, ConnDep, RulesDep, check_register, check_store
from server.queries import membership as q
from storeflow.api.purchases import PurchaseIn, PurchaseOut, ReturnIn, ReturnOut

router = APIRouter(prefix="/purchases", tags=["purchases"])


@router.post("")
async def record_purchase(
    body: PurchaseIn, conn: ConnDep, rules: RulesDep, who: CashierDep
) -> PurchaseOut:
    """A sale from the till, idempotent on the POS's own id: a retry never counts twice."""
    check_store(who, body.store_id)
    check_register(who, body.register_id)
    return await q.record_purchase(
        conn, body, actor=who.name, earning=rules.earning, tiers=rules.tiers
    )


@router.post("/{purchase_id}/returns")
async def record_return(
    purchase_id: int, body: ReturnIn, conn: ConnDep, who: CashierDep
) -> ReturnOut:
    """A full or partial return: points reverse in proportion, never twice (idempotent id)."""
    check_register(who, body.register_id)
    return await q.record_return(
        conn,
        purchase_id,
        body,
        actor=who.name,
        store_id=who.store_id,
        register_id=who.register_id,
    )
