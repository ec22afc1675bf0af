"""Follow-up tasks against the real database: made by the rules from sales, tier upgrades and
resolved complaints (once each), by hand; assigned, closed with an outcome; the task list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from tests.fix_db import Api
from tests.helpers.crm import complaint, crm, resolve
from tests.helpers.membership import AT, client, enrol, sale, till


def test_sales_and_tier_upgrades_make_tasks_once(api: Api) -> None:
    admin, care, cashier = api.headers("admin"), crm(api), till(api)
    member_id = enrol(api, admin)
    c = client(api)
    for pos_id, amount in (("P1", "150.00"), ("P2", "2500.00"), ("P3", "3000.00")):
        assert (
            c.post("/api/v1/purchases", json=sale(pos_id, amount), headers=cashier).status_code
            == 200
        )
    # P3 takes the 12-month spend to 5650: an upgrade to Silver
    as_of = (datetime.fromisoformat(AT) + timedelta(days=1)).isoformat()
    r = c.post("/api/v1/followups/sweep", params={"as_of": as_of}, headers=care)
    assert r.status_code == 200, r.text
    assert r.json() == {"purchases_read": 3, "tier_changes_read": 2, "created": 3}
    tasks = c.get("/api/v1/followups", params={"member_id": member_id}, headers=care).json()
    assert sorted((t["rule"], t["source"]) for t in tasks) == [
        ("big purchase", "purchase:2"),
        ("big purchase", "purchase:3"),
        ("tier upgrade", f"tier:{member_id}:Silver:2026-11-02"),
    ]
    assert all(t["may_contact"] and t["phone"] == "+8613800000001" for t in tasks)
    # a second sweep reads nothing new and makes nothing twice
    again = c.post("/api/v1/followups/sweep", params={"as_of": as_of}, headers=care).json()
    assert again == {"purchases_read": 0, "tier_changes_read": 0, "created": 0}
    # a sale read long after it happened makes no task
    assert (
        c.post("/api/v1/purchases", json=sale("P4", "4000.00"), headers=cashier).status_code == 200
    )
    late = (datetime.fromisoformat(AT) + timedelta(days=60)).isoformat()
    r = c.post("/api/v1/followups/sweep", params={"as_of": late}, headers=care)
    assert r.json()["created"] == 0 and r.json()["purchases_read"] == 1


def test_rules_are_data(api: Api) -> None:
    admin, care, cashier = api.headers("admin"), crm(api), till(api)
    enrol(api, admin)
    c = client(api)
    rule = {
        "name": "big purchase",
        "trigger": "purchase",
        "min_amount": "100",
        "due_days": 1,
        "title": "Call after any sale over 100",
    }
    assert c.put("/api/v1/followups/rules", json=rule, headers=care).status_code == 403
    assert c.put("/api/v1/followups/rules", json=rule, headers=admin).status_code == 200
    off = {"name": "tier upgrade", "trigger": "tier_upgrade", "title": "Welcome", "active": False}
    assert c.put("/api/v1/followups/rules", json=off, headers=admin).status_code == 200
    rules = {r["name"]: r for r in c.get("/api/v1/followups/rules", headers=care).json()}
    assert rules["big purchase"]["min_amount"] == "100.00" and not rules["tier upgrade"]["active"]
    assert (
        c.post("/api/v1/purchases", json=sale("P1", "150.00"), headers=cashier).status_code == 200
    )
    assert (
        c.post("/api/v1/purchases", json=sale("P2", "5000.00"), headers=cashier).status_code == 200
    )
    as_of = (datetime.fromisoformat(AT) + timedelta(days=1)).isoformat()
    r = c.post("/api/v1/followups/sweep", params={"as_of": as_of}, headers=care)
    assert r.json()["created"] == 2  # both sales; the upgrade's rule is off
    tasks = c.get("/api/v1/followups", headers=care).json()
    assert [(t["title"], t["due_on"]) for t in tasks] == [
        ("Call after any sale over 100", "2026-11-03"),
        ("Call after any sale over 100", "2026-11-03"),
    ]


def test_task_list_assign_and_outcome(api: Api) -> None:
    admin, care = api.headers("admin"), crm(api)
    member_id = enrol(api, admin)
    quiet = enrol(
        api,
        admin,
        card=None,
        name="Quiet",
        phone="13900000007",
        email="q@example.com",
        consents={"marketing": False},
    )
    c = client(api)
    today = datetime.now(UTC).date()

    def make(member: int, title: str, due: int) -> int:
        body = {"member_id": member, "title": title, "due_on": str(today + timedelta(days=due))}
        r = c.post("/api/v1/followups", json=body, headers=care)
        assert r.status_code == 201, r.text
        assert r.json()["rule"] is None and r.json()["source"] == "manual"
        fid: int = r.json()["followup_id"]
        return fid

    overdue = make(member_id, "Missed call back", -2)
    later = make(quiet, "Birthday voucher", 5)
    assert (
        c.post(
            "/api/v1/followups",
            json={"member_id": 999999, "title": "x", "due_on": str(today)},
            headers=care,
        ).status_code
        == 404
    )
    r = c.post(f"/api/v1/followups/{later}/assign", json={"assignee": "Zhou"}, headers=care)
    assert r.json()["assignee"] == "Zhou"
    tasks = c.get("/api/v1/followups", headers=care).json()
    assert [(t["followup_id"], t["overdue"], t["may_contact"]) for t in tasks] == [
        (overdue, True, True),
        (later, False, False),  # marketing consent refused
    ]
    mine = c.get("/api/v1/followups", params={"assignee": "Zhou"}, headers=care).json()
    assert [t["followup_id"] for t in mine] == [later]
    nobody = c.get("/api/v1/followups", params={"assignee": "-"}, headers=care).json()
    assert [t["followup_id"] for t in nobody] == [overdue]
    r = c.post(
        f"/api/v1/followups/{overdue}/outcome",
        json={"outcome": "reached", "note": "Happy now"},
        headers=care,
    )
    assert (r.json()["outcome"], r.json()["overdue"]) == ("reached", False)
    again = c.post(
        f"/api/v1/followups/{overdue}/outcome", json={"outcome": "reached"}, headers=care
    )
    assert again.status_code == 409
    assert [t["followup_id"] for t in c.get("/api/v1/followups", headers=care).json()] == [later]
    done = c.get("/api/v1/followups", params={"status": "done"}, headers=care).json()
    assert [t["outcome_note"] for t in done] == ["Happy now"]
    assert c.get("/api/v1/followups", headers=api.headers("planner")).status_code == 403


def test_a_resolved_complaint_makes_its_task_in_the_same_step(api: Api) -> None:
    care = crm(api)
    member_id = enrol(api, api.headers("admin"))
    made = complaint(api, care, member_id=member_id, at=AT)
    resolve(api, care, made["complaint_id"], at=AT)
    tasks = client(api).get("/api/v1/followups", params={"member_id": member_id}, headers=care)
    assert [(t["rule"], t["source"]) for t in tasks.json()] == [
        ("complaint resolved", f"complaint:{made['complaint_id']}")
    ]
    with psycopg.connect(api.db_url) as conn:
        row = conn.execute("SELECT count(*) FROM followup").fetchone()
    assert row == (1,)


def test_a_holdout_group_is_not_contacted_and_is_compared(api: Api) -> None:
    from decimal import Decimal

    from server.crm.rules import held_out

    admin, care, cashier = api.headers("admin"), crm(api), till(api)
    c = client(api)
    rule = {
        "name": "big purchase",
        "trigger": "purchase",
        "min_amount": "2000",
        "due_days": 3,
        "title": "Thank them",
        "holdout_share": "0.5",
    }
    rule_id = c.put("/api/v1/followups/rules", json=rule, headers=admin).json()["rule_id"]
    start = datetime.fromisoformat(AT)
    members = []
    for n in range(10):
        card = f"80000000{n:02d}"
        member_id = enrol(
            api,
            admin,
            name=f"M{n}",
            phone=f"1360000{n:04d}",
            email=f"h{n}@example.com",
            card=card,
            epc=None,
        )
        members.append(member_id)
        assert (
            c.post(
                "/api/v1/purchases", json=sale(f"B{n}", "2500.00", card), headers=cashier
            ).status_code
            == 200
        )
        if n % 2 == 0:  # every other member comes back within 30 days
            back = sale(f"A{n}", "20.00", card, at=(start + timedelta(days=10)).isoformat())
            assert c.post("/api/v1/purchases", json=back, headers=cashier).status_code == 200
    as_of = (start + timedelta(days=1)).isoformat()
    assert (
        c.post("/api/v1/followups/sweep", params={"as_of": as_of}, headers=care).status_code == 200
    )
    held = {m for m in members if held_out(m, rule_id, Decimal("0.5"))}
    assert 0 < len(held) < len(members)  # this fixed draw splits the ten members
    open_tasks = c.get("/api/v1/followups", headers=care).json()
    assert {t["member_id"] for t in open_tasks} == set(members) - held
    everything = c.get("/api/v1/followups", params={"status": "all"}, headers=care).json()
    assert {t["member_id"] for t in everything if t["outcome"] == "held_out"} == held
    r = c.get(
        f"/api/v1/followups/rules/{rule_id}/holdout",
        params={"start": start.isoformat(), "end": (start + timedelta(days=40)).isoformat()},
        headers=care,
    )
    assert r.status_code == 200, r.text
    came_back = {m for i, m in enumerate(members) if i % 2 == 0}
    groups = {g["group"]: (g["members"], g["bought_again"]) for g in r.json()["groups"]}
    assert groups == {
        "contacted": (len(members) - len(held), len(came_back - held)),
        "held_out": (len(held), len(came_back & held)),
    }


def test_a_sweep_date_without_a_zone_is_taken_as_utc(api: Api) -> None:
    admin = api.headers("admin")
    enrol(api, admin)  # enrolment writes a tier_history row for the sweep to read
    r = client(api).post(
        "/api/v1/followups/sweep", params={"as_of": "2026-11-03"}, headers=crm(api)
    )
    assert r.status_code == 200, r.text
