"""Ingest over HTTP against a real database: idempotency, trips, auth boundaries, layout, health."""

from __future__ import annotations

import uuid

import psycopg
from fastapi.testclient import TestClient

from storeflow.wire import IngestBatch
from tests.fix_db import Api
from tests.helpers.ingest import LAYOUT, PATH, T0, batch, load_layout, post, visit


def test_same_batch_twice_stores_each_visit_once_and_builds_one_trip(api: Api) -> None:
    load_layout(api)
    token = api.token("edge", store_id="demo")
    body = batch(*(visit(z, s, d) for z, s, d in PATH))
    assert post(api, body, token) == {"accepted": 6, "duplicates": 0, "rejected": 0}
    assert post(api, body, token) == {"accepted": 0, "duplicates": 6, "rejected": 0}
    with psycopg.connect(api.db_url) as c:
        assert c.execute("SELECT count(*) FROM zone_visit").fetchone() == (6,)
        trips = c.execute("SELECT zones, visit_count FROM trip").fetchall()
    assert trips == [(["ENT", "A2", "C03", "A3", "CHK", "EXIT"], 6)]


def test_out_of_order_batches_give_the_same_trips(api: Api) -> None:
    load_layout(api)
    token = api.token("edge", store_id="demo")
    second_visit = [visit(z, s + 3600 * 3, d) for z, s, d in PATH]  # a later, separate trip
    first_visit = [visit(z, s, d) for z, s, d in PATH]
    post(api, batch(*second_visit[3:]), token)
    post(api, batch(*first_visit[:2]), token)
    post(api, batch(*second_visit[:3]), token)
    post(api, batch(*first_visit[2:]), token)
    with psycopg.connect(api.db_url) as c:
        trips = c.execute("SELECT zones FROM trip ORDER BY start_at").fetchall()
    assert trips == [(["ENT", "A2", "C03", "A3", "CHK", "EXIT"],)] * 2


def test_auth_boundaries(api: Api) -> None:
    load_layout(api)
    client: TestClient = api.client  # type: ignore[assignment]
    body = batch(visit("C01", 0, 30))
    h = {"Content-Type": "application/json"}
    assert client.post("/api/v1/ingest", content=body, headers=h).status_code == 401
    bad = {**h, "Authorization": "Bearer nope"}
    assert client.post("/api/v1/ingest", content=body, headers=bad).status_code == 401
    planner = {**h, **api.headers("planner")}
    assert client.post("/api/v1/ingest", content=body, headers=planner).status_code == 403
    other_store = api.token("edge", store_id="elsewhere")
    assert post(api, body, other_store) == {"accepted": 0, "duplicates": 0, "rejected": 1}
    edge = api.headers("edge", store_id="demo")
    assert client.get("/api/v1/stores/demo/analytics/summary", headers=edge).status_code == 403
    assert (
        client.put(
            "/api/v1/stores/demo/layout", content=b"x", headers=api.headers("planner")
        ).status_code
        == 403
    )


def test_bad_layout_yaml_names_line_and_key(api: Api) -> None:
    client: TestClient = api.client  # type: ignore[assignment]
    text = LAYOUT.read_text().replace("kind: counter", "kind: kiosk", 1)
    r = client.put(
        "/api/v1/stores/demo/layout",
        content=text.encode(),
        headers={**api.headers("admin"), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 422
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "kind: kiosk" in s)
    assert f"layout:{line}: zones[6].kind" in r.json()["detail"]


def test_layout_round_trips(api: Api) -> None:
    load_layout(api)
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.get("/api/v1/stores/demo/layout", headers=api.headers("planner"))
    assert r.status_code == 200
    doc = r.json()
    assert len(doc["zones"]) == 16 and len(doc["counters"]) == 8
    c03 = next(z for z in doc["zones"] if z["code"] == "C03")
    assert c03["polygon"] == [[30, 10], [45, 10], [45, 22], [30, 22]]
    a3 = next(z for z in doc["zones"] if z["code"] == "A3")
    assert a3["adjacent"] == ["A5", "C03", "C04", "CHK"]
    # the counters' terms and the store's take target come back as the YAML gave them
    terms = {c["code"]: (c["rent_per_m2"], c["commission_rate"]) for c in doc["counters"]}
    assert terms["C06"] == (None, 0.08) and terms["C08"] == (600, None)
    assert doc["store"]["take_target_per_m2"] == 900


def test_analytics_on_a_known_dataset(api: Api) -> None:
    load_layout(api)
    token = api.token("edge", store_id="demo")
    visits = []
    for i, dwell in enumerate([10, 20, 30, 40, 100]):
        epc = f"3500079FF0000004000000{i + 10:02X}"
        visits += [visit("ENT", i * 60, 5, epc), visit("C01", i * 60 + 5, dwell, epc)]
    post(api, batch(*visits), token)
    client: TestClient = api.client  # type: ignore[assignment]
    h = api.headers("planner")
    q = "?start=2026-11-02T00:00:00Z&end=2026-11-03T00:00:00Z"
    dwell = {
        d["zone"]: d
        for d in client.get(f"/api/v1/stores/demo/analytics/dwell{q}", headers=h).json()
    }
    assert dwell["C01"]["visits"] == 5
    # percentiles come from 10 %-wide bins: within 5 % of the exact value (30 s and 100 s)
    assert abs(dwell["C01"]["median_s"] - 30) <= 1.5
    assert 40 < dwell["C01"]["p90_s"] <= 105
    foot = client.get(f"/api/v1/stores/demo/analytics/footfall{q}&bucket=hour", headers=h).json()
    assert [(f["bucket_start"][:13], f["entries"]) for f in foot] == [("2026-11-02T11", 5)]
    zv = {
        z["zone"]: z
        for z in client.get(f"/api/v1/stores/demo/analytics/zone-visits{q}", headers=h).json()
    }
    assert zv["ENT"] == {"zone": "ENT", "visits": 5, "visitors": 5}
    summary = client.get(f"/api/v1/stores/demo/analytics/summary{q}", headers=h).json()
    assert (summary["visits"], summary["trips"], summary["shoppers"]) == (10, 5, 5)


def test_health_reports_database_and_devices(api: Api) -> None:
    from storeflow.wire import Heartbeat, ReaderHealth

    client: TestClient = api.client  # type: ignore[assignment]
    beat = Heartbeat(
        event_id=uuid.uuid4(),
        store_id="demo",
        device_id="edge-1",
        sent_at=T0,
        outbox_depth=3,
        readers={"R1": ReaderHealth(connected=False)},
    )
    token = api.token("edge", store_id="demo")
    body = IngestBatch(device_id="edge-1", sent_at=T0, events=[beat]).model_dump_json()
    post(api, body, token)
    h = client.get("/api/v1/health", headers=api.headers("planner")).json()
    with psycopg.connect(api.db_url) as c:  # plain PostgreSQL or TimescaleDB: either holds
        row = c.execute("SELECT count(*) > 0 FROM pg_extension WHERE extname = 'timescaledb'")
        created = row.fetchone()
    assert created is not None
    assert h["database"] is True and h["migrations"] >= 1 and h["timescaledb"] is created[0]
    assert h["status"] == "degraded"
    assert h["devices"][0]["outbox_depth"] == 3
