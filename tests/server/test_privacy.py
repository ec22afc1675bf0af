"""Data rights against the real database: consents and their enforcement, the member's copy,
erasure, the contact list, profiling and the access log."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from server.privacy.consent import Choice, Purpose, decide
from server.privacy.contacts import marketing_contacts
from tests.fix_db import Api
from tests.helpers.ingest import load_layout, post
from tests.helpers.membership import CARD, EPC, client, enrol, one, redemption, till
from tests.helpers.privacy import linked, sale_at, set_consent, visits

T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("purpose", "choice", "erased", "allowed"),
    [
        (Purpose.IN_STORE_TRACKING, None, False, False),
        (Purpose.MARKETING, None, False, False),
        (Purpose.PROFILING, None, False, True),
        (Purpose.IN_STORE_TRACKING, True, False, True),
        (Purpose.PROFILING, False, False, False),
        (Purpose.MARKETING, True, True, False),
    ],
    ids=["tracking opt-in", "marketing opt-in", "profiling opt-out", "given", "objected", "erased"],
)
def test_the_consent_rule(
    purpose: Purpose, choice: bool | None, erased: bool, allowed: bool
) -> None:
    c = None if choice is None else Choice(choice, T0)
    assert decide(purpose, c, erased=erased) is allowed


def test_withdrawing_tracking_unlinks_past_trips_and_the_next_sale(api: Api) -> None:
    load_layout(api)
    member_id = enrol(api, api.headers("admin"))
    edge = api.token("edge", store_id="demo")
    post(api, visits(EPC, start=T0), edge)
    first = client(api).post(
        "/api/v1/purchases", json=sale_at("S1", T0 + timedelta(seconds=250)), headers=till(api)
    )
    assert linked(api.db_url, first.json()["purchase_id"])

    changed = set_consent(api, member_id, "in_store_tracking", False)
    assert changed["allowed"] is False
    assert changed["effects"] == {"visits": 6, "trips": 1, "sales_unlinked": 1}
    assert not linked(api.db_url, first.json()["purchase_id"])
    # the floor data stays, under a pseudonym nothing links to the member
    assert one(api.db_url, "SELECT count(*) FROM zone_visit WHERE epc = %s", EPC) == 0
    assert one(api.db_url, "SELECT count(*) FROM zone_visit") == 6
    assert one(api.db_url, "SELECT count(*) FROM trip WHERE epc <> %s", EPC) == 1

    later = T0 + timedelta(hours=3)
    post(api, visits(EPC, start=later), edge)
    assert one(api.db_url, "SELECT count(*) FROM zone_visit WHERE epc = %s", EPC) == 0
    assert one(api.db_url, "SELECT count(*) FROM trip") == 2
    second = client(api).post(
        "/api/v1/purchases", json=sale_at("S2", later + timedelta(seconds=250)), headers=till(api)
    )
    assert second.status_code == 200 and not linked(api.db_url, second.json()["purchase_id"])

    got = client(api).get(f"/api/v1/members/{member_id}/consents", headers=till(api)).json()
    now = {c["purpose"]: c["allowed"] for c in got["consents"]}
    assert now == {"in_store_tracking": False, "marketing": True, "profiling": True}
    assert [(h["purpose"], h["granted"], h["channel"]) for h in got["history"]][-1] == (
        "in_store_tracking",
        False,
        "desk",
    )


def test_a_member_who_never_consented_is_counted_as_an_anonymous_tag(api: Api) -> None:
    load_layout(api)
    enrol(api, api.headers("admin"), consents={"marketing": True})
    post(api, visits(EPC, start=T0), api.token("edge", store_id="demo"))
    assert one(api.db_url, "SELECT count(*) FROM zone_visit WHERE epc = %s", EPC) == 0
    assert one(api.db_url, "SELECT count(DISTINCT epc) FROM zone_visit") == 1
    assert one(api.db_url, "SELECT count(*) FROM trip WHERE tag_kind = 'member_card'") == 1
    s = client(api).post(
        "/api/v1/purchases", json=sale_at("S1", T0 + timedelta(seconds=250)), headers=till(api)
    )
    assert not linked(api.db_url, s.json()["purchase_id"])


def test_export_holds_everything_and_every_read_is_logged(api: Api) -> None:
    load_layout(api)
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    post(api, visits(EPC, start=T0), api.token("edge", store_id="demo"))
    client(api).post(
        "/api/v1/purchases", json=sale_at("S1", T0 + timedelta(seconds=250)), headers=till(api)
    )
    r = client(api).get(f"/api/v1/members/{member_id}/export", headers=admin)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["profile"]["name"] == "Li Wei" and data["profile"]["phone"] == "+8613800000001"
    assert [c["card_number"] for c in data["cards"]] == [CARD]
    assert len(data["purchases"]) == 1 and data["purchases"][0]["trip_id"] is not None
    assert len(data["visits"]) == 6 and len(data["trips"]) == 1
    assert sum(e["points"] for e in data["points_entries"]) == 100
    assert {h["purpose"] for h in data["consent_history"]} == {"marketing", "in_store_tracking"}
    z = client(api).get(f"/api/v1/members/{member_id}/export?format=zip", headers=admin)
    assert z.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(z.content))
    assert {"profile.csv", "purchases.csv", "visits.csv", "points_entries.csv"} <= set(
        files.namelist()
    )
    assert "Li Wei" in files.read("profile.csv").decode()
    assert len(files.read("visits.csv").decode().strip().splitlines()) == 7  # header + 6

    assert (
        client(api).get(f"/api/v1/members/{member_id}/export", headers=till(api)).status_code == 403
    )
    planner = api.headers("planner")
    assert client(api).get("/api/v1/privacy/access-log", headers=planner).status_code == 403
    log = client(api).get(f"/api/v1/privacy/access-log?member_id={member_id}", headers=admin)
    assert [(e["endpoint"], e["role"]) for e in log.json()] == [
        ("GET /members/{id}/export (zip)", "admin"),
        ("GET /members/{id}/export (json)", "admin"),
    ]


def test_erasure_leaves_nothing_personal_and_the_accounts_balanced(api: Api) -> None:
    load_layout(api)
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    twin = enrol(
        api, admin, card="6001000009", epc="3500079FF000000400000009", phone="139", email=None
    )
    edge = api.token("edge", store_id="demo")
    post(api, visits(EPC, start=T0), edge)
    h = till(api)
    client(api).post(
        "/api/v1/purchases", json=sale_at("S1", T0 + timedelta(seconds=250)), headers=h
    )
    client(api).post("/api/v1/purchases", json=sale_at("S2", T0, card="6001000009"), headers=h)
    client(api).post(
        f"/api/v1/members/{member_id}/redemptions", json=redemption(30, "R1"), headers=h
    )
    m = client(api).post(
        f"/api/v1/members/{twin}/merge", json={"into_member_id": member_id}, headers=admin
    )
    assert m.status_code == 200, m.text
    ledger_before = one(api.db_url, "SELECT array_agg(points ORDER BY id)::text FROM points_ledger")
    with psycopg.connect(api.db_url) as c:
        c.execute("UPDATE rollup_day SET dirty_since = NULL")  # stand-in for computed facts
        c.execute(
            "INSERT INTO fact_hour (store_id, day, hour, segment, entries) "
            "VALUES ('demo', '2026-11-02', 11, 'Member', 1)"
        )

    r = client(api).post(f"/api/v1/members/{twin}/erase", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["member_id"], r.json()["records"], r.json()["cards"]) == (member_id, 2, 2)
    assert r.json()["already_erased"] is False

    data = client(api).get(f"/api/v1/members/{member_id}/export", headers=admin).json()
    text = json.dumps(data)
    for personal in ("Li Wei", "138000", "139", "li@example.com", CARD, EPC, "6001000009"):
        assert personal not in text, personal
    assert set(data) == {"generated_at", "member_id", "erased_at", "note"}
    # the old card is an unknown card, the old tag nobody's
    looked = client(api).get(f"/api/v1/members/lookup?card={CARD}", headers=h)
    assert looked.status_code == 404 and looked.json()["detail"] == "card not found"
    post(api, visits(EPC, start=T0 + timedelta(days=1)), edge)
    with psycopg.connect(api.db_url) as c:
        for table, col in (("zone_visit", "epc"), ("trip", "epc"), ("card", "epc"), ("tag", "epc")):
            n = c.execute(f"SELECT count(*) FROM {table} WHERE {col} = %s", (EPC,)).fetchone()
            assert n == (0,), table
        for table in ("card", "purchase", "card_scan"):
            n = c.execute(
                f"SELECT count(*) FROM {table} WHERE card_number IN (%s, '6001000009')", (CARD,)
            ).fetchone()
            assert n == (0,), table
        assert c.execute(
            "SELECT count(*) FROM member WHERE name <> 'erased' OR phone IS NOT NULL "
            "OR email IS NOT NULL OR erased_at IS NULL"
        ).fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM zone_visit").fetchone() == (12,)
        # the ledger is untouched, entry for entry, and balances still add up
        after = c.execute(
            "SELECT array_agg(points ORDER BY id)::text FROM points_ledger"
        ).fetchone()
        assert after == (ledger_before,)
        assert c.execute(
            "SELECT (SELECT sum(points) FROM points_ledger) = "
            "(SELECT sum(remaining) FROM points_lot) - coalesce((SELECT -sum(points) FROM "
            "points_ledger WHERE lot_id IS NULL), 0)"
        ).fetchone() == (True,)
        assert c.execute("SELECT sum(entries) FROM fact_hour").fetchone() == (1,)
        req = c.execute(
            "SELECT kind, requested_by, completed_at IS NOT NULL FROM privacy_request"
        ).fetchall()
    assert req == [("erasure", "test-admin", True)]
    again = client(api).post(f"/api/v1/members/{member_id}/erase", headers=admin)
    assert again.json()["already_erased"] is True
    assert (
        client(api)
        .put(
            f"/api/v1/members/{member_id}/consents/marketing",
            json={"granted": True},
            headers=admin,
        )
        .status_code
        == 409
    )


def test_only_members_who_consented_to_marketing_are_in_a_contact_list(api: Api) -> None:
    admin = api.headers("admin")
    yes = enrol(api, admin, card=None, consents={"marketing": True})
    enrol(api, admin, card=None, phone="139", email="b@example.com", consents={"marketing": False})
    enrol(api, admin, card=None, phone="137", email="c@example.com", consents={})

    async def contacts() -> list[int]:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            return [c.member_id for c in await marketing_contacts(conn)]

    assert asyncio.run(contacts()) == [yes]
    set_consent(api, yes, "marketing", False)
    assert asyncio.run(contacts()) == []


def test_an_objection_to_profiling_blanks_scores_and_alerts_but_keeps_totals(api: Api) -> None:
    from server.queries.facts import Selection
    from server.queries.members_view import lapse

    admin = api.headers("admin")
    member_id = enrol(api, admin, card=None)
    as_of = datetime(2026, 11, 3, tzinfo=UTC)
    with psycopg.connect(api.db_url) as c:
        c.execute(
            "INSERT INTO member_status_run (store_id, as_of, last_purchase_id, bgnbd) "
            "VALUES ('demo', %s, 0, '{}')",
            (as_of,),
        )
        c.execute(
            "INSERT INTO member_status (store_id, as_of, member_id, tier, age_band, gender, "
            "primary_class, is_core, is_referrer, referred_buyers, purchases_ever, "
            "purchases_window, sales_window, last_purchase_at, purchase_days, days_since, "
            "median_interval_days, p_alive, rfm_segment) VALUES ('demo', %s, %s, 'Member', "
            "'unknown', 'unknown', 'loyal', true, false, 0, 5, 5, 500, %s, 5, 90, 10, 0.2, "
            "'At risk')",
            (as_of, member_id, as_of - timedelta(days=90)),
        )
    sel = Selection(
        store_id="demo",
        first=as_of.date() - timedelta(days=1),
        last=as_of.date() - timedelta(days=1),
        tz="UTC",
    )

    async def alerts() -> list[str]:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            got = await lapse(conn, sel, factor=2, min_purchases=2, max_p_alive=1, limit=10)
            return [a.member_no for a in got]

    assert len(asyncio.run(alerts())) == 1
    changed = set_consent(api, member_id, "profiling", False)
    assert changed["effects"] == {"member_figures": 1}
    assert asyncio.run(alerts()) == []
    with psycopg.connect(api.db_url) as c:
        row = c.execute(
            "SELECT primary_class, p_alive, rfm_segment, sales_window FROM member_status"
        ).fetchone()
    assert row == ("unprofiled", None, None, 500.0)
