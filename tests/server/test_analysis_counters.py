"""Counter quadrants and the verdict the counter evaluation serves."""

from __future__ import annotations

import pytest

from server.analysis.counters import Economics, classify, judge, recommend


@pytest.mark.parametrize(
    ("traffic", "conversion", "quadrant"),
    [
        (10, 0.5, "star"),
        (10, 0.1, "window shopping"),
        (1, 0.5, "hidden gem"),
        (1, 0.1, "weak"),
        (5, 0.3, "star"),  # at the median counts as high
    ],
)
def test_classify(traffic: float, conversion: float, quadrant: str) -> None:
    assert classify(traffic, conversion, traffic_median=5, conversion_median=0.3) == quadrant


def _counter(
    code: str, visitors: int, conversion: float, per_m2: float, basket: float | None
) -> Economics:
    return Economics(
        code=code,
        visitors=visitors,
        conversion=conversion,
        sales=per_m2 * 20,
        sales_per_m2=per_m2,
        basket_value=basket,
    )


# C1: few visitors, few buy, but huge baskets: the best earner per m²
STORE = [
    _counter("C1", 100, 0.10, 900.0, 1800.0),
    _counter("C2", 400, 0.30, 600.0, 100.0),
    _counter("C3", 500, 0.10, 300.0, 120.0),  # many stop, few buy
    _counter("C4", 150, 0.40, 250.0, 90.0),  # converts well, few reach it
    _counter("C5", 120, 0.05, 80.0, 60.0),  # weak on every count
    _counter("C6", 450, 0.35, 500.0, 70.0),
]


def test_the_best_earner_per_m2_is_kept_whatever_its_quadrant() -> None:
    got = judge(STORE)
    assert got["C1"].quadrant == "weak"  # low traffic, low conversion ...
    assert got["C1"].verdict == "keep"  # ... but the economics decide
    assert "basket" in got["C1"].reason


def test_verdicts_agree_with_the_ranking() -> None:
    got = judge(STORE)
    ranked = sorted(STORE, key=lambda c: c.sales_per_m2, reverse=True)
    top, bottom = ranked[:3], ranked[3:]
    assert all(got[c.code].verdict == "keep" for c in top)
    assert all(got[c.code].verdict != "keep" for c in bottom)


def test_weak_economics_get_a_replace_verdict_and_quadrants_say_what_to_work_on() -> None:
    got = judge(STORE)
    assert got["C5"].verdict == "replace"
    assert got["C3"].verdict in ("review merchandising", "replace")
    assert got["C4"].verdict == "improve placement"


def test_rent_not_covered_is_never_kept() -> None:
    rich = [*STORE[:-1], Economics("C6", 450, 0.35, 10_000, 500.0, 70.0, rent_per_m2=800.0)]
    assert judge(rich)["C6"].verdict == "review contract"


def test_an_empty_period_gives_no_verdict() -> None:
    empty = [_counter(f"C{i}", 0, 0.0, 0.0, None) for i in range(8)]
    got = judge(empty)
    assert {j.verdict for j in got.values()} == {"no data"}
    assert {j.quadrant for j in got.values()} == {None}


def test_recommend_sentence() -> None:
    got = recommend("keep", "earns 900 sales per m²", visitors=120, exposure=0.04, conversion=0.25)
    assert got == (
        "Keep: earns 900 sales per m² — 120 visitor trips (4% of store trips), 25% bought."
    )
    assert recommend("no data", "nothing", visitors=0, exposure=0, conversion=0).startswith(
        "No verdict"
    )
