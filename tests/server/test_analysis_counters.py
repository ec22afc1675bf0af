"""Counter evaluation, quadrants, recommendations, attracting and holding power, purchase links."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from server.analysis import link_purchases_to_trips
from server.analysis.counters import (
    attracting_power,
    classify,
    counter_metrics,
    holding_power,
    recommend,
)
from storeflow.layout import load_layout

LAYOUT = load_layout("firmware_sim/stores/demo.yaml")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# counter: (visitor trips, buyers among them) -> quadrant at the medians (5 trips, 33 %)
PLAN = {
    "C01": (10, 5, "star"),
    "C02": (10, 1, "window shopping"),
    "C03": (2, 1, "hidden gem"),
    "C04": (2, 0, "weak"),
    "C05": (8, 4, "star"),
    "C06": (4, 2, "hidden gem"),
    "C07": (6, 1, "window shopping"),
    "C08": (1, 0, "weak"),
}


def visit(trip: str, zone: str, minute: int, dwell: float) -> dict[str, object]:
    enter = T0 + timedelta(minutes=minute)
    return {
        "trip_id": trip,
        "epc": trip,
        "zone": zone,
        "enter_at": enter,
        "exit_at": enter + timedelta(seconds=dwell),
        "dwell_s": dwell,
    }


def build() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    visits, buys = [], []
    for code, (n, k, _) in PLAN.items():
        for i in range(n):
            trip = f"{code}-{i}"
            if code == "C04" and i == 0:  # two short stays that add up to 40 s
                visits += [visit(trip, code, 0, 20.0), visit(trip, code, 2, 20.0)]
            else:
                visits.append(visit(trip, code, 0, 60.0 + 10 * i))
            if i < k:
                buys.append({"trip_id": trip, "counter": code, "amount": 100.0})
    for i in range(5):  # passers-by of C01 that do not stop long enough
        visits.append(visit(f"short-{i}", "C01", 0, 10.0))
    for i in range(7):  # trips that never go near a counter
        visits.append(visit(f"aisle-{i}", "A2", 0, 100.0))
    buys.append({"trip_id": None, "counter": "C08", "amount": 40.0})  # till sale, no trip
    buys.append({"trip_id": "short-0", "counter": "C01", "amount": 25.0})  # bought, not a visitor
    v = pd.DataFrame(visits)
    trips = pd.DataFrame({"trip_id": v["trip_id"].unique()})
    p = pd.DataFrame(buys)
    p.insert(0, "purchase_id", range(len(p)))
    return v, trips, p


@pytest.mark.parametrize("code", list(PLAN))
def test_counter_figures(code: str) -> None:
    v, trips, p = build()
    out = counter_metrics(v, trips, p, LAYOUT).set_index("code")
    n, k, quadrant = PLAN[code]
    row = out.loc[code]
    assert row["visitors"] == n
    assert row["buyers"] == k
    assert row["exposure_rate"] == pytest.approx(n / 55)
    assert row["conversion"] == pytest.approx(k / n)
    assert row["quadrant"] == quadrant
    area = next(c.area_m2 for c in LAYOUT.counters if c.code == code)
    sales = 100.0 * k + {"C08": 40.0, "C01": 25.0}.get(code, 0.0)
    assert row["sales"] == pytest.approx(sales)
    assert row["sales_per_m2"] == pytest.approx(sales / area)
    assert row["sales_per_visitor"] == pytest.approx(sales / n)
    assert row["recommendation"].startswith(
        {
            "star": "Keep:",
            "hidden gem": "Improve placement:",
            "window shopping": "Review merchandising and the contract:",
            "weak": "Review the contract:",
        }[quadrant]
    )
    assert f"{n:,} visitor trips" in row["recommendation"]


def test_dwell_rank_and_threshold() -> None:
    v, trips, p = build()
    out = counter_metrics(v, trips, p, LAYOUT).set_index("code")
    assert out.loc["C04", "median_dwell_s"] == pytest.approx(55.0)  # 40 s (20 + 20) and 70 s
    assert out.loc["C01", "median_dwell_s"] == pytest.approx(105.0)  # 60..150 s
    assert sorted(out["rank"]) == list(range(1, 9))
    assert out["rank"].idxmin() == "C01"  # 525 / 150 m² is the best sales per m²
    strict = counter_metrics(v, trips, p, LAYOUT, min_dwell_s=5.0).set_index("code")
    assert strict.loc["C01", "visitors"] == 15  # the short stays count now
    assert strict.loc["C01", "buyers"] == 6
    by_sales = counter_metrics(v, trips, p, LAYOUT, rank_by="sales").set_index("code")
    assert by_sales.loc["C01", "rank"] == 1 and by_sales.loc["C04", "rank"] == 8


@pytest.mark.parametrize(
    ("traffic", "conversion", "quadrant"),
    [
        (10, 0.5, "star"),
        (10, 0.1, "window shopping"),
        (1, 0.5, "hidden gem"),
        (1, 0.1, "weak"),
        (5, 0.3, "star"),
    ],
)
def test_classify(traffic: float, conversion: float, quadrant: str) -> None:
    assert classify(traffic, conversion, traffic_median=5, conversion_median=0.3) == quadrant


def test_recommend_sentence() -> None:
    text = recommend(
        "hidden gem",
        name="Aurum Watches",
        visitors=120,
        exposure=0.04,
        conversion=0.25,
        sales_per_m2=812.4,
        traffic_median=400,
        conversion_median=0.1,
    )
    assert text == (
        "Improve placement: converts well but few shoppers reach it — Aurum Watches: 120 "
        "visitor trips (4% of store trips; counter median 400), 25% of them bought "
        "(median 10%), 812 sales per m²."
    )


def test_attracting_power() -> None:
    visits = pd.DataFrame(
        [
            visit("a", "A1", 0, 20.0),
            visit("a", "C01", 1, 90.0),
            visit("b", "A1", 0, 20.0),
            visit("b", "C01", 1, 10.0),  # glance: not a stop
            visit("c", "A4", 0, 20.0),
            visit("d", "A1", 0, 20.0),
            visit("e", "C01", 0, 300.0),  # no aisle read: not a passer
            visit("f", "A2", 0, 20.0),  # A2 is not next to C01
        ]
    )
    out = attracting_power(visits, LAYOUT).set_index("code")
    assert out.loc["C01", "passers"] == 4
    assert out.loc["C01", "stoppers"] == 1
    assert out.loc["C01", "attracting_power"] == pytest.approx(0.25)
    assert out.loc["C02", "passers"] == 5  # A1, A2 and A4 are all next to C02
    assert math.isnan(out.loc["C07", "attracting_power"])  # nobody passed A4/A5 near C07


def test_holding_power() -> None:
    visits = pd.DataFrame(
        [
            visit("a", "C01", 0, 60.0),
            visit("b", "C01", 0, 120.0),
            visit("c", "C02", 0, 30.0),
            visit("d", "C02", 0, 30.0),
            visit("e", "C02", 0, 5.0),
        ]
    )
    out = holding_power(visits).set_index("zone")
    assert out.loc["C01", "median_dwell_s"] == 90.0 and out.loc["C02", "visitors"] == 2
    assert out.loc["C01", "typical_dwell_s"] == 60.0  # the typical zone: median of 90 and 30
    assert out.loc["C01", "holding_power"] == pytest.approx(1.5)
    assert out.loc["C02", "holding_power"] == pytest.approx(0.5)
    given = holding_power(visits, typical_dwell_s={"C01": 45.0}).set_index("zone")
    assert given.loc["C01", "holding_power"] == pytest.approx(2.0)
    base = pd.DataFrame([visit("x", "C02", 0, 60.0), visit("y", "C01", 0, 180.0)])
    vs_base = holding_power(visits, baseline=base, zones=["C01", "C02", "C03"]).set_index("zone")
    assert vs_base.loc["C02", "holding_power"] == pytest.approx(0.5)
    assert vs_base.loc["C01", "holding_power"] == pytest.approx(0.5)
    assert vs_base.loc["C03", "visitors"] == 0 and math.isnan(vs_base.loc["C03", "holding_power"])


def test_link_purchases_to_trips() -> None:
    trips = pd.DataFrame(
        {
            "trip_id": ["t1", "t2", "t3"],
            "epc": ["e1", "e1", "e2"],
            "start_at": [T0, T0 + timedelta(hours=2), T0],
            "end_at": [
                T0 + timedelta(minutes=15),
                T0 + timedelta(hours=3),
                T0 + timedelta(hours=1),
            ],
        }
    )
    purchases = pd.DataFrame(
        {
            "purchase_id": [1, 2, 3, 4, 5],
            "epc": ["e1", "e1", "e1", "e3", "e2"],
            "trip_id": [None, None, None, None, "given"],
            "at": [T0 + timedelta(minutes=m) for m in (20, 40, 150, 5, 5)],
            "amount": [1.0] * 5,
        }
    )
    out = link_purchases_to_trips(purchases, trips)
    assert out["trip_id"].tolist() == ["t1", None, "t2", None, "given"]
    assert purchases["trip_id"].isna().sum() == 4  # the input is untouched
