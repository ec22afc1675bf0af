"""Membership against the real database: enrolment, cards, sales from the till, redemptions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from server.threaded import serve_in_thread
from tests.fix_db import Api
from tests.helpers.ingest import PATH, batch, load_layout, post, visit

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC).isoformat()


def client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def enrol(api: Api, admin: dict[str, str], **fields: object) -> int:
    body = {
        "name": "Li Wei",
        "phone": "+86 138 0000 0001",
        "email": "li@example.com",
        "consents": {"marketing": True, "in_store_tracking": True},
        **fields,
    }
    r = client(api).post("/api/v1/members", json=body, headers=admin)
    assert r.status_code == 201, r.text
    member_id: int = r.json()["member_id"]
    r = client(api).post(
        f"/api/v1/members/{member_id}/cards",
        json={"card_number": "6001000001", "epc": "3500079FF000000400000001"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return member_id


def sale(pos_id: str, amount: str, card: str | None = "6001000001") -> dict[str, object]:
    return {
        "store_id": "demo",
        "register_id": "T1",
        "pos_id": pos_id,
        "at": AT,
        "card_number": card,
        "lines": [
            {
                "sku": "SKU1",
                "counter": "C01",
                "category": "cosmetics",
                "quantity": 1,
                "amount": amount,
            }
        ],
    }


def test_duplicate_phone_or_email_is_a_409(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    again = client(api).post(
        "/api/v1/members", json={"name": "L. Wei", "phone": "+8613800000001"}, headers=admin
    )
    assert again.status_code == 409 and "phone" in again.json()["detail"]
    again = client(api).post(
        "/api/v1/members", json={"name": "X", "email": "LI@example.com"}, headers=admin
    )
    assert again.status_code == 409 and "email" in again.json()["detail"]


def test_sale_is_idempotent_on_the_pos_id_and_earns_points_once(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    first = client(api).post("/api/v1/purchases", json=sale("POS-1", "250.00"), headers=till)
    assert first.status_code == 200, first.text
    assert (first.json()["points_earned"], first.json()["points_balance"]) == (250, 250)
    retry = client(api).post("/api/v1/purchases", json=sale("POS-1", "250.00"), headers=till)
    assert retry.json()["duplicate"] is True and retry.json()["points_balance"] == 250
    with psycopg.connect(api.db_url) as c:
        assert c.execute("SELECT count(*) FROM purchase").fetchone() == (1,)
        assert c.execute(
            "SELECT sum(points) FROM points_ledger WHERE member_id = %s", (member_id,)
        ).fetchone() == (250,)


def test_tier_upgrades_at_once_and_applies_at_the_till(api: Api) -> None:
    enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    r = client(api).post("/api/v1/purchases", json=sale("POS-2", "6000.00"), headers=till)
    assert r.json()["tier"] == "Silver"
    looked = client(api).get("/api/v1/members/lookup?card=6001000001", headers=till).json()
    assert looked["tier"] == "Silver" and looked["discount_rate"] == "0.02"
    assert "phone" not in looked and "email" not in looked
    r = client(api).post("/api/v1/purchases", json=sale("POS-3", "100.00"), headers=till)
    assert r.json()["points_earned"] == 120  # the Silver multiplier, 1.2


def test_replaced_card_stops_at_once_and_points_follow(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    till = api.headers("cashier", store_id="demo", register_id="T1")
    client(api).post("/api/v1/purchases", json=sale("POS-4", "80.00"), headers=till)
    r = client(api).post(
        "/api/v1/cards/6001000001/replace",
        json={"new_card_number": "6001000002", "new_epc": "3500079FF000000400000002"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    old = client(api).post("/api/v1/purchases", json=sale("POS-5", "10.00"), headers=till)
    assert old.status_code == 409 and "replaced" in old.json()["detail"]
    new = client(api).get("/api/v1/members/lookup?card=6001000002", headers=till).json()
    assert new["points_balance"] == 80
    client(api).post("/api/v1/cards/6001000002/lost", headers=admin)
    lost = client(api).get("/api/v1/members/lookup?card=6001000002", headers=till)
    assert lost.status_code == 409 and lost.json()["detail"] == "card reported lost"
    unknown = client(api).get("/api/v1/members/lookup?card=999", headers=till)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "card not found"


def test_access_boundaries(api: Api) -> None:
    enrol(api, api.headers("admin"))
    c = client(api)
    assert c.get("/api/v1/members/lookup?card=6001000001").status_code == 401
    for role in ("planner", "edge"):
        h = api.headers(role, store_id="demo")
        assert c.get("/api/v1/members/lookup?card=6001000001", headers=h).status_code == 403
        assert c.post("/api/v1/purchases", json=sale("P", "1.00"), headers=h).status_code == 403
    other_till = api.headers("cashier", store_id="demo", register_id="T9")
    assert (
        c.post("/api/v1/purchases", json=sale("P", "1.00"), headers=other_till).status_code == 403
    )
    cashier = api.headers("cashier", store_id="demo", register_id="T1")
    assert c.post("/api/v1/members", json={"name": "X"}, headers=cashier).status_code == 403


def test_ledger_is_append_only(api: Api) -> None:
    enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    client(api).post("/api/v1/purchases", json=sale("POS-6", "50.00"), headers=till)
    with psycopg.connect(api.db_url) as c, pytest.raises(psycopg.errors.RaiseException):
        c.execute("UPDATE points_ledger SET points = 1000")


@pytest.mark.slow
def test_fifty_parallel_redemptions_never_double_spend(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    token = api.token("cashier", store_id="demo", register_id="T1")
    till = {"Authorization": f"Bearer {token}"}
    client(api).post("/api/v1/purchases", json=sale("POS-7", "1000.00"), headers=till)

    async def storm(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as ac:

            async def one(i: int) -> int:
                r = await ac.post(
                    f"/api/v1/members/{member_id}/redemptions",
                    headers=till,
                    json={
                        "points": 70,
                        "reason": "voucher",
                        "store_id": "demo",
                        "register_id": "T1",
                        "idempotency_key": f"k{i}",
                    },
                )
                return r.status_code

            return await asyncio.gather(*(one(i) for i in range(50)))

    with serve_in_thread(api.db_url) as base:
        codes = asyncio.run(storm(base))
    assert codes.count(200) == 1000 // 70 and codes.count(409) == 50 - 1000 // 70
    with psycopg.connect(api.db_url) as c:
        (ledger,) = c.execute(
            "SELECT sum(points) FROM points_ledger WHERE member_id = %s", (member_id,)
        ).fetchone() or (None,)
        (lots,) = c.execute(
            "SELECT sum(remaining) FROM points_lot WHERE member_id = %s", (member_id,)
        ).fetchone() or (None,)
    assert ledger == lots == 1000 - 70 * (1000 // 70) >= 0


def test_partial_returns_reverse_in_proportion_and_never_twice(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    body = sale("POS-R", "0")
    body["lines"] = [
        {"sku": "A", "counter": "C01", "quantity": 2, "amount": "300.00"},
        {"sku": "B", "counter": "C02", "quantity": 1, "amount": "101.00"},
    ]
    p = client(api).post("/api/v1/purchases", json=body, headers=till).json()
    assert p["points_earned"] == 401
    url = f"/api/v1/purchases/{p['purchase_id']}/returns"
    half = {"return_id": "R1", "register_id": "T1", "lines": [{"line_no": 1, "amount": "150.00"}]}
    r1 = client(api).post(url, json=half, headers=till).json()
    assert (r1["points_reversed"], r1["points_balance"]) == (150, 251)
    again = client(api).post(url, json=half, headers=till).json()
    assert again["duplicate"] is True and again["points_balance"] == 251
    rest = {
        "return_id": "R2",
        "register_id": "T1",
        "lines": [{"line_no": 1, "amount": "150.00"}, {"line_no": 2, "amount": "101.00"}],
    }
    r2 = client(api).post(url, json=rest, headers=till).json()
    assert (r2["points_reversed"], r2["points_balance"]) == (251, 0)
    too_much = {"return_id": "R3", "register_id": "T1", "lines": [{"line_no": 2, "amount": "1.00"}]}
    r3 = client(api).post(url, json=too_much, headers=till)
    assert r3.status_code == 422 and "exceeds" in r3.json()["detail"]
    with psycopg.connect(api.db_url) as c:
        assert c.execute(
            "SELECT sum(points) FROM points_ledger WHERE member_id = %s", (member_id,)
        ).fetchone() == (0,)


def test_refund_after_the_points_were_spent_records_a_debt(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    p = client(api).post("/api/v1/purchases", json=sale("POS-S", "200.00"), headers=till).json()
    spend = {
        "points": 150,
        "reason": "gift",
        "store_id": "demo",
        "register_id": "T1",
        "idempotency_key": "g1",
    }
    assert (
        client(api)
        .post(f"/api/v1/members/{member_id}/redemptions", json=spend, headers=till)
        .json()["points_balance"]
        == 50
    )
    full = {"return_id": "R1", "register_id": "T1", "lines": [{"line_no": 1, "amount": "200.00"}]}
    r = (
        client(api)
        .post(f"/api/v1/purchases/{p['purchase_id']}/returns", json=full, headers=till)
        .json()
    )
    assert (r["points_reversed"], r["shortfall"], r["points_balance"]) == (200, 150, -150)


def test_expiry_job_expires_oldest_lots(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    old = sale("POS-E1", "100.00")
    old["at"] = "2025-06-01T12:00:00+00:00"
    client(api).post("/api/v1/purchases", json=old, headers=till)
    client(api).post("/api/v1/purchases", json=sale("POS-E2", "40.00"), headers=till)
    r = client(api).post(
        "/api/v1/points/expire?as_of=2026-07-01T00:00:00Z", headers=api.headers("admin")
    )
    assert r.json() == {"points_expired": 100}
    with psycopg.connect(api.db_url) as c:
        assert c.execute(
            "SELECT sum(points) FROM points_ledger WHERE member_id = %s", (member_id,)
        ).fetchone() == (40,)
        assert c.execute(
            "SELECT sum(remaining) FROM points_lot WHERE member_id = %s", (member_id,)
        ).fetchone() == (40,)


def test_member_sale_is_linked_to_the_card_tags_trip(api: Api) -> None:
    enrol(api, api.headers("admin"))
    load_layout(api)
    epc = "3500079FF000000400000001"  # the tag inside card 6001000001
    post(
        api,
        batch(*(visit(z, s, d, epc=epc) for z, s, d in PATH)),
        api.token("edge", store_id="demo"),
    )
    till = api.headers("cashier", store_id="demo", register_id="T1")
    body = sale("POS-T", "99.00")
    body["at"] = "2026-11-02T11:03:30+00:00"  # at the checkout
    p = client(api).post("/api/v1/purchases", json=body, headers=till).json()
    with psycopg.connect(api.db_url) as c:
        linked = c.execute(
            "SELECT t.epc FROM purchase p JOIN trip t USING (trip_id) WHERE p.id = %s",
            (p["purchase_id"],),
        ).fetchone()
    assert linked == (epc,)


def test_merge_moves_cards_points_and_purchases(api: Api) -> None:
    admin = api.headers("admin")
    first = enrol(api, admin)
    r = client(api).post(
        "/api/v1/members", json={"name": "Wei Li", "phone": "13911112222"}, headers=admin
    )
    second = r.json()["member_id"]
    client(api).post(f"/api/v1/members/{second}/cards", json={"card_number": "7001"}, headers=admin)
    till = api.headers("cashier", store_id="demo", register_id="T1")
    client(api).post("/api/v1/purchases", json=sale("POS-M1", "100.00"), headers=till)
    client(api).post("/api/v1/purchases", json=sale("POS-M2", "30.00", card="7001"), headers=till)
    merged = client(api).post(
        f"/api/v1/members/{second}/merge", json={"into_member_id": first}, headers=admin
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["points_balance"] == 130
    via_old_card = client(api).get("/api/v1/members/lookup?card=7001", headers=till).json()
    assert via_old_card["member_id"] == first and via_old_card["points_balance"] == 130
    assert (
        client(api)
        .post(f"/api/v1/members/{second}/merge", json={"into_member_id": first}, headers=admin)
        .status_code
        == 409
    )
    # the merged record's phone no longer blocks a new enrolment... and a redemption on the old
    # id spends the survivor's points
    spend = {
        "points": 100,
        "reason": "gift",
        "store_id": "demo",
        "register_id": "T1",
        "idempotency_key": "m1",
    }
    r = client(api).post(f"/api/v1/members/{second}/redemptions", json=spend, headers=till)
    assert r.json() == {"member_id": first, "points_balance": 30}
    with psycopg.connect(api.db_url) as c:
        assert c.execute(
            "SELECT count(*) FROM purchase WHERE member_id = %s", (first,)
        ).fetchone() == (2,)


def test_tier_review_downgrades_only_at_the_review_date(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    till = api.headers("cashier", store_id="demo", register_id="T1")
    big = sale("POS-V", "6000.00")
    big["at"] = "2025-03-01T12:00:00+00:00"
    assert client(api).post("/api/v1/purchases", json=big, headers=till).json()["tier"] == "Silver"
    with psycopg.connect(api.db_url) as c:
        c.execute("UPDATE member SET last_review = '2025-01-01'")
    mid_year = client(api).post("/api/v1/tiers/review?as_of=2025-12-15T00:00:00Z", headers=admin)
    assert mid_year.json()["downgrade"] == 0
    at_review = client(api).post("/api/v1/tiers/review?as_of=2026-03-15T00:00:00Z", headers=admin)
    assert at_review.json()["downgrade"] == 1
    looked = client(api).get("/api/v1/members/lookup?card=6001000001", headers=till).json()
    assert looked["tier"] == "Member"


def test_cart_sale_is_linked_to_the_cart_seen_at_the_checkout(api: Api) -> None:
    load_layout(api)
    cart = "3500079FF000000800000007"  # GID-96 object class 2: a cart
    post(
        api,
        batch(*(visit(z, s, d, epc=cart) for z, s, d in PATH)),
        api.token("edge", store_id="demo"),
    )
    with psycopg.connect(api.db_url) as c:
        c.execute("UPDATE zone_visit SET tag_kind = 'cart'")
    till = api.headers("cashier", store_id="demo", register_id="T1")
    body = sale("POS-C", "45.00", card=None)
    body["at"] = "2026-11-02T11:04:00+00:00"
    p = client(api).post("/api/v1/purchases", json=body, headers=till).json()
    assert p["member_id"] is None and p["points_earned"] == 0
    with psycopg.connect(api.db_url) as c:
        linked = c.execute(
            "SELECT t.epc FROM purchase p JOIN trip t USING (trip_id) WHERE p.id = %s",
            (p["purchase_id"],),
        ).fetchone()
    assert linked == (cart,)


def test_earning_rules_are_data_loaded_from_a_file(api: Api) -> None:
    """Each app holds the rules it was built with: one reading the rules file earns x1.5 on
    cosmetics while another on the same database, built without it, earns the default x1."""
    from server.app import create_app
    from server.settings import Settings

    settings = Settings.model_validate(
        {"STOREFLOW_EARNING_RULES": "config/earning_rules.example.yaml"}
    )
    enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    with TestClient(create_app(settings, database_url=api.db_url)) as with_rules:
        r = with_rules.post("/api/v1/purchases", json=sale("POS-X", "100.00"), headers=till)
        assert r.json()["points_earned"] == 150  # cosmetics x1.5 in the rules file
    r = client(api).post("/api/v1/purchases", json=sale("POS-Y", "100.00"), headers=till)
    assert r.json()["points_earned"] == 100  # the default rules of the fixture's app
