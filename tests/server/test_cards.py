"""Cards against the real database: issue, lost, replace, and the RFID tag inside each card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.fix_db import Api
from tests.helpers.membership import (
    CARD,
    EPC,
    add_trip,
    client,
    enrol,
    linked_trip,
    one,
    sale,
    till,
)

NEW_CARD = "6001000002"
NEW_EPC = "3500079FF000000400000002"


def test_issuing_a_card_links_its_tag_to_the_member(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    with psycopg.connect(api.db_url) as c:
        assert c.execute(
            "SELECT member_id, status FROM card WHERE epc = %s", (EPC,)
        ).fetchone() == (member_id, "active")
        kind, label = c.execute(
            "SELECT kind, label FROM tag WHERE epc = %s", (EPC,)
        ).fetchone() or (
            None,
            None,
        )
    assert kind == "member_card"
    assert label is not None and CARD not in label  # never the full card number


@pytest.mark.parametrize(
    ("card", "epc", "code"),
    [(CARD, None, 409), ("6001000009", EPC, 409)],
    ids=["same number", "same tag"],
)
def test_a_card_number_or_tag_in_use_is_a_409(
    api: Api, card: str, epc: str | None, code: int
) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    other = enrol(api, admin, card=None, phone="139", email=None)
    r = client(api).post(
        f"/api/v1/members/{other}/cards", json={"card_number": card, "epc": epc}, headers=admin
    )
    assert r.status_code == code and "already in use" in r.json()["detail"]


def test_a_card_for_an_unknown_member_is_a_404(api: Api) -> None:
    r = client(api).post(
        "/api/v1/members/424242/cards", json={"card_number": "1"}, headers=api.headers("admin")
    )
    assert (r.status_code, r.json()["detail"]) == (404, "member not found")


def test_lost_card_stops_at_once_everywhere(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    c, h = client(api), till(api)
    assert c.post("/api/v1/purchases", json=sale("L1", "40.00"), headers=h).status_code == 200
    r = c.post(f"/api/v1/cards/{CARD}/lost", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "lost"
    for resp in (
        c.get(f"/api/v1/members/lookup?card={CARD}", headers=h),
        c.post("/api/v1/purchases", json=sale("L2", "10.00"), headers=h),
    ):
        assert (resp.status_code, resp.json()["detail"]) == (409, "card reported lost")
    again = c.post(f"/api/v1/cards/{CARD}/lost", headers=admin)
    assert again.status_code == 404
    # the points stay with the member, found by phone
    found = c.get("/api/v1/members/lookup", params={"phone": "+86 138 0000 0001"}, headers=h)
    assert found.json()["points_balance"] == 40


def test_replacement_keeps_member_points_and_history_and_the_old_tag_stops(api: Api) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    c, h = client(api), till(api)
    first = c.post("/api/v1/purchases", json=sale("RP1", "80.00"), headers=h).json()
    r = c.post(
        f"/api/v1/cards/{CARD}/replace",
        json={"new_card_number": NEW_CARD, "new_epc": NEW_EPC},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"member_id": member_id, "card_number": NEW_CARD, "replaces": CARD}
    old = c.get(f"/api/v1/members/lookup?card={CARD}", headers=h)
    assert old.status_code == 409
    new = c.get(f"/api/v1/members/lookup?card={NEW_CARD}", headers=h).json()
    assert (new["member_id"], new["points_balance"]) == (member_id, 80)
    with psycopg.connect(api.db_url) as conn:
        assert conn.execute(
            "SELECT status, replaced_by, ended_at IS NOT NULL FROM card WHERE card_number = %s",
            (CARD,),
        ).fetchone() == ("replaced", NEW_CARD, True)
        assert conn.execute(
            "SELECT member_id, card_number FROM purchase WHERE id = %s", (first["purchase_id"],)
        ).fetchone() == (member_id, CARD)
    # the old tag seen on the floor after the replacement no longer identifies the member;
    # the new tag does
    now = datetime.now(UTC)
    add_trip(api.db_url, EPC, now + timedelta(minutes=1), now + timedelta(minutes=20))
    sold = now + timedelta(minutes=10)
    p = c.post(
        "/api/v1/purchases", json=sale("RP2", "5.00", NEW_CARD, at=sold.isoformat()), headers=h
    )
    assert p.status_code == 200 and linked_trip(api.db_url, p.json()["purchase_id"]) is None
    trip = add_trip(api.db_url, NEW_EPC, now + timedelta(minutes=30), now + timedelta(minutes=40))
    sold = now + timedelta(minutes=50)  # the trip ended 10 min before the sale
    p = c.post(
        "/api/v1/purchases", json=sale("RP3", "5.00", NEW_CARD, at=sold.isoformat()), headers=h
    )
    assert linked_trip(api.db_url, p.json()["purchase_id"]) == trip


def test_old_tag_trip_before_the_replacement_still_links(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    start = datetime.now(UTC) - timedelta(hours=2)
    trip = add_trip(api.db_url, EPC, start, start + timedelta(minutes=30))
    client(api).post(
        f"/api/v1/cards/{CARD}/replace",
        json={"new_card_number": NEW_CARD, "new_epc": NEW_EPC},
        headers=admin,
    )
    at = (start + timedelta(minutes=25)).isoformat()
    p = client(api).post(
        "/api/v1/purchases", json=sale("H1", "5.00", NEW_CARD, at=at), headers=till(api)
    )
    assert linked_trip(api.db_url, p.json()["purchase_id"]) == trip


def test_a_failed_replacement_leaves_the_old_card_working(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    enrol(api, admin, card="7001", epc=None, phone="139", email=None)
    r = client(api).post(
        f"/api/v1/cards/{CARD}/replace", json={"new_card_number": "7001"}, headers=admin
    )
    assert r.status_code == 409
    still = client(api).get(f"/api/v1/members/lookup?card={CARD}", headers=till(api))
    assert still.status_code == 200
    assert one(api.db_url, "SELECT status FROM card WHERE card_number = %s", CARD) == "active"


def test_a_lost_tag_stays_stopped_from_the_loss_when_the_card_is_later_replaced(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)
    c = client(api)
    c.post(f"/api/v1/cards/{CARD}/lost", headers=admin)
    lost_at = datetime.now(UTC) - timedelta(days=1)
    with psycopg.connect(api.db_url) as conn:  # the card was reported lost a day ago
        conn.execute("UPDATE card SET ended_at = %s WHERE card_number = %s", (lost_at, CARD))
    found = lost_at + timedelta(hours=2)  # someone else carries the lost card round the store
    add_trip(api.db_url, EPC, found, found + timedelta(minutes=30))
    c.post(
        f"/api/v1/cards/{CARD}/replace",
        json={"new_card_number": NEW_CARD, "new_epc": NEW_EPC},
        headers=admin,
    )
    at = (found + timedelta(minutes=20)).isoformat()
    p = c.post("/api/v1/purchases", json=sale("X1", "5.00", NEW_CARD, at=at), headers=till(api))
    assert linked_trip(api.db_url, p.json()["purchase_id"]) is None


def test_a_card_issued_to_a_merged_record_goes_to_the_survivor(api: Api) -> None:
    admin = api.headers("admin")
    keep = enrol(api, admin)
    dup = enrol(api, admin, card=None, phone="139", email=None)
    c = client(api)
    c.post(f"/api/v1/members/{dup}/merge", json={"into_member_id": keep}, headers=admin)
    r = c.post(f"/api/v1/members/{dup}/cards", json={"card_number": "8001"}, headers=admin)
    assert r.status_code in (201, 409)
    if r.status_code == 201:
        looked = c.get("/api/v1/members/lookup?card=8001", headers=till(api)).json()
        assert looked["member_id"] == keep
