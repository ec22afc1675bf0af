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


def _termed(
    code: str, per_m2: float, *, rent: float | None = None, rate: float | None = None
) -> Economics:
    return Economics(
        code=code,
        visitors=200,
        conversion=0.2,
        sales=per_m2 * 100,
        sales_per_m2=per_m2,
        basket_value=300.0,
        rent_per_m2=rent,
        commission_rate=rate,
        days=7,
    )


@pytest.mark.parametrize(
    ("rent", "rate", "per_m2_week", "take"),
    [
        (None, None, 700.0, None),  # no terms: no take
        (None, 0.2, 700.0, 600.0),  # 700 a week = 3,000 a month; 20 % of it
        (100.0, 0.2, 700.0, 700.0),  # rent and commission add up
        (250.0, None, 0.0, 250.0),  # a rent is taken whatever the sales
    ],
)
def test_the_stores_take_per_m2_a_month(
    rent: float | None, rate: float | None, per_m2_week: float, take: float | None
) -> None:
    got = _termed("C1", per_m2_week, rent=rent, rate=rate).take_per_m2
    assert got == pytest.approx(take) if take is not None else got is None


def test_a_top_earner_whose_commission_misses_the_target_reviews_its_contract() -> None:
    store = [
        _termed("C1", 900.0, rate=0.10),  # rank 1: 3,857 a month x 10 % = 386
        _termed("C2", 600.0, rate=0.30),  # rank 2: 2,571 x 30 % = 771
        _termed("C3", 300.0, rate=0.30),
        _termed("C4", 200.0, rate=0.30),
    ]
    got = judge(store, take_target_per_m2=500.0)
    assert got["C1"].verdict == "review contract"
    assert got["C1"].reason.startswith("ranks #1 of 4 with 900 sales per m²")
    assert "10% commission, the store takes 386 per m² a month, under its target of 500" in (
        got["C1"].reason
    )
    assert got["C2"].verdict == "keep"
    assert "the store takes 771 per m² a month (target 500)" in got["C2"].reason
    # without a target the same commission is shown, not judged
    assert judge(store)["C1"].verdict == "keep"
    assert [got[c].rank for c in ("C1", "C2", "C3", "C4")] == [1, 2, 3, 4]


def test_a_rent_is_compared_with_a_months_sales_not_the_periods() -> None:
    # 300 per m² in 7 days is 1,286 a month: it covers a monthly rent of 1,000
    store = [
        _termed("C1", 300.0, rent=1000.0),
        _termed("C2", 280.0),
        _termed("C3", 200.0),
    ]
    assert judge(store)["C1"].verdict == "keep"
    short = [_termed("C1", 200.0, rent=1000.0), *store[1:]]  # 857 a month
    got = judge(short)["C1"]
    assert got.verdict == "review contract"
    assert "857 per m² a month do not cover its rent of 1,000 per m²" in got.reason
