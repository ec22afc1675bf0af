"""Sales and returns from the till against the real database: idempotency, points, trip links."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from server.loyalty.rules import EarningRules, TierRules
from server.queries import membership as q
from storeflow.api.purchases import PurchaseIn, PurchaseOut, ReturnIn, ReturnOut
from tests.fix_db import Api
from tests.helpers.ingest import load_layout
from tests.helpers.membership import (
    AT,
    CARD,
    EPC,
    add_trip,
    client,
    enrol,
    ledger_sum,
    linked_trip,
    one,
    redemption,
    sale,
    till,
)

SOLD = datetime.fromisoformat(AT)


def test_a_retry_returns_the_original_sale_and_counts_nothing_twice(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    c, h = client(api), till(api)
    first = c.post("/api/v1/purchases", json=sale("P-1", "120.00"), headers=h).json()
    assert (first["duplicate"], first["points_earned"], first["total"]) == (False, 120, "120.00")
    for _ in range(3):
        retry = c.post("/api/v1/purchases", json=sale("P-1", "120.00"), headers=h).json()
        assert retry["duplicate"] is True
        assert {k: retry[k] for k in ("purchase_id", "points_earned", "total", "member_id")} == {
            k: first[k] for k in ("purchase_id", "points_earned", "total", "member_id")
        }
    assert one(api.db_url, "SELECT count(*) FROM purchase") == 1
    assert one(api.db_url, "SELECT count(*) FROM purchase_line") == 1
    assert one(api.db_url, "SELECT count(*) FROM points_lot") == 1
    assert ledger_sum(api.db_url, member_id) == 120
    # the same POS id at another store is another sale
    other = sale("P-1", "10.00")
    other["store_id"] = "north"
    other_till = till(api, store_id="north")
    assert c.post("/api/v1/purchases", json=other, headers=other_till).json()["duplicate"] is False


def test_parallel_retries_of_one_sale_record_it_once(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    body = PurchaseIn.model_validate(sale("P-PAR", "75.00"))

    async def post_once() -> PurchaseOut:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            return await q.record_purchase(
                conn, body, actor="till", earning=EarningRules(), tiers=TierRules()
            )

    async def storm() -> list[PurchaseOut]:
        return await asyncio.gather(*(post_once() for _ in range(10)))

    results = asyncio.run(storm())
    assert sum(not r.duplicate for r in results) == 1
    assert {r.purchase_id for r in results} == {results[0].purchase_id}
    assert one(api.db_url, "SELECT count(*) FROM purchase") == 1
    assert ledger_sum(api.db_url, member_id) == 75


def test_a_sale_without_a_card_earns_nothing_and_belongs_to_nobody(api: Api) -> None:
    r = client(api).post("/api/v1/purchases", json=sale("P-ANON", "9.99", None), headers=till(api))
    assert r.status_code == 200
    body = r.json()
    assert (body["member_id"], body["points_earned"], body["points_balance"]) == (None, 0, None)
    assert one(api.db_url, "SELECT count(*) FROM points_ledger") == 0


def test_points_per_line_and_the_tier_multiplier_at_the_till(api: Api) -> None:
    enrol(api, api.headers("admin"))
    c, h = client(api), till(api)
    big = c.post("/api/v1/purchases", json=sale("T-1", "5000.00"), headers=h).json()
    assert (big["points_earned"], big["tier"]) == (5000, "Silver")  # earned at Member, then up
    body = sale("T-2", "0")
    body["lines"] = [
        {"sku": "A", "quantity": 1, "amount": "10.00"},
        {"sku": "B", "quantity": 3, "amount": "20.50"},
    ]
    two = c.post("/api/v1/purchases", json=body, headers=h).json()
    assert two["points_earned"] == 12 + 24  # 10 x 1.2 and 20 x 1.2 (whole currency units)
    with psycopg.connect(api.db_url) as conn:
        lines = conn.execute(
            "SELECT line_no, points FROM purchase_line WHERE purchase_id = %s ORDER BY 1",
            (two["purchase_id"],),
        ).fetchall()
    assert lines == [(1, 12), (2, 24)]


def test_a_retry_after_the_card_was_reported_lost_still_returns_the_original(api: Api) -> None:
    enrol(api, api.headers("admin"))
    c, h = client(api), till(api)
    first = c.post("/api/v1/purchases", json=sale("P-LOST", "30.00"), headers=h).json()
    c.post(f"/api/v1/cards/{CARD}/lost", headers=api.headers("admin"))
    retry = c.post("/api/v1/purchases", json=sale("P-LOST", "30.00"), headers=h)
    assert retry.status_code == 200
    assert retry.json()["purchase_id"] == first["purchase_id"] and retry.json()["duplicate"]


def two_line_sale(api: Api) -> tuple[int, int]:
    member_id = enrol(api, api.headers("admin"))
    body = sale("R-0", "0")
    body["lines"] = [
        {"sku": "A", "quantity": 3, "amount": "90.00"},
        {"sku": "B", "quantity": 1, "amount": "33.00"},
    ]
    p = client(api).post("/api/v1/purchases", json=body, headers=till(api)).json()
    assert p["points_earned"] == 123
    return member_id, int(p["purchase_id"])


def ret(return_id: str, *lines: tuple[int, str]) -> dict[str, object]:
    return {
        "return_id": return_id,
        "register_id": "T1",
        "lines": [{"line_no": n, "amount": a} for n, a in lines],
    }


def test_partial_returns_then_the_rest_take_back_exactly_what_was_earned(api: Api) -> None:
    member_id, pid = two_line_sale(api)
    c, h, url = client(api), till(api), f"/api/v1/purchases/{pid}/returns"
    steps = [
        (ret("R1", (1, "30.00")), 30, 93),  # one of three items
        (ret("R2", (2, "11.00")), 11, 82),  # a third of the other line's value
        (ret("R3", (1, "60.00"), (2, "22.00")), 82, 0),  # the rest of both
    ]
    for body, reversed_, left in steps:
        r = c.post(url, json=body, headers=h).json()
        assert (r["points_reversed"], r["shortfall"], r["points_balance"]) == (reversed_, 0, left)
    # nothing is left to return, and no return id counts twice
    assert c.post(url, json=ret("R4", (1, "0.01")), headers=h).status_code == 422
    assert c.post(url, json=ret("R1", (1, "30.00")), headers=h).json()["duplicate"] is True
    assert ledger_sum(api.db_url, member_id) == 0
    assert one(api.db_url, "SELECT sum(remaining) FROM points_lot") == 0
    assert one(api.db_url, "SELECT sum(amount) FROM purchase_return") == Decimal("123.00")


def test_returns_of_odd_amounts_never_reverse_more_than_was_earned(api: Api) -> None:
    member_id, pid = two_line_sale(api)
    c, h, url = client(api), till(api), f"/api/v1/purchases/{pid}/returns"
    total = 0
    for i in range(9):  # nine returns of 10.00 on a 90.00 line worth 90 points
        total += c.post(url, json=ret(f"S{i}", (1, "10.00")), headers=h).json()["points_reversed"]
    assert total == 90
    assert ledger_sum(api.db_url, member_id) == 33


def test_a_return_id_sent_in_parallel_counts_once(api: Api) -> None:
    member_id, pid = two_line_sale(api)
    body = ReturnIn.model_validate(ret("R-PAR", (1, "45.00")))

    async def once() -> ReturnOut:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            return await q.record_return(conn, pid, body, actor="till")

    async def storm() -> list[ReturnOut]:
        return await asyncio.gather(*(once() for _ in range(8)))

    results = asyncio.run(storm())
    assert sum(not r.duplicate for r in results) == 1
    assert {r.points_reversed for r in results} == {45}
    assert ledger_sum(api.db_url, member_id) == 123 - 45


def test_returns_refuse_unknown_purchases_and_lines(api: Api) -> None:
    _, pid = two_line_sale(api)
    c, h = client(api), till(api)
    r = c.post("/api/v1/purchases/999/returns", json=ret("X", (1, "1.00")), headers=h)
    assert (r.status_code, r.json()["detail"]) == (404, "purchase not found")
    r = c.post(f"/api/v1/purchases/{pid}/returns", json=ret("X", (3, "1.00")), headers=h)
    assert (r.status_code, r.json()["detail"]) == (422, "the purchase has no line 3")
    assert one(api.db_url, "SELECT count(*) FROM purchase_return") == 0


def test_a_refund_after_the_points_were_spent_records_the_shortfall_as_a_debt(api: Api) -> None:
    member_id, pid = two_line_sale(api)
    c, h = client(api), till(api)
    spent = c.post(f"/api/v1/members/{member_id}/redemptions", json=redemption(100, "g"), headers=h)
    assert spent.json()["points_balance"] == 23
    r = c.post(f"/api/v1/purchases/{pid}/returns", json=ret("R1", (1, "90.00")), headers=h).json()
    assert (r["points_reversed"], r["shortfall"], r["points_balance"]) == (90, 67, -67)
    with psycopg.connect(api.db_url) as conn:
        entries = conn.execute(
            "SELECT kind, points, lot_id IS NULL, reason, actor FROM points_ledger "
            "WHERE ref = %s ORDER BY id",
            (f"return:{pid}:R1",),
        ).fetchall()
    assert entries == [
        ("reverse", -23, False, "goods returned", "test-cashier"),
        ("reverse", -67, True, "goods returned; points already spent (debt)", "test-cashier"),
    ]
    # the rest of the purchase: only the debt-free remainder can still be taken
    r2 = c.post(f"/api/v1/purchases/{pid}/returns", json=ret("R2", (2, "33.00")), headers=h)
    assert (r2.json()["points_reversed"], r2.json()["points_balance"]) == (33, -100)
    assert ledger_sum(api.db_url, member_id) == -100


def linked_epc(db_url: str, purchase_id: int) -> str | None:
    value = one(db_url, "SELECT trip_epc FROM purchase WHERE id = %s", purchase_id)
    return None if value is None else str(value)


def _checkout_visit(db_url: str, epc: str, enter: datetime, exit_: datetime, kind: str) -> str:
    trip = add_trip(db_url, epc, enter - timedelta(minutes=10), exit_ + timedelta(seconds=30))
    with psycopg.connect(db_url) as c:
        c.execute(
            "INSERT INTO zone_visit (event_id, store_id, zone, epc, tag_kind, enter_at, exit_at, "
            "reads, mean_rssi_dbm, reader_id, device_id) VALUES "
            "(%s, 'demo', 'CHK', %s, %s, %s, %s, 5, -60, 'R1', 'edge-1')",
            (uuid.uuid4(), epc, kind, enter, exit_),
        )
    return trip


@pytest.mark.parametrize(
    ("offset_s", "linked"),
    [(0, True), (110, True), (-110, True), (200, False), (-200, False)],
    ids=["during", "1m50s after", "1m50s before", "3m20s after", "3m20s before"],
)
def test_a_sale_without_a_card_links_to_the_cart_at_the_checkout_within_two_minutes(
    api: Api, offset_s: int, linked: bool
) -> None:
    load_layout(api)
    cart = "3500079FF000000800000007"
    enter = SOLD - timedelta(seconds=30)
    trip = _checkout_visit(api.db_url, cart, enter, SOLD + timedelta(seconds=30), "cart")
    at = SOLD + timedelta(seconds=offset_s + (30 if offset_s > 0 else -30 if offset_s < 0 else 0))
    p = (
        client(api)
        .post(
            "/api/v1/purchases",
            json=sale("C-1", "5.00", None, at=at.isoformat()),
            headers=till(api),
        )
        .json()
    )
    assert linked_trip(api.db_url, p["purchase_id"]) == (trip if linked else None)
    assert linked_epc(api.db_url, p["purchase_id"]) == (cart if linked else None)


@pytest.mark.parametrize(
    ("ended_before_min", "linked"),
    [(-5, True), (0, True), (14, True), (16, False)],
    ids=["open", "just ended", "ended 14 min before", "ended 16 min before"],
)
def test_a_member_sale_links_to_the_card_tags_trip_within_fifteen_minutes(
    api: Api, ended_before_min: int, linked: bool
) -> None:
    enrol(api, api.headers("admin"))
    end = SOLD - timedelta(minutes=ended_before_min)
    trip = add_trip(api.db_url, EPC, SOLD - timedelta(minutes=40), end)
    p = client(api).post("/api/v1/purchases", json=sale("K-1", "5.00"), headers=till(api)).json()
    assert linked_trip(api.db_url, p["purchase_id"]) == (trip if linked else None)
    assert linked_epc(api.db_url, p["purchase_id"]) == (EPC if linked else None)
