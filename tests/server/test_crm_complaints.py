"""Complaints against the real database: record, assign, respond, resolve; targets per severity;
open and overdue lists; figures per counter and category; the retention figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fix_db import Api
from tests.helpers.crm import complaint, crm, resolve
from tests.helpers.membership import client, enrol, sale, till

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.isoformat()


def test_a_complaint_from_record_to_resolution(api: Api) -> None:
    care = crm(api)
    member_id = enrol(api, api.headers("admin"))
    c = client(api)
    made = complaint(api, care, member_id=member_id, severity="high", at=iso(T0))
    cid = made["complaint_id"]
    assert (made["status"], made["member_name"], made["created_by"]) == (
        "open",
        "Li Wei",
        "test-crm",
    )
    # high: first response within 4 hours, resolution within 2 days (the seeded targets)
    assert made["first_response_due"] == "2026-01-05T14:00:00Z"
    assert made["resolution_due"] == "2026-01-07T10:00:00Z"
    r = c.post(
        f"/api/v1/complaints/{cid}/assign", json={"assignee": "Zhou", "at": iso(T0)}, headers=care
    )
    assert r.json()["status"] == "assigned"
    r = c.post(
        f"/api/v1/complaints/{cid}/respond",
        json={"text": "Called back", "at": iso(T0 + timedelta(hours=5))},
        headers=care,
    )
    assert (r.json()["status"], r.json()["response_overdue"]) == ("responded", True)
    done = resolve(api, care, cid, at=iso(T0 + timedelta(days=1)))
    assert (done["status"], done["resolution_overdue"], done["on_the_spot"]) == (
        "resolved",
        False,
        False,
    )
    assert [e["kind"] for e in done["events"]] == ["recorded", "assigned", "responded", "resolved"]
    # resolving made the follow-up task of the seeded rule, due 7 days after
    assert [(f["title"][:28], f["due_on"]) for f in done["followups"]] == [
        ("Check the member is happy wi", "2026-01-13")
    ]
    again = c.post(f"/api/v1/complaints/{cid}/resolve", json={"resolution": "again"}, headers=care)
    assert again.status_code == 409
    early = complaint(api, care, at=iso(T0))
    r = c.post(
        f"/api/v1/complaints/{early['complaint_id']}/respond",
        json={"text": "x", "at": iso(T0 - timedelta(hours=1))},
        headers=care,
    )
    assert r.status_code == 422


def test_anonymous_complaints_and_who_may_see_them(api: Api) -> None:
    care = crm(api)
    made = complaint(api, care, channel="phone", counter=None)
    assert (made["member_id"], made["member_name"], made["counter"]) == (None, None, None)
    done = resolve(api, care, made["complaint_id"], at=made["created_at"], on_the_spot=True)
    assert done["followups"] == []  # nobody to follow up
    c = client(api)
    assert c.get("/api/v1/complaints", headers=api.headers("planner")).status_code == 403
    assert c.get("/api/v1/complaints", headers=till(api)).status_code == 403
    r = c.post("/api/v1/complaints", json={"store_id": "demo"}, headers=care)
    assert r.status_code == 422
    r = c.post(
        "/api/v1/complaints",
        json={
            **{k: made[k] for k in ("store_id", "channel", "category", "severity", "text")},
            "member_id": 999999,
        },
        headers=care,
    )
    assert r.status_code == 404


def test_open_and_overdue_lists_follow_the_targets(api: Api) -> None:
    care = crm(api)
    c = client(api)
    now = datetime.now(UTC)
    fresh = complaint(api, care, severity="low", at=iso(now - timedelta(minutes=5)))
    stale = complaint(api, care, severity="critical", at=iso(now - timedelta(hours=3)))
    closed = complaint(api, care, severity="critical", at=iso(now - timedelta(hours=30)))
    resolve(api, care, closed["complaint_id"], at=iso(now - timedelta(hours=1)))
    open_ids = [
        x["complaint_id"] for x in c.get("/api/v1/complaints?status=open", headers=care).json()
    ]
    assert open_ids == [fresh["complaint_id"], stale["complaint_id"]]
    overdue = c.get("/api/v1/complaints?overdue=true", headers=care).json()
    assert [x["complaint_id"] for x in overdue] == [stale["complaint_id"]]
    # make critical targets generous (admin only): nothing is overdue any more
    body = [{"severity": "critical", "first_response_minutes": 600, "resolution_minutes": 6000}]
    assert c.put("/api/v1/complaints/targets", json=body, headers=care).status_code == 403
    r = c.put("/api/v1/complaints/targets", json=body, headers=api.headers("admin"))
    assert r.status_code == 200
    assert c.get("/api/v1/complaints?overdue=true", headers=care).json() == []
    targets = c.get("/api/v1/complaints/targets", headers=care).json()
    assert [t["severity"] for t in targets] == ["low", "medium", "high", "critical"]


def test_figures_per_counter_and_category(api: Api) -> None:
    care = crm(api)
    a = complaint(api, care, counter="C01", category="service", severity="high", at=iso(T0))
    complaint(api, care, counter="C01", category="price", severity="high", at=iso(T0))
    b = complaint(api, care, counter="C02", category="service", severity="low", at=iso(T0))
    resolve(api, care, a["complaint_id"], at=iso(T0 + timedelta(hours=1)))  # in time
    resolve(api, care, b["complaint_id"], at=iso(T0 + timedelta(days=30)))  # late
    r = client(api).get(
        "/api/v1/complaints/report",
        params={"start": iso(T0 - timedelta(days=1)), "end": iso(T0 + timedelta(days=31))},
        headers=care,
    )
    assert r.status_code == 200, r.text
    rep = r.json()
    by_counter = {
        f["key"]: (f["complaints"], f["resolved"], f["resolved_on_time"], f["response_on_time"])
        for f in rep["by_counter"]
    }
    assert by_counter == {"C01": (2, 1, 1, 1), "C02": (1, 1, 0, 0)}
    by_category = {f["key"]: f["median_resolution_minutes"] for f in rep["by_category"]}
    assert by_category == {"price": None, "service": (60 + 30 * 24 * 60) / 2}


def test_retention_by_how_the_complaint_ended(api: Api) -> None:
    """Three complainants per outcome; of those, some bought within 90 days after."""
    admin, care, cashier = api.headers("admin"), crm(api), till(api)
    c = client(api)
    plan = {  # outcome -> whether each of its members buys again within 90 days
        "on_the_spot": [True, True, False],
        "later": [True, False, False],
        "unresolved": [False, False, False],
    }
    n = 0
    for outcome, buys in plan.items():
        for bought in buys:
            n += 1
            card = f"70000000{n:02d}"
            member_id = enrol(
                api,
                admin,
                name=f"Member {n}",
                phone=f"1370000{n:04d}",
                email=f"m{n}@example.com",
                card=card,
                epc=None,
            )
            made = complaint(api, care, member_id=member_id, at=iso(T0))
            if outcome == "on_the_spot":
                resolve(api, care, made["complaint_id"], at=iso(T0), on_the_spot=True)
            elif outcome == "later":
                resolve(api, care, made["complaint_id"], at=iso(T0 + timedelta(days=3)))
            if bought:
                body = sale(f"R{n}", "50.00", card, at=iso(T0 + timedelta(days=30)))
                assert c.post("/api/v1/purchases", json=body, headers=cashier).status_code == 200
            else:  # a sale after the window does not count
                body = sale(f"R{n}", "50.00", card, at=iso(T0 + timedelta(days=120)))
                assert c.post("/api/v1/purchases", json=body, headers=cashier).status_code == 200
    # a complaint whose 90 days have not ended by the end of the period is left out
    complaint(api, care, member_id=member_id, at=iso(T0 + timedelta(days=100)))
    r = c.get(
        "/api/v1/complaints/report",
        params={"start": iso(T0 - timedelta(days=1)), "end": iso(T0 + timedelta(days=150))},
        headers=care,
    )
    ret = {x["outcome"]: (x["complainants"], x["bought_again"]) for x in r.json()["retention"]}
    assert ret == {"on_the_spot": (3, 2), "later": (3, 1), "unresolved": (3, 0)}
    share = {x["outcome"]: x["share"] for x in r.json()["retention"]}
    assert share["on_the_spot"] == 2 / 3 and share["unresolved"] == 0.0
