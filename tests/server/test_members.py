"""Members against the real database: profile, consents, look-ups, duplicates, merge.

Also holds the small helpers the other membership test modules share (``enrol``, ``sale``...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.fix_db import Api

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC).isoformat()
CARD = "6001000001"
EPC = "3500079FF000000400000001"


def client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def till(api: Api, register_id: str = "T1", store_id: str = "demo") -> dict[str, str]:
    return api.headers("cashier", store_id=store_id, register_id=register_id)


def enrol(
    api: Api,
    admin: dict[str, str],
    *,
    card: str | None = CARD,
    epc: str | None = EPC,
    **fields: object,
) -> int:
    body: dict[str, object] = {
        "name": "Li Wei",
        "phone": "+86 138 0000 0001",
        "email": "li@example.com",
        "consents": {"marketing": True, "in_store_tracking": True},
        **fields,
    }
    r = client(api).post("/api/v1/members", json=body, headers=admin)
    assert r.status_code == 201, r.text
    member_id: int = r.json()["member_id"]
    if card is not None:
        r = client(api).post(
            f"/api/v1/members/{member_id}/cards",
            json={"card_number": card, "epc": epc},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    return member_id


def sale(
    pos_id: str, amount: str, card: str | None = CARD, *, at: str = AT, register_id: str = "T1"
) -> dict[str, object]:
    return {
        "store_id": "demo",
        "register_id": register_id,
        "pos_id": pos_id,
        "at": at,
        "card_number": card,
        "lines": [
            {"sku": "SKU1", "counter": "C01", "category": "food", "quantity": 1, "amount": amount}
        ],
    }


def redemption(points: int, key: str, register_id: str = "T1") -> dict[str, object]:
    return {
        "points": points,
        "reason": "voucher",
        "store_id": "demo",
        "register_id": register_id,
        "idempotency_key": key,
    }


def one(db_url: str, query: str, *params: object) -> Any:
    with psycopg.connect(db_url) as c:
        row = c.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def ledger_sum(db_url: str, member_id: int) -> int:
    return int(
        one(
            db_url,
            "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE member_id IN "
            "(SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            member_id,
            member_id,
        )
    )


def test_profile_fields_and_consents_are_recorded_with_time_and_purpose(api: Api) -> None:
    admin = api.headers("admin")
    referrer = enrol(api, admin, card=None, phone="13900000000", email="ref@example.com")
    ref_no = one(api.db_url, "SELECT member_no FROM member WHERE id = %s", referrer)
    member_id = enrol(
        api,
        admin,
        birth_date="1990-05-01",
        gender="female",
        referrer_no=ref_no,
        consents={"marketing": True, "in_store_tracking": False},
    )
    with psycopg.connect(api.db_url) as c:
        row = c.execute(
            "SELECT member_no, name, phone, email, birth_date::date, gender, joined_at, "
            "referrer_id FROM member WHERE id = %s",
            (member_id,),
        ).fetchone()
        consents = c.execute(
            "SELECT purpose, granted, recorded_at IS NOT NULL, source FROM consent "
            "WHERE member_id = %s ORDER BY purpose",
            (member_id,),
        ).fetchall()
    assert row is not None
    assert row[0].startswith("M") and row[1] == "Li Wei" and row[2] == "+8613800000001"
    assert (row[3], str(row[4]), row[5], row[7]) == (
        "li@example.com",
        "1990-05-01",
        "female",
        referrer,
    )
    assert row[6] is not None
    assert consents == [
        ("in_store_tracking", False, True, "test-admin"),
        ("marketing", True, True, "test-admin"),
    ]


def test_unknown_referrer_or_purpose_is_refused(api: Api) -> None:
    admin = api.headers("admin")
    r = client(api).post("/api/v1/members", json={"name": "A", "referrer_no": "M1"}, headers=admin)
    assert r.status_code == 422 and "referrer" in r.json()["detail"]
    r = client(api).post(
        "/api/v1/members", json={"name": "A", "consents": {"spam": True}}, headers=admin
    )
    assert r.status_code == 422
    assert one(api.db_url, "SELECT count(*) FROM member") == 0


def test_same_phone_or_email_is_a_409_and_no_second_member(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    for body, field in (
        ({"name": "L. Wei", "phone": "+86-138-0000-0001"}, "phone"),
        ({"name": "L. Wei", "email": "Li@Example.com"}, "email"),
    ):
        r = client(api).post("/api/v1/members", json=body, headers=admin)
        assert r.status_code == 409, r.text
        assert r.json()["detail"] == f"a member with this {field} already exists"
    assert one(api.db_url, "SELECT count(*) FROM member") == 1
    assert one(api.db_url, "SELECT count(*) FROM consent") == 2


def test_look_up_by_card_phone_or_member_number_shows_no_contacts(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    member_no = one(api.db_url, "SELECT member_no FROM member WHERE id = %s", member_id)
    c, h = client(api), till(api)
    found = [
        c.get("/api/v1/members/lookup", params=q, headers=h)
        for q in ({"card": CARD}, {"phone": "+86 138 0000 0001"}, {"member_no": member_no})
    ]
    assert [r.status_code for r in found] == [200, 200, 200]
    bodies = [r.json() for r in found]
    assert all(b == bodies[0] for b in bodies)
    assert set(bodies[0]) == {
        "member_id",
        "member_no",
        "name",
        "tier",
        "discount_rate",
        "points_multiplier",
        "points_balance",
    }
    assert bodies[0]["tier"] == "Member" and bodies[0]["points_balance"] == 0
    assert c.get("/api/v1/members/lookup", params={"phone": "1"}, headers=h).status_code == 404
    assert c.get("/api/v1/members/lookup", headers=h).status_code == 422


def test_merge_moves_cards_purchases_points_and_visits_in_one_go(api: Api) -> None:
    admin = api.headers("admin")
    keep = enrol(api, admin)
    dup = enrol(api, admin, card="7001", epc="3500079FF000000400000070", phone="139", email=None)
    c, h = client(api), till(api)
    assert c.post("/api/v1/purchases", json=sale("M1", "100.00"), headers=h).status_code == 200
    assert (
        c.post("/api/v1/purchases", json=sale("M2", "30.00", "7001"), headers=h).status_code == 200
    )
    assert (
        c.post(f"/api/v1/members/{dup}/redemptions", json=redemption(10, "r1"), headers=h).json()[
            "points_balance"
        ]
        == 20
    )
    r = c.post(f"/api/v1/members/{dup}/merge", json={"into_member_id": keep}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["member_id"] == keep and r.json()["points_balance"] == 120
    with psycopg.connect(api.db_url) as conn:
        assert conn.execute("SELECT merged_into FROM member WHERE id = %s", (dup,)).fetchone() == (
            keep,
        )
        for table in ("card", "purchase", "points_lot"):
            assert conn.execute(
                f"SELECT count(*) FROM {table} WHERE member_id = %s", (dup,)
            ).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM card WHERE member_id = %s", (keep,)
        ).fetchone() == (2,)
        # the duplicate's tag is now the survivor's: its visits follow through the card link
        assert conn.execute(
            "SELECT member_id FROM card WHERE epc = '3500079FF000000400000070'"
        ).fetchone() == (keep,)
        lots = conn.execute(
            "SELECT sum(remaining) FROM points_lot WHERE member_id = %s", (keep,)
        ).fetchone()
    assert lots == (ledger_sum(api.db_url, keep),) == (120,)
    # the old card, the old member number and the old id all answer for the survivor
    dup_no = one(api.db_url, "SELECT member_no FROM member WHERE id = %s", dup)
    for q in ({"card": "7001"}, {"member_no": dup_no}):
        assert c.get("/api/v1/members/lookup", params=q, headers=h).json()["member_id"] == keep
    spent = c.post(f"/api/v1/members/{dup}/redemptions", json=redemption(20, "r2"), headers=h)
    assert spent.json() == {"member_id": keep, "points_balance": 100}


def test_merge_refuses_itself_unknown_or_already_merged_and_changes_nothing(api: Api) -> None:
    admin = api.headers("admin")
    a = enrol(api, admin)
    b = enrol(api, admin, card=None, phone="139", email=None)
    c = client(api)
    assert (
        c.post(f"/api/v1/members/{a}/merge", json={"into_member_id": a}, headers=admin).status_code
        == 422
    )
    assert (
        c.post(
            f"/api/v1/members/{a}/merge", json={"into_member_id": 999}, headers=admin
        ).status_code
        == 404
    )
    assert (
        c.post(f"/api/v1/members/{b}/merge", json={"into_member_id": a}, headers=admin).status_code
        == 200
    )
    again = c.post(f"/api/v1/members/{a}/merge", json={"into_member_id": b}, headers=admin)
    assert again.status_code == 409 and "already merged" in again.json()["detail"]
    assert one(api.db_url, "SELECT count(*) FROM member WHERE merged_into IS NOT NULL") == 1


def test_a_merged_records_phone_frees_up_but_a_live_one_still_blocks(api: Api) -> None:
    admin = api.headers("admin")
    keep = enrol(api, admin)
    dup = enrol(api, admin, card=None, phone="13911112222", email="dup@example.com")
    c = client(api)
    c.post(f"/api/v1/members/{dup}/merge", json={"into_member_id": keep}, headers=admin)
    again = c.post(
        "/api/v1/members", json={"name": "X", "phone": "+86 138 0000 0001"}, headers=admin
    )
    assert again.status_code == 409
    freed = c.post("/api/v1/members", json={"name": "Y", "phone": "13911112222"}, headers=admin)
    assert freed.status_code == 201
