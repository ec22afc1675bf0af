"""Triggered contacts against the real database, through the API: rules as data, runs (consent,
cooldown, frequency cap, hold-out; one per rule and day), each rule kind on planted data, the
contact list as JSON and CSV, the outbox and its delivery, who may do what."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from tests.fix_db import Api
from tests.helpers.campaigns import add_members, listed, put_rule, run
from tests.helpers.crm import crm
from tests.helpers.ingest import load_layout
from tests.helpers.membership import client, enrol, sale, till
from tests.helpers.privacy import set_consent

BIRTH = date(1990, 6, 15)
DAY = date(2026, 6, 15)


def _members_of(rows: list[dict[str, Any]], group: str) -> set[int]:
    return {r["member_id"] for r in rows if r["group"] == group}


def test_rules_are_data_and_bad_ones_are_refused(api: Api) -> None:
    load_layout(api)
    care, c = crm(api), client(api)
    rule_id = put_rule(api, care, name="Birthday", kind="birthday", days_before=3)
    r = c.get(f"/api/v1/campaigns/rules/{rule_id}", headers=care)
    assert r.json()["rule"]["days_before"] == 3 and r.json()["rule"]["holdout_share"] == "0.2"
    # the same name changes the rule
    assert put_rule(api, care, name="Birthday", kind="birthday", days_before=5) == rule_id
    rules = c.get("/api/v1/campaigns/rules", headers=care).json()
    assert [(x["rule_id"], x["rule"]["days_before"]) for x in rules] == [(rule_id, 5)]
    bad = [
        ({"kind": "lapse"}, 422, "a lapse rule runs for one store"),
        ({"kind": "lapse", "store_id": "nowhere"}, 422, "store 'nowhere' does not exist"),
        (
            {"kind": "browsed_not_bought", "store_id": "demo", "counter": "C99"},
            422,
            "has no counter 'C99'",
        ),
        ({"kind": "birthday", "days_befor": 3}, 422, "days_befor"),
    ]
    for body, status, says in bad:
        r = c.put(
            "/api/v1/campaigns/rules", json={"name": "x", "message": "m", **body}, headers=care
        )
        assert r.status_code == status and says in r.text, r.text
    assert c.get(f"/api/v1/campaigns/rules/{rule_id + 99}", headers=care).status_code == 404
    planner = api.headers("planner")
    assert c.get("/api/v1/campaigns/rules", headers=planner).status_code == 403
    assert c.get("/api/v1/campaigns/rules", headers=till(api)).status_code == 403


def test_the_rules_file_loads_and_a_bad_one_names_its_line(api: Api) -> None:
    load_layout(api)
    care, c = crm(api), client(api)
    text = Path("config/campaigns.example.yaml").read_bytes()
    yaml_type = {**care, "Content-Type": "application/yaml"}
    r = c.post("/api/v1/campaigns/rules/import", content=text, headers=yaml_type)
    assert r.status_code == 200, r.text
    assert len(r.json()["rules"]) == 6
    assert r.json()["frequency_cap"] == {"contacts": 2, "days": 14}
    assert c.get("/api/v1/campaigns/cap", headers=care).json() == {"contacts": 2, "days": 14}
    again = c.post("/api/v1/campaigns/rules/import", content=text, headers=yaml_type)
    assert [x["rule_id"] for x in again.json()["rules"]] == [
        x["rule_id"] for x in r.json()["rules"]
    ]
    broken = b"rules:\n  - name: x\n    kind: birthday\n    message: hi\n    span_dayz: 3\n"
    r = c.post("/api/v1/campaigns/rules/import", content=broken, headers=yaml_type)
    assert r.status_code == 422 and "campaigns:5" in r.text and "span_dayz" in r.text, r.text
    r = c.post("/api/v1/campaigns/rules/import", content=b"{", headers=care)
    assert r.status_code == 422


def test_a_run_honours_consent_keeps_a_holdout_and_is_made_once(api: Api) -> None:
    care, c = crm(api), client(api)
    granted = [i % 4 != 0 for i in range(40)]  # every 4th member refused marketing
    ids = add_members(api.db_url, 40, prefix="B", birth_date=BIRTH, marketing=granted)
    no_phone = add_members(api.db_url, 2, prefix="N", birth_date=BIRTH, phone=False)
    add_members(api.db_url, 5, prefix="O", birth_date=date(1990, 6, 16))  # another day
    rule_id = put_rule(
        api, care, name="Birthday today", kind="birthday", days_before=0, holdout_share=0.25
    )
    r = c.post("/api/v1/campaigns/runs", json={"rule_id": rule_id, "as_of": str(DAY)}, headers=care)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["created"] is True and made["counts"] == {
        "selected": 42,
        "not_tracked": 0,
        "not_contactable": 12,  # 10 refused, 2 without phone or e-mail
        "cooled_down": 0,
        "capped": 0,
        "contacted": 23,
        "held_out": 7,
    }
    rows = listed(api, care, made["run_id"])
    allowed = {m for m, g in zip(ids, granted, strict=True) if g}
    assert _members_of(rows, "contacted") | _members_of(rows, "held_out") == allowed
    assert not (set(no_phone) & {r["member_id"] for r in rows})
    assert all(r["reason"] == "birthday on 2026-06-15" for r in rows)
    assert all(r["message"] == "Hello from the store" and r["phone"] for r in rows)
    # the same rule and day again: the run made before, unchanged
    again = c.post(
        "/api/v1/campaigns/runs",
        json={"rule_id": rule_id, "as_of": str(DAY), "seed": 5},
        headers=care,
    )
    assert again.status_code == 200 and again.json()["run_id"] == made["run_id"]
    assert again.json()["seed"] == made["seed"] and again.json()["created"] is False
    assert listed(api, care, made["run_id"]) == rows
    # the default list is the one to send; CSV for the messaging service
    send = c.get(f"/api/v1/campaigns/runs/{made['run_id']}/contacts", headers=care).json()
    assert {r["member_id"] for r in send} == _members_of(rows, "contacted")
    r = c.get(
        f"/api/v1/campaigns/runs/{made['run_id']}/contacts",
        params={"format": "csv", "group": "held_out"},
        headers=care,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert {int(x["member_id"]) for x in table} == _members_of(rows, "held_out")
    assert {x["group"] for x in table} == {"held_out"} and "phone" in table[0]
    # every listed member's read is in the access log
    with psycopg.connect(api.db_url) as conn:
        logged = conn.execute(
            "SELECT count(DISTINCT member_id) FROM privacy_access_log "
            "WHERE endpoint LIKE 'GET /campaigns/runs/{id}/contacts%%'"
        ).fetchone()
    assert logged == (30,)
    runs = c.get("/api/v1/campaigns/runs", params={"rule_id": rule_id}, headers=care).json()
    assert [x["run_id"] for x in runs] == [made["run_id"]]
    assert c.get(f"/api/v1/campaigns/runs/{made['run_id']}", headers=care).json() == {
        **made,
        "created": False,
    }


def test_runs_refuse_what_cannot_be_run(api: Api) -> None:
    care, c = crm(api), client(api)
    rule_id = put_rule(api, care, name="Off", kind="birthday", active=False)
    for body, status in (
        ({"rule_id": rule_id, "as_of": str(DAY)}, 409),
        ({"rule_id": rule_id + 50, "as_of": str(DAY)}, 404),
        ({"rule_id": rule_id, "as_of": "1899-01-01"}, 422),
        ({"rule_id": rule_id, "as_of": "someday"}, 422),
        ({"rule_id": 0, "as_of": str(DAY)}, 422),
    ):
        r = c.post("/api/v1/campaigns/runs", json=body, headers=care)
        assert r.status_code == status and r.json()["detail"], (body, r.text)
    assert c.get("/api/v1/campaigns/runs/999/contacts", headers=care).status_code == 404
    assert c.get("/api/v1/campaigns/runs/999/uplift", headers=care).status_code == 404
    r = c.post(
        "/api/v1/campaigns/runs",
        json={"rule_id": rule_id, "as_of": str(DAY)},
        headers=api.headers("planner"),
    )
    assert r.status_code == 403


def test_cooldown_and_frequency_cap_across_rules(api: Api) -> None:
    care, c = crm(api), client(api)
    add_members(api.db_url, 10, prefix="C", birth_date=BIRTH)
    cap = {"contacts": 1, "days": 7}
    assert c.put("/api/v1/campaigns/cap", json=cap, headers=care).json() == cap
    week = put_rule(
        api,
        care,
        name="Birthday week",
        kind="birthday",
        days_before=0,
        span_days=7,
        holdout_share=0,
        cooldown_days=30,
    )
    assert run(api, care, week, date(2026, 6, 12))["counts"]["contacted"] == 10
    # the same rule three days later: everyone was picked within its cooldown
    later = run(api, care, week, date(2026, 6, 15))["counts"]
    assert (later["selected"], later["cooled_down"], later["contacted"]) == (10, 10, 0)
    # another rule two days after the first contact: everyone has had the one the cap allows
    eve = put_rule(api, care, name="Birthday eve", kind="birthday", days_before=1, holdout_share=0)
    capped = run(api, care, eve, date(2026, 6, 14))["counts"]
    assert (capped["capped"], capped["contacted"]) == (10, 0)
    # a year on, the cap's window has long passed
    assert run(api, care, eve, date(2027, 6, 14))["counts"]["contacted"] == 10
    # held-out members were not contacted, so they do not count against the cap
    half = put_rule(api, care, name="Half", kind="birthday", days_before=0, holdout_share=0.5)
    split = run(api, care, half, date(2028, 6, 15))
    held = _members_of(listed(api, care, split["run_id"]), "held_out")
    assert 0 < len(held) < 10
    nxt = run(api, care, eve, date(2028, 6, 14))
    assert nxt["counts"]["capped"] == 10 - len(held)
    assert _members_of(listed(api, care, nxt["run_id"]), "contacted") == held


def test_browsed_not_bought_needs_tracking_consent(api: Api) -> None:
    load_layout(api)
    care = crm(api)
    tracking = [True, True, True, False]
    ids = add_members(api.db_url, 4, prefix="W", tracking=tracking)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    with psycopg.connect(api.db_url) as conn:
        for n, member_id in enumerate(ids):
            epc = f"3500079FF0000004000009{n:02d}"
            conn.execute(
                "INSERT INTO card (card_number, member_id, epc) VALUES (%s, %s, %s)",
                (f"77000000{n:02d}", member_id, epc),
            )
            # three visits to the watch counter (C06), long enough; one short one
            for k, dwell in enumerate((90, 120, 75, 20)):
                enter = start - timedelta(days=2 + k, hours=3)
                conn.execute(
                    "INSERT INTO zone_visit (event_id, store_id, zone, epc, tag_kind, enter_at, "
                    "exit_at, reads, mean_rssi_dbm, reader_id, device_id) VALUES "
                    "(gen_random_uuid(), 'demo', 'C06', %s, 'member_card', %s, %s, 5, -60, "
                    "'R1', 'edge-1')",
                    (epc, enter, enter + timedelta(seconds=dwell)),
                )
    # member 2 bought at the counter once: not "never bought there"
    with psycopg.connect(api.db_url) as conn:
        conn.execute(
            "INSERT INTO purchase (store_id, register_id, pos_id, at, member_id, total, "
            "recorded_by) VALUES ('demo', 'T1', 'W1', %s, %s, 900, 'test')",
            (start - timedelta(days=40), ids[1]),
        )
        conn.execute(
            "INSERT INTO purchase_line (purchase_id, line_no, sku, counter, category, quantity, "
            "amount, points) SELECT id, 1, 'W', 'C06', 'jewellery', 1, 900, 900 FROM purchase "
            "WHERE pos_id = 'W1'"
        )
    rule_id = put_rule(
        api,
        care,
        name="Watches",
        kind="browsed_not_bought",
        store_id="demo",
        counter="C06",
        min_visits=3,
        days=30,
        min_dwell_s=60,
        holdout_share=0,
    )
    made = run(api, care, rule_id, DAY)
    assert made["counts"] == {
        "selected": 3,  # members 1, 3 and 4 (member 2 bought there)
        "not_tracked": 1,  # member 4 refused in-store tracking
        "not_contactable": 0,
        "cooled_down": 0,
        "capped": 0,
        "contacted": 2,
        "held_out": 0,
    }
    rows = listed(api, care, made["run_id"])
    assert [(r["member_id"], r["reason"]) for r in rows] == [
        (ids[0], "3 visits to C06 in 30 days, never bought there"),
        (ids[2], "3 visits to C06 in 30 days, never bought there"),
    ]
    fewer = put_rule(
        api,
        care,
        name="Watches 4",
        kind="browsed_not_bought",
        store_id="demo",
        min_visits=4,
        min_dwell_s=10,
    )
    # any counter, and the short visit counts: 4 visits each, member 2 still bought at C06
    assert run(api, care, fewer, DAY)["counts"]["selected"] == 3


def test_points_tiers_anniversaries_and_lapses_pick_their_members(api: Api) -> None:
    load_layout(api)
    admin, care, cashier, c = api.headers("admin"), crm(api), till(api), client(api)
    bought = datetime(2025, 5, 6, 12, tzinfo=UTC)
    big = enrol(
        api,
        admin,
        card="6000000001",
        epc=None,
        name="Big",
        phone="13900000001",
        email="big@example.com",
    )
    small = enrol(
        api,
        admin,
        card="6000000002",
        epc=None,
        name="Small",
        phone="13900000002",
        email="small@example.com",
    )
    for pos, amount, card in (("A1", "4000.00", "6000000001"), ("A2", "300.00", "6000000002")):
        r = c.post(
            "/api/v1/purchases",
            json=sale(pos, amount, card, at=bought.isoformat()),
            headers=cashier,
        )
        assert r.status_code == 200, r.text
    # points: earned 2025-05-06, they expire 12 months later
    points = put_rule(
        api,
        care,
        name="Points",
        kind="points_expiring",
        within_days=30,
        min_points=1000,
        holdout_share=0,
    )
    made = run(api, care, points, date(2026, 4, 20))
    assert [r["member_id"] for r in listed(api, care, made["run_id"])] == [big]
    assert listed(api, care, made["run_id"])[0]["reason"].startswith("4000 points expire")
    # near the next tier: 4000 of Silver's 5000
    near = put_rule(
        api, care, name="Near", kind="near_tier", within_amount="1500.00", holdout_share=0
    )
    made = run(api, care, near, date(2025, 6, 1))
    assert [(r["member_id"], r["reason"]) for r in listed(api, care, made["run_id"])] == [
        (big, "1000.00 short of Silver (12-month spend 4000.00)")
    ]
    # a year on the spend has left the 12 months
    assert run(api, care, near, date(2026, 6, 1))["counts"]["selected"] == 0
    # bought food (the sale helper's category) around 6 May: remind them a week before
    gifts = put_rule(
        api,
        care,
        name="Gifts",
        kind="purchase_anniversary",
        category="Food",
        days_before=7,
        tolerance_days=3,
        holdout_share=0,
    )
    made = run(api, care, gifts, date(2026, 5, 1))  # target 8 May, 2 days off
    rows = listed(api, care, made["run_id"])
    assert {r["member_id"] for r in rows} == {big, small}
    assert rows[0]["reason"] == "bought Food on 2025-05-06, before 08 May"
    assert run(api, care, gifts, date(2026, 5, 3))["counts"]["selected"] == 0  # 4 days off
    at_counter = put_rule(
        api,
        care,
        name="Gifts C02",
        kind="purchase_anniversary",
        store_id="demo",
        counter="C02",
        holdout_share=0,
    )
    assert run(api, care, at_counter, date(2026, 5, 1))["counts"]["selected"] == 0
    # lapse: weekly buyers, then silence
    regular = enrol(
        api,
        admin,
        card="6000000003",
        epc=None,
        name="Regular",
        phone="13900000003",
        email="r@example.com",
    )
    for k in range(5):
        at = datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(days=7 * k)
        r = c.post(
            "/api/v1/purchases",
            json=sale(f"L{k}", "50.00", "6000000003", at=at.isoformat()),
            headers=cashier,
        )
        assert r.status_code == 200, r.text
    with psycopg.connect(api.db_url) as conn:  # member figures count members who had joined
        conn.execute("UPDATE member SET joined_at = '2024-01-01T00:00:00Z'")
    lapse = put_rule(api, care, name="Lapse", kind="lapse", store_id="demo", holdout_share=0)
    made = run(api, care, lapse, date(2026, 5, 1))  # 32 days since, usually 7
    rows = listed(api, care, made["run_id"])
    assert [r["member_id"] for r in rows] == [regular]
    assert rows[0]["reason"] == ("4.5x usual interval (32 days since the last purchase, usually 7)")
    # the lapse alert names the same member (one definition)
    alerts = c.get(
        "/api/v1/stores/demo/analytics/members/lapse",
        params={"start": "2026-04-24", "end": "2026-05-01"},
        headers=api.headers("planner"),
    ).json()
    assert [a["member_no"] for a in alerts] == [
        c.get(f"/api/v1/members/{regular}", headers=care).json()["member_no"]
    ]
    assert run(api, care, lapse, date(2026, 3, 25))["counts"]["selected"] == 0


def test_delivery_rechecks_consent_and_keeps_failures_pending(api: Api) -> None:
    from server.queries.campaigns import deliver

    care, c = crm(api), client(api)
    ids = add_members(api.db_url, 4, prefix="D", birth_date=BIRTH)
    rule_id = put_rule(api, care, name="Birthday", kind="birthday", days_before=0, holdout_share=0)
    made = run(api, care, rule_id, DAY)
    outbox = c.get("/api/v1/campaigns/outbox", params={"run_id": made["run_id"]}, headers=care)
    assert [(o["member_id"], o["status"]) for o in outbox.json()] == [(m, "pending") for m in ids]
    # no webhook configured: the service reads the list instead
    r = c.post(f"/api/v1/campaigns/runs/{made['run_id']}/deliver", headers=care)
    assert r.status_code == 409 and "STOREFLOW_CAMPAIGN_WEBHOOK" in r.text
    # member 1 withdraws marketing consent after the run
    set_consent(api, ids[0], "marketing", False)
    posted: list[dict[str, Any]] = []

    async def down(_: dict[str, Any]) -> None:
        raise OSError("service down")

    async def up(payload: dict[str, Any]) -> None:
        posted.append(payload)

    async def go(post: Any) -> Any:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            out = await deliver(conn, made["run_id"], post)
            await conn.commit()
            return out

    failed = asyncio.run(go(down))
    assert (failed.delivered, failed.withdrawn, failed.pending) == (0, 1, 3)
    assert failed.error == "OSError: service down"
    done = asyncio.run(go(up))
    assert (done.delivered, done.withdrawn, done.pending) == (3, 0, 0)
    assert [p["member_no"] for p in posted[0]["contacts"]] == ["D0001", "D0002", "D0003"]
    assert posted[0]["message"] == "Hello from the store"
    assert posted[0]["contacts"][0]["idempotency_key"] == f"campaign-{made['run_id']}-D0001"
    statuses = {
        o["member_id"]: (o["status"], o["attempts"])
        for o in c.get("/api/v1/campaigns/outbox", headers=care).json()
    }
    assert statuses == {
        ids[0]: ("withdrawn", 0),
        ids[1]: ("delivered", 2),
        ids[2]: ("delivered", 2),
        ids[3]: ("delivered", 2),
    }
    assert asyncio.run(go(up)).delivered == 0  # nothing twice


def test_erasure_keeps_the_group_but_not_the_reason(api: Api) -> None:
    care, c = crm(api), client(api)
    ids = add_members(api.db_url, 3, prefix="E", birth_date=BIRTH)
    rule_id = put_rule(api, care, name="Birthday", kind="birthday", days_before=0, holdout_share=0)
    made = run(api, care, rule_id, DAY)
    copy = c.get(f"/api/v1/members/{ids[0]}/export", headers=api.headers("admin")).json()
    assert [(x["rule"], x["held_out"], x["delivery"]) for x in copy["campaign_contacts"]] == [
        ("Birthday", False, "pending")
    ]
    r = c.post(f"/api/v1/members/{ids[0]}/erase", headers=api.headers("admin"))
    assert r.status_code == 200 and r.json()["detail"]["campaign_contacts"] == 1, r.text
    rows = {x["member_id"]: x for x in listed(api, care, made["run_id"])}
    assert rows[ids[0]]["reason"] == "erased" and rows[ids[0]]["phone"] is None
    assert rows[ids[1]]["reason"] == "birthday on 2026-06-15"
    outbox = c.get("/api/v1/campaigns/outbox", params={"run_id": made["run_id"]}, headers=care)
    assert [o["status"] for o in outbox.json()] == ["withdrawn", "pending", "pending"]
    uplift = c.get(f"/api/v1/campaigns/runs/{made['run_id']}/uplift", headers=care).json()
    assert uplift["groups"][0]["members"] == 3  # still in the comparison
