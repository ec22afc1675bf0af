"""The chain view on hand-written daily facts: every figure, the ranking, data health, the
concession comparison, the drill-down links, and who may read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.fix_db import Api

D0 = date(2026, 11, 2)  # a Monday; the period is D0 .. D0 + 6
PERIOD = {"start": D0.isoformat(), "end": (D0 + timedelta(days=7)).isoformat()}
HEARTBEAT = datetime(2026, 11, 8, 20, 0, tzinfo=UTC)

# store -> [(day offset, hour, segment, entries, buying trips, sales, transactions, trip s)]
HOURS: dict[str, list[tuple[int, int, str, int, int, float, int, float]]] = {
    "north": [
        (0, 10, "Gold", 40, 20, 2000.0, 20, 40 * 600.0),
        (0, 11, "non-member", 60, 15, 900.0, 15, 60 * 300.0),
        (3, 15, "Member", 100, 25, 2600.0, 26, 100 * 500.0),
        (9, 10, "Gold", 999, 999, 9e6, 999, 0.0),  # outside the period
    ],
    "south": [(d, 12, "non-member", 50, 5, 250.0, 5, 50 * 200.0) for d in range(7)],
}
# store -> [(day offset, zone, segment, visits, dwell s)]
ZONES = {"north": [(0, "Z1", "Gold", 10, 1200.0)], "south": [(1, "Z1", "non-member", 30, 900.0)]}
# (store, counter code, name, brand, area m2)
COUNTERS = [
    ("north", "C01", "Lumiere Beauty", "Lumiere", 100.0),
    ("north", "C02", "Hearth Home", "Hearth", 80.0),
    ("south", "L1", "Lumiere", "Lumiere", 50.0),
]
# (store, counter, day offset, segment, visitors, buyers, sales, transactions)
COUNTER_FACTS = [
    ("north", "C01", 0, "Gold", 30, 6, 600.0, 6),
    ("north", "C01", 3, "non-member", 10, 4, 200.0, 5),
    ("south", "L1", 2, "non-member", 40, 20, 1500.0, 20),
    ("north", "C02", 0, "Gold", 5, 1, 99.0, 1),
]


def seed(db_url: str) -> None:
    with psycopg.connect(db_url) as c:
        for sid, name in (("north", "North Mall"), ("south", "South Street"), ("west", "West")):
            c.execute("INSERT INTO store (id, name) VALUES (%s, %s)", (sid, name))
            c.execute(
                "INSERT INTO zone (store_id, code, name, kind, floor_id, polygon, area_m2) "
                "VALUES (%s, 'Z1', 'Zone', 'counter', 'G', '[]', 10)",
                (sid,),
            )
        for sid, code, name, brand, area in COUNTERS:
            c.execute(
                "INSERT INTO counter (store_id, code, name, brand, category, zone_code, area_m2) "
                "VALUES (%s, %s, %s, %s, 'cosmetics', 'Z1', %s)",
                (sid, code, name, brand, area),
            )
        days = set()
        for sid, hours in HOURS.items():
            for off, hour, seg, e, b, sales, tx, dur in hours:
                days.add((sid, D0 + timedelta(days=off)))
                c.execute(
                    "INSERT INTO fact_hour (store_id, day, hour, segment, entries, buying_trips, "
                    "sales, transactions, duration_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (sid, D0 + timedelta(days=off), hour, seg, e, b, sales, tx, dur),
                )
        for sid, zones in ZONES.items():
            for off, zone, seg, visits, dwell in zones:
                c.execute(
                    "INSERT INTO fact_zone (store_id, day, zone, segment, visits, visitors, "
                    "dwell_s) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (sid, D0 + timedelta(days=off), zone, seg, visits, visits, dwell),
                )
        for sid, code, off, seg, vis, buy, sales, tx in COUNTER_FACTS:
            c.execute(
                "INSERT INTO fact_counter (store_id, day, counter, segment, visitors, buyers, "
                "sales, transactions) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (sid, D0 + timedelta(days=off), code, seg, vis, buy, sales, tx),
            )
        for sid, day in sorted(days):  # up to date: nothing to re-compute
            c.execute(
                "INSERT INTO rollup_day (store_id, day, refreshed_at) VALUES (%s, %s, now())",
                (sid, day),
            )
        c.execute(
            "INSERT INTO device_heartbeat (device_id, store_id, sent_at, received_at, "
            "outbox_depth, readers) VALUES ('edge-n1', 'north', %s, %s, 0, '{}'), "
            "('edge-n2', 'north', %s, %s, 0, '{}')",
            (HEARTBEAT, HEARTBEAT, HEARTBEAT, HEARTBEAT - timedelta(hours=5)),
        )


@pytest.fixture
def chain(api: Api) -> Api:
    seed(api.db_url)
    return api


def get(api: Api, path: str, headers: dict[str, str], **params: Any) -> Any:
    client = api.client
    assert isinstance(client, TestClient)
    return client.get(f"/api/v1{path}", params=params, headers=headers)


def test_stores_side_by_side_with_every_figure(chain: Api) -> None:
    r = get(chain, "/chain/stores", chain.headers("planner"), **PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["first"], body["last"], body["days"]) == ("2026-11-02", "2026-11-08", 7)
    by_id = {s["store_id"]: s for s in body["stores"]}
    north = by_id["north"]
    assert north["name"] == "North Mall"
    assert north["entries"] == 200
    assert north["buying_trips"] == 60
    assert north["conversion"] == pytest.approx(0.3)
    assert north["sales"] == pytest.approx(5500.0)
    assert north["transactions"] == 61
    assert north["sales_per_visitor"] == pytest.approx(27.5)
    assert north["atv"] == pytest.approx(5500.0 / 61)
    assert north["mean_trip_s"] == pytest.approx((24000 + 18000 + 50000) / 200)
    assert north["mean_dwell_s"] == pytest.approx(120.0)
    assert north["member_entries"] == 140
    assert north["member_share"] == pytest.approx(0.7)
    assert (north["days_with_data"], north["days_in_period"]) == (2, 7)
    assert north["coverage"] == pytest.approx(2 / 7)
    assert datetime.fromisoformat(north["last_heartbeat"]) == HEARTBEAT
    south = by_id["south"]
    assert (south["entries"], south["member_share"], south["coverage"]) == (350, 0.0, 1.0)
    assert south["last_heartbeat"] is None
    west = by_id["west"]  # a store without data is listed, with nothing to rank it by
    assert (west["entries"], west["conversion"], west["days_with_data"]) == (0, None, 0)
    # ranked by sales per visitor (the default), the store without data last
    assert [s["store_id"] for s in body["stores"]] == ["north", "south", "west"]
    assert [s["rank"] for s in body["stores"]] == [1, 2, 3]
    assert north["links"]["summary"] == (
        "/stores/north/analytics/summary?start=2026-11-02&end=2026-11-09"
    )


@pytest.mark.parametrize(
    ("rank_by", "order", "expected"),
    [
        ("entries", "desc", ["south", "north", "west"]),
        ("coverage", "desc", ["south", "north", "west"]),
        ("coverage", "asc", ["west", "north", "south"]),
        ("conversion", "asc", ["south", "north", "west"]),  # no value: last in either order
        ("member_share", "desc", ["north", "south", "west"]),
    ],
)
def test_stores_ranked_by_the_chosen_figure(
    chain: Api, rank_by: str, order: str, expected: list[str]
) -> None:
    r = get(chain, "/chain/stores", chain.headers("admin"), rank_by=rank_by, order=order, **PERIOD)
    assert r.status_code == 200, r.text
    assert [s["store_id"] for s in r.json()["stores"]] == expected


def test_the_default_period_ends_at_the_latest_data(chain: Api) -> None:
    body = get(chain, "/chain/stores", chain.headers("planner")).json()
    assert (body["first"], body["last"]) == ("2026-11-05", "2026-11-11")  # north's day 9


def test_the_drill_down_link_answers_with_the_same_figures(chain: Api) -> None:
    headers = chain.headers("planner")
    north = get(chain, "/chain/stores", headers, **PERIOD).json()["stores"][0]
    path, _, query = north["links"]["summary"].partition("?")
    params = dict(kv.split("=") for kv in query.split("&"))
    summary = get(chain, path, headers, **params)
    assert summary.status_code == 200, summary.text
    s = summary.json()
    assert (s["entries"], s["transactions"]) == (north["entries"], north["transactions"])
    assert s["conversion"] == pytest.approx(north["conversion"])
    assert s["sales"] == pytest.approx(north["sales"])


def test_a_concession_compared_across_the_stores_that_host_it(chain: Api) -> None:
    headers = chain.headers("planner")
    brands = get(chain, "/chain/concessions", headers).json()
    assert brands[0] == {
        "brand": "Lumiere",
        "names": ["Lumiere", "Lumiere Beauty"],
        "category": "cosmetics",
        "stores": 2,
    }
    r = get(chain, "/chain/concessions/compare", headers, brand="lumiere", **PERIOD)
    assert r.status_code == 200, r.text
    rows = r.json()["stores"]
    assert [(x["store_id"], x["counter"]) for x in rows] == [("south", "L1"), ("north", "C01")]
    south, north = rows
    assert (north["visitors"], north["buyers"], north["transactions"]) == (40, 10, 11)
    assert north["conversion"] == pytest.approx(0.25)
    assert north["sales_per_visitor"] == pytest.approx(20.0)
    assert north["atv"] == pytest.approx(800 / 11)
    assert north["sales_per_m2"] == pytest.approx(8.0)
    assert north["exposure"] == pytest.approx(40 / 200)
    assert south["sales_per_visitor"] == pytest.approx(37.5)
    assert south["links"]["counters"].startswith("/stores/south/analytics/counters?")
    by_area = get(
        chain, "/chain/concessions/compare", headers, brand="Lumiere", rank_by="area_m2", **PERIOD
    )
    assert by_area.status_code == 422  # not a figure to rank by
    missing = get(chain, "/chain/concessions/compare", headers, brand="Nobody", **PERIOD)
    assert missing.status_code == 404


CHAIN_CALLS = [
    ("/chain/stores", {}),
    ("/chain/concessions", {}),
    ("/chain/concessions/compare", {"brand": "Hearth"}),
]


@pytest.mark.parametrize(("path", "params"), CHAIN_CALLS)
def test_only_a_chain_wide_planner_or_admin_reads_the_chain(
    chain: Api, path: str, params: dict[str, str]
) -> None:
    assert get(chain, path, chain.headers("planner"), **params).status_code == 200
    assert get(chain, path, chain.headers("admin"), **params).status_code == 200
    scoped = get(chain, path, chain.headers("planner", store_id="north"), **params)
    assert scoped.status_code == 403
    assert "north" in scoped.text
    cashier = chain.headers("cashier", store_id="north", register_id="T1")
    assert get(chain, path, cashier, **params).status_code == 403
    assert get(chain, path, {}, **params).status_code == 401


def test_a_store_planner_reads_its_own_store_only(chain: Api) -> None:
    headers = chain.headers("planner", store_id="north")
    own = get(chain, "/stores/north/analytics/summary", headers, **PERIOD)
    assert own.status_code == 200, own.text
    other = get(chain, "/stores/south/analytics/summary", headers, **PERIOD)
    assert other.status_code == 403


def test_the_chain_follows_re_computed_and_removed_days(chain: Api) -> None:
    headers = chain.headers("planner")
    before = get(chain, "/chain/stores", headers, rank_by="entries", **PERIOD).json()
    assert before["stores"][0]["entries"] == 350  # south
    with psycopg.connect(chain.db_url) as c:  # what a re-computation of south's day 0 leaves
        c.execute("UPDATE fact_hour SET entries = 500 WHERE store_id = 'south' AND day = %s", (D0,))
        c.execute(
            "UPDATE rollup_day SET refreshed_at = now() + interval '1 s' "
            "WHERE store_id = 'south' AND day = %s",
            (D0,),
        )
        c.execute("DELETE FROM rollup_day WHERE store_id = 'north' AND day = %s", (D0,))
    after = get(chain, "/chain/stores", headers, rank_by="entries", **PERIOD).json()
    by_id = {s["store_id"]: s for s in after["stores"]}
    assert by_id["south"]["entries"] == 350 - 50 + 500
    assert (by_id["north"]["entries"], by_id["north"]["days_with_data"]) == (100, 1)
