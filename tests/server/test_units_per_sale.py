"""ATV and UPT: sales and units (the lines' quantities, net of returns) per transaction, for the
store (summary) and per counter, from the daily facts."""

from __future__ import annotations

import pytest

from tests.fix_db import Api
from tests.helpers.ingest import load_layout
from tests.helpers.membership import AT, client, till

DAY = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}


def _sale(pos_id: str, *lines: tuple[str, int, str]) -> dict[str, object]:
    return {
        "store_id": "demo",
        "register_id": "T1",
        "pos_id": pos_id,
        "at": AT,
        "card_number": None,
        "lines": [
            {"sku": f"SKU{i}", "counter": counter, "quantity": qty, "amount": amount}
            for i, (counter, qty, amount) in enumerate(lines)
        ],
    }


def test_units_per_sale_and_average_sale_net_of_returns(api: Api) -> None:
    load_layout(api)
    c, h = client(api), till(api)
    a = c.post(
        "/api/v1/purchases", json=_sale("U-1", ("C01", 2, "100.00"), ("C02", 1, "50.00")), headers=h
    )
    assert a.status_code == 200, a.text
    b = c.post("/api/v1/purchases", json=_sale("U-2", ("C01", 3, "90.00")), headers=h)
    assert b.status_code == 200, b.text
    # half the value of U-1's first line comes back: one of its two units
    r = c.post(
        f"/api/v1/purchases/{a.json()['purchase_id']}/returns",
        json={"return_id": "R-1", "register_id": "T1", "lines": [{"line_no": 1, "amount": "50"}]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    planner = api.headers("planner")
    got = c.get("/api/v1/stores/demo/analytics/summary", params=DAY, headers=planner).json()
    assert (got["transactions"], got["sales"], got["units"]) == (2, 190.0, 5.0)
    assert got["average_sale"] == pytest.approx(95.0)
    assert got["units_per_sale"] == pytest.approx(2.5)
    counters = {
        x["code"]: x
        for x in c.get("/api/v1/stores/demo/analytics/counters", params=DAY, headers=planner).json()
    }
    c01, c02 = counters["C01"], counters["C02"]
    assert (c01["transactions"], c01["units"], c01["sales"]) == (2, 4.0, 140.0)
    assert (c01["average_sale"], c01["units_per_sale"]) == (70.0, 2.0)
    assert (c02["transactions"], c02["units"], c02["units_per_sale"]) == (1, 1.0, 1.0)
    assert counters["C05"]["units_per_sale"] is None  # no sale: no UPT, not zero
    # the layout's terms: C01 pays 20 % commission; one day with sales is 1/30 of a month
    assert c01["commission_rate"] == 0.20 and c01["take_target_per_m2"] == 900
    assert c01["take_per_m2"] == pytest.approx(0.20 * 140 / 150 * 30)
    assert counters["C08"]["take_per_m2"] == 600  # its rent, whatever it sold
    assert "under its target of 900" in c01["recommendation"]
