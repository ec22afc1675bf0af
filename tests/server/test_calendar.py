"""The store's calendar: promotions and layout changes recorded by planners, and the days the
antenna mapping changed, listed by day for the charts' markers."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.fix_db import Api
from tests.helpers.ingest import load_layout

PERIOD = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}


def test_events_are_recorded_checked_listed_and_removed(api: Api) -> None:
    load_layout(api)
    c: TestClient = api.client  # type: ignore[assignment]
    h = api.headers("planner")
    url = "/api/v1/stores/demo/calendar"
    promo = {
        "kind": "promotion",
        "title": "Aurum watch week",
        "first_day": "2026-11-10",
        "last_day": "2026-11-16",
        "counters": ["C06"],
    }
    r = c.post(url, json=promo, headers=h)
    assert r.status_code == 201, r.text
    promo_id = r.json()["id"]
    swap = {"kind": "layout_change", "title": "C03 and C07 swap", "first_day": "2026-11-05"}
    swap["counters"] = ["C07", "C03"]
    assert c.post(url, json=swap, headers=h).status_code == 201
    with psycopg.connect(api.db_url, autocommit=True) as conn:  # a remapped antenna
        conn.execute(
            "UPDATE antenna_zone SET valid_from = '2026-11-20T00:00:00Z' "
            "WHERE store_id = 'demo' AND reader_id = 'R2' AND port = 3"
        )
    got = c.get(url, params=PERIOD, headers=h).json()
    assert [(e["kind"], e["first_day"], e["last_day"], e["source"]) for e in got] == [
        ("layout_change", "2026-11-05", "2026-11-05", "recorded"),
        ("promotion", "2026-11-10", "2026-11-16", "recorded"),
        ("layout_change", "2026-11-20", "2026-11-20", "layout"),
    ]
    assert got[0]["counters"] == ["C03", "C07"]
    assert "R2:3->C03" in got[2]["title"]
    # a period that ends before the promotion does not list it
    early = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}
    assert [e["kind"] for e in c.get(url, params=early, headers=h).json()] == ["layout_change"]

    bad = c.post(url, json={**promo, "counters": ["C06", "ZZ9"]}, headers=h)
    assert bad.status_code == 422 and "ZZ9 is not a counter of this store" in bad.text
    backwards = c.post(url, json={**promo, "last_day": "2026-11-01"}, headers=h)
    assert backwards.status_code == 422 and "ends before it starts" in backwards.text
    cashier = api.headers("cashier", store_id="demo", register_id="T1")
    assert c.post(url, json=promo, headers=cashier).status_code == 403

    gone = c.delete(f"{url}/{promo_id}", headers=h)
    assert gone.status_code == 200 and gone.json()["title"] == "Aurum watch week"
    assert c.delete(f"{url}/{promo_id}", headers=h).status_code == 404
    assert "promotion" not in [e["kind"] for e in c.get(url, params=PERIOD, headers=h).json()]


def test_the_demo_records_its_planted_promotion_and_layout_change(api: Api) -> None:
    import asyncio

    from orchestration import demo_data

    load_layout(api)

    async def record() -> None:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            await demo_data.record_planted(conn)
            await conn.commit()

    asyncio.run(record())
    c: TestClient = api.client  # type: ignore[assignment]
    got = c.get("/api/v1/stores/demo/calendar", headers=api.headers("planner")).json()
    assert [(e["kind"], e["counters"]) for e in got] == [
        ("layout_change", ["C03", "C07"]),
        ("promotion", ["C06"]),
    ]
    assert got[1]["last_day"] > got[1]["first_day"]
