"""Shoppers per staff member: staff badges seen per hour against the shoppers in the store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from storeflow.wire import TagKind, ZoneVisit
from tests.fix_db import Api
from tests.helpers.ingest import batch, load_layout, post, visit

DAY = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
STAFF_A = "3500079FF000000900000001"
STAFF_B = "3500079FF000000900000002"


def _staff(zone: str, start_s: float, dwell_s: float, epc: str) -> ZoneVisit:
    return visit(zone, start_s, dwell_s, epc).model_copy(update={"tag_kind": TagKind.STAFF})


def test_shoppers_per_staff_member_per_hour(api: Api) -> None:
    load_layout(api)
    visits = []
    for i in range(4):  # four shoppers, 11:00-11:30: two shoppers in the store over 11:00
        epc = f"3500079FF0000004000000{i + 10:02X}"
        visits += [visit("ENT", 0, 5, epc), visit("C01", 5, 60, epc), visit("EXIT", 1790, 10, epc)]
    visits += [
        _staff("A1", 600, 60, STAFF_A),
        _staff("A2", 900, 60, STAFF_A),  # one badge counts once per hour
        _staff("A3", 3570, 60, STAFF_B),  # 11:59:30-12:00:30: seen in both hours
    ]
    post(api, batch(*visits), api.token("edge", store_id="demo"))
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.get(
        "/api/v1/stores/demo/analytics/staffing", params=DAY, headers=api.headers("planner")
    )
    assert r.status_code == 200, r.text
    got = r.json()
    hours = {h["hour_start"][11:13]: h for h in got["hours"]}
    assert hours["11"]["staff"] == 2 and hours["11"]["shoppers"] == pytest.approx(2.0, abs=0.01)
    assert hours["11"]["shoppers_per_staff"] == pytest.approx(1.0, abs=0.01)
    assert hours["12"]["staff"] == 1 and hours["12"]["shoppers"] == 0
    # over the period: only hours with shoppers and staff (staff alone at 12:00 do not count)
    assert got["shoppers_per_staff"] == pytest.approx(1.0, abs=0.01)
    assert got["busiest"]["hour_start"][11:13] == "11"
    assert got["hours_without_staff"] == 0
    # staff are no shoppers: the store's figures do not count them
    summary = client.get(
        "/api/v1/stores/demo/analytics/summary", params=DAY, headers=api.headers("planner")
    ).json()
    assert (summary["trips"], summary["shoppers"]) == (4, 4)
