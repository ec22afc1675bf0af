"""``/purchases``: sales from the till and their returns (a cashier credential, at its own store
and register only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import (
    CashierDep,
    ConnDep,
    RulesDep,
    SettingsDep,
    check_register,
    check_store,
)
from server.queries import membership as q
from server.sale_limits import limits_from
from storeflow.api.purchases import (
    PurchaseIn,
    PurchaseOut,
    QuoteIn,
    QuoteOut,
    ReturnIn,
    ReturnOut,
    SaleOut,
)

router = APIRouter(prefix="/purchases", tags=["purchases"])


@router.post("")
async def record_purchase(
    body: PurchaseIn, conn: ConnDep, rules: RulesDep, settings: SettingsDep, who: CashierDep
) -> PurchaseOut:
    """A sale from the till, idempotent on the POS's own id: a retry never counts twice.

    422 for an amount over the hard maximum or a counter the store does not have; 409 for a
    sale over the per-sale limit without ``supervisor``. The answer carries the tier discount
    and the amount to pay."""
    check_store(who, body.store_id)
    check_register(who, body.register_id)
    return await q.record_purchase(
        conn,
        body,
        actor=who.name,
        earning=rules.earning,
        tiers=rules.tiers,
        limits=limits_from(settings),
    )


@router.post("/quote")
async def quote_purchase(
    body: QuoteIn, conn: ConnDep, rules: RulesDep, settings: SettingsDep, who: CashierDep
) -> QuoteOut:
    """What the customer will pay (tier discount) and whether the sale needs confirming;
    nothing is recorded."""
    check_store(who, body.store_id)
    check_register(who, body.register_id)
    return await q.quote(conn, body, tiers=rules.tiers, limits=limits_from(settings))


@router.get("")
async def find_sale(
    conn: ConnDep,
    who: CashierDep,
    store_id: Annotated[str, Query()],
    pos_id: Annotated[str, Query(min_length=1, max_length=100)],
) -> SaleOut:
    """A sale by its POS id (the receipt number), with what was already returned per line."""
    check_store(who, store_id)
    return await q.sale_by_pos_id(conn, store_id, pos_id)


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
