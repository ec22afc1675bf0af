"""The chain view agrees with each store's own endpoints on bench data: the demo store's days
loaded straight into the tables (their facts computed by the chain read itself) and two copies
of it at other traffic levels (orchestration/bench_chain.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orchestration.bench_chain import copy_stores, plan_copies, source_counters
from orchestration.bench_data import populate
from tests.fix_db import Api

END = datetime(2026, 11, 7, tzinfo=UTC)
PERIOD = {"start": "2026-11-01", "end": "2026-11-08"}
STORE_PERIOD = {"start": "2026-11-01T00:00:00", "end": "2026-11-08T00:00:00"}


@pytest.mark.slow
def test_chain_rows_match_the_single_store_endpoints(api: Api) -> None:
    client = api.client
    assert isinstance(client, TestClient)
    headers = api.headers("planner")

    def get(path: str, **params: Any) -> Any:
        r = client.get(f"/api/v1{path}", params=params, headers=headers)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    populate(api.db_url, days=2, trips_per_day=300, members=500, end=END, seed=9, workers=0)
    demo = get("/chain/stores", **PERIOD)["stores"]  # re-computes the demo store's dirty days
    assert [s["store_id"] for s in demo] == ["demo"]
    assert demo[0]["entries"] > 400
    copy_stores(api.db_url, plan_copies(2, source_counters(api.db_url), seed=1))
    chain = get("/chain/stores", **PERIOD)
    assert len(chain["stores"]) == 3
    for row in chain["stores"]:
        own = get(f"/stores/{row['store_id']}/analytics/summary", **STORE_PERIOD)
        assert (row["entries"], row["transactions"]) == (own["entries"], own["transactions"])
        assert row["buying_trips"] == own["buying_trips"]
        assert row["sales"] == pytest.approx(own["sales"])
        assert row["mean_trip_s"] == pytest.approx(own["mean_trip_s"])
    comp = get("/chain/concessions/compare", brand="Aurum", rank_by="conversion", **PERIOD)
    assert [r["rank"] for r in comp["stores"]] == list(range(1, len(comp["stores"]) + 1))
    conversions = [r["conversion"] for r in comp["stores"]]
    assert conversions == sorted(conversions, reverse=True)
    for row in comp["stores"]:
        own = {
            c["code"]: c
            for c in get(f"/stores/{row['store_id']}/analytics/counters", **STORE_PERIOD)
        }
        counter = own[row["counter"]]
        assert row["visitors"] == counter["visitors"]
        assert row["sales"] == pytest.approx(counter["sales"])
        assert row["conversion"] == pytest.approx(counter["conversion"])
