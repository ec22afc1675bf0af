"""Customer care's member search, profile and edit against the real database; who may see
personal data (crm and admin) and who may not (planner, cashier)."""

from __future__ import annotations

import psycopg

from tests.fix_db import Api
from tests.helpers.crm import crm
from tests.helpers.membership import CARD, client, enrol, sale, till


def test_search_by_member_number_phone_card_and_name(api: Api) -> None:
    admin, care = api.headers("admin"), crm(api)
    li = enrol(api, admin)
    enrol(api, admin, card=None, name="Li Na", phone="13900000002", email="na@example.com")
    enrol(api, admin, card=None, name="Zhang San", phone="13900000003", email="z@example.com")
    c = client(api)
    member_no = c.get(f"/api/v1/members/{li}", headers=care).json()["member_no"]

    def hits(query: str) -> list[tuple[str, str]]:
        r = c.get("/api/v1/members", params={"query": query}, headers=care)
        assert r.status_code == 200, r.text
        return [(h["name"], h["matched_on"]) for h in r.json()]

    assert hits(member_no) == [("Li Wei", "member_no")]
    assert hits(member_no.lower()) == [("Li Wei", "member_no")]
    assert hits("+86 138-0000-0001") == [("Li Wei", "phone")]
    assert hits(CARD) == [("Li Wei", "card")]
    assert hits("li ") == [("Li Na", "name"), ("Li Wei", "name")]
    assert hits("nobody") == []
    assert c.get("/api/v1/members", params={"query": "%"}, headers=care).status_code == 422


def test_personal_data_is_for_crm_and_admin_only(api: Api) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    c = client(api)
    for role_headers in (api.headers("planner"), till(api)):
        assert (
            c.get("/api/v1/members", params={"query": "Li"}, headers=role_headers).status_code
            == 403
        )
        assert c.get(f"/api/v1/members/{member_id}", headers=role_headers).status_code == 403
        r = c.patch(f"/api/v1/members/{member_id}", json={"name": "X"}, headers=role_headers)
        assert r.status_code == 403
    assert c.get(f"/api/v1/members/{member_id}").status_code == 401
    for ok in (crm(api), admin):
        assert c.get(f"/api/v1/members/{member_id}", headers=ok).status_code == 200


def test_profile_shows_cards_tier_points_purchases_and_consent(api: Api) -> None:
    admin, care = api.headers("admin"), crm(api)
    member_id = enrol(api, admin)
    c = client(api)
    assert (
        c.post("/api/v1/purchases", json=sale("P1", "120.00"), headers=till(api)).status_code == 200
    )
    p = c.get(f"/api/v1/members/{member_id}", headers=care).json()
    assert (p["name"], p["phone"], p["email"], p["tier"]) == (
        "Li Wei",
        "+8613800000001",
        "li@example.com",
        "Member",
    )
    assert p["points_balance"] == 120 and p["may_contact"] is True
    assert [(k["card_number"], k["status"]) for k in p["cards"]] == [(CARD, "active")]
    assert [(x["total"], x["points_earned"]) for x in p["purchases"]] == [("120.00", 120)]
    # a withdrawn marketing consent (the latest row counts) stops contact
    with psycopg.connect(api.db_url) as conn:
        conn.execute(
            "INSERT INTO consent (member_id, purpose, granted, source) "
            "VALUES (%s, 'marketing', false, 'test')",
            (member_id,),
        )
    assert c.get(f"/api/v1/members/{member_id}", headers=care).json()["may_contact"] is False
    assert c.get("/api/v1/members/999999", headers=care).status_code == 404


def test_edit_changes_only_the_fields_given(api: Api) -> None:
    admin, care = api.headers("admin"), crm(api)
    member_id = enrol(api, admin)
    other = enrol(api, admin, card=None, name="Other", phone="13900000009", email="o@example.com")
    c = client(api)
    r = c.patch(
        f"/api/v1/members/{member_id}",
        json={"phone": "139 0000 0005", "email": None, "birth_date": "1990-05-01"},
        headers=care,
    )
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["name"], p["phone"], p["email"], p["birth_date"], p["gender"]) == (
        "Li Wei",
        "13900000005",
        None,
        "1990-05-01",
        "unknown",
    )
    # another member's phone is a conflict, and nothing changes
    r = c.patch(f"/api/v1/members/{other}", json={"phone": "13900000005"}, headers=care)
    assert r.status_code == 409
    assert c.get(f"/api/v1/members/{other}", headers=care).json()["phone"] == "13900000009"
    assert (
        c.patch(f"/api/v1/members/{member_id}", json={"name": None}, headers=care).status_code
        == 422
    )
    assert c.patch("/api/v1/members/999999", json={"name": "X"}, headers=care).status_code == 404


def test_an_admin_mints_a_crm_credential(api: Api) -> None:
    c = client(api)
    r = c.post(
        "/api/v1/credentials",
        json={"name": "care-desk", "role": "crm"},
        headers=api.headers("admin"),
    )
    assert r.status_code == 201, r.text
    care = {"Authorization": f"Bearer {r.json()['token']}"}
    assert c.get("/api/v1/members", params={"query": "nobody"}, headers=care).json() == []
    # a crm credential is not an admin: it cannot enrol members or mint credentials
    assert c.post("/api/v1/members", json={"name": "X"}, headers=care).status_code == 403
    r = c.post("/api/v1/credentials", json={"name": "x", "role": "admin"}, headers=care)
    assert r.status_code == 403
