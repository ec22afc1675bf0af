"""Who read which member: the till's look-up and customer care's search, profile and edit are
written to the access log; an erased record can be neither merged nor merged into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from tests.fix_db import Api
from tests.helpers.crm import complaint, crm, resolve
from tests.helpers.membership import CARD, client, enrol, till

T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _log(api: Api, member_id: int) -> list[tuple[str, str]]:
    r = client(api).get(
        f"/api/v1/privacy/access-log?member_id={member_id}", headers=api.headers("admin")
    )
    assert r.status_code == 200, r.text
    return [(e["endpoint"], e["role"]) for e in reversed(r.json())]


def test_till_and_customer_care_reads_are_logged(api: Api) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    other = enrol(api, admin, card=None, name="Zhao Min", phone="139", email=None)
    assert _log(api, member_id) == []

    r = client(api).get(f"/api/v1/members/lookup?card={CARD}", headers=till(api))
    assert r.status_code == 200, r.text
    staff = crm(api)
    assert client(api).get("/api/v1/members?query=Li Wei", headers=staff).status_code == 200
    assert client(api).get(f"/api/v1/members/{member_id}", headers=staff).status_code == 200
    patched = client(api).patch(
        f"/api/v1/members/{member_id}", json={"email": "wei@example.com"}, headers=staff
    )
    assert patched.status_code == 200, patched.text

    assert _log(api, member_id) == [
        ("GET /members/lookup", "cashier"),
        ("GET /members?query=", "crm"),
        ("GET /members/{id}", "crm"),
        ("PATCH /members/{id}", "crm"),
    ]
    assert _log(api, other) == []  # not in the search's answer, not read

    made = complaint(api, staff, member_id=other, text="Lost my receipt")
    complaint(api, staff, text="Anonymous: the lift is broken")
    assert client(api).get("/api/v1/complaints", headers=staff).status_code == 200
    one = client(api).get(f"/api/v1/complaints/{made['complaint_id']}", headers=staff)
    assert one.status_code == 200, one.text
    assert _log(api, other) == [("GET /complaints", "crm"), ("GET /complaints/{id}", "crm")]


def test_a_failed_lookup_logs_no_read(api: Api) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    r = client(api).get("/api/v1/members/lookup?card=0000000000", headers=till(api))
    assert r.status_code == 404
    assert _log(api, member_id) == []


def test_an_erased_record_cannot_be_merged_either_way(api: Api) -> None:
    admin = api.headers("admin")
    erased = enrol(api, admin)
    live = enrol(api, admin, card=None, name="Zhao Min", phone="139", email=None)
    assert client(api).post(f"/api/v1/members/{erased}/erase", headers=admin).status_code == 200
    for source, into in ((live, erased), (erased, live)):
        r = client(api).post(
            f"/api/v1/members/{source}/merge", json={"into_member_id": into}, headers=admin
        )
        assert r.status_code == 409, r.text
        assert "erased" in r.json()["detail"]
    profile = client(api).get(f"/api/v1/members/{live}", headers=crm(api)).json()
    assert profile["name"] == "Zhao Min"


def test_complaints_and_followups_are_in_the_copy_and_their_texts_go_with_erasure(
    api: Api,
) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin)
    staff = crm(api)
    made = complaint(
        api, staff, member_id=member_id, text="The scales overcharged me", at=f"{T0:%FT%TZ}"
    )
    resolve(api, staff, made["complaint_id"], at=f"{T0 + HOUR:%FT%TZ}", on_the_spot=True)
    client(api).post("/api/v1/followups/sweep", params={"as_of": "2026-11-03"}, headers=staff)

    copy = client(api).get(f"/api/v1/members/{member_id}/export", headers=admin).json()
    assert [c["text"] for c in copy["complaints"]] == ["The scales overcharged me"]
    assert copy["complaints"][0]["resolution"] == "Refunded and apologised"
    assert {e["kind"] for e in copy["complaint_events"]} >= {"recorded", "resolved"}
    assert len(copy["followups"]) == 1  # the resolution's follow-up task

    r = client(api).post(f"/api/v1/members/{member_id}/erase", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["detail"]["complaints"] == 1
    with psycopg.connect(api.db_url) as c:
        left = c.execute("SELECT text, resolution, on_the_spot, counter FROM complaint").fetchall()
        events = c.execute("SELECT count(*) FROM complaint_event WHERE text IS NOT NULL").fetchone()
    assert left == [("erased", None, True, "C01")]  # the counter's figures keep the complaint
    assert events == (0,)


def test_an_objection_to_profiling_can_be_given_at_enrolment(api: Api) -> None:
    admin = api.headers("admin")
    member_id = enrol(api, admin, consents={"marketing": True, "profiling": False})
    r = client(api).get(f"/api/v1/members/{member_id}/consents", headers=admin)
    assert r.status_code == 200, r.text
    now = {s["purpose"]: s["allowed"] for s in r.json()["consents"]}
    assert now == {"in_store_tracking": False, "marketing": True, "profiling": False}
