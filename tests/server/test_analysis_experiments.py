"""Experiment statistics: a planted +30 % effect is found, null changes are flagged about 5 %
of the time. The daily series and the served promotion / layout change: test_planner_truth.py."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from server.analysis.experiments import Period, diff_in_diff, same_weekday_change

START = date(2026, 3, 2)  # a Monday
CHANGE = date(2026, 3, 30)  # 28 days later
WEEKLY = np.array([1.0, 0.9, 0.95, 1.0, 1.2, 1.6, 1.4])
UNITS = [f"C0{i}" for i in range(1, 9)]


def synthetic(
    seed: int, *, effect: float = 0.0, days: int = 56, treated: str = "C01"
) -> pd.DataFrame:
    """Counter traffic: base x weekday x a store-wide daily shock x (1 + effect after CHANGE)."""
    rng = np.random.default_rng(seed)
    day = pd.date_range(START, periods=days, freq="D")
    shock = rng.normal(1.0, 0.08, days)
    rows = []
    for i, unit in enumerate(UNITS):
        mean = 120.0 * (1 + 0.1 * i) * WEEKLY[day.day_of_week] * shock
        if unit == treated:
            mean = mean * np.where(day >= pd.Timestamp(CHANGE), 1.0 + effect, 1.0)
        traffic = rng.poisson(mean)
        rows.append(
            pd.DataFrame(
                {
                    "day": day,
                    "unit": unit,
                    "traffic": traffic,
                    "dwell": rng.normal(90, 10, days),
                    "conversion": rng.beta(20, 80, days),
                    "sales": traffic * rng.normal(50, 5, days),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


BEFORE = Period.of(START, CHANGE)
AFTER = Period.of(CHANGE, CHANGE + timedelta(days=28))


def test_planted_effect_is_found() -> None:
    daily = synthetic(1, effect=0.30)
    eff = diff_in_diff(daily, metric="traffic", treated=["C01"], before=BEFORE, after=AFTER)
    assert eff.distinguishable
    assert eff.relative == pytest.approx(0.30, abs=0.08)
    assert eff.ci_low < eff.estimate < eff.ci_high
    assert eff.days_before == 28 and eff.days_after == 28
    assert eff.method == "did"


@pytest.mark.parametrize(("scale", "change"), [("log", "times"), ("absolute", "plus")])
def test_did_removes_a_store_wide_change(scale: str, change: str) -> None:
    daily = synthetic(2).astype({"traffic": float})
    later = daily["day"] >= pd.Timestamp(CHANGE)
    if change == "times":  # every counter +50 %: not an effect of anything at C01
        daily.loc[later, "traffic"] = daily.loc[later, "traffic"] * 1.5
    else:  # every counter +60 visitor trips a day
        daily.loc[later, "traffic"] = daily.loc[later, "traffic"] + 60
    eff = diff_in_diff(
        daily,
        metric="traffic",
        treated=["C01"],
        before=BEFORE,
        after=AFTER,
        scale="log" if scale == "log" else "absolute",
    )
    assert eff.treated_after > 1.3 * eff.treated_before
    assert abs(eff.relative) < 0.05
    assert not eff.distinguishable


def test_log_scale_planted_effect() -> None:
    eff = diff_in_diff(
        synthetic(8, effect=0.3),
        metric="traffic",
        treated=["C01"],
        before=BEFORE,
        after=AFTER,
        scale="log",
    )
    assert eff.scale == "log" and eff.distinguishable
    assert eff.relative == pytest.approx(0.3, abs=0.06)


def test_bootstrap_is_seeded() -> None:
    daily = synthetic(3)
    a = diff_in_diff(daily, metric="sales", treated=["C01"], before=BEFORE, after=AFTER, seed=7)
    b = diff_in_diff(daily, metric="sales", treated=["C01"], before=BEFORE, after=AFTER, seed=7)
    assert a == b


def test_null_false_positive_rate_near_five_percent() -> None:
    flagged = sum(
        diff_in_diff(
            synthetic(100 + s),
            metric="traffic",
            treated=["C01"],
            before=BEFORE,
            after=AFTER,
            n_boot=400,
            seed=s,
        ).distinguishable
        for s in range(50)
    )
    assert flagged <= 6, f"{flagged} of 50 null experiments flagged"


def store_series(seed: int, *, effect: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = pd.date_range(START, periods=56, freq="D")
    mean = 2000.0 * WEEKLY[day.day_of_week] * np.where(day >= pd.Timestamp(CHANGE), 1 + effect, 1.0)
    return pd.DataFrame(
        {"day": day, "unit": "store", "traffic": rng.poisson(mean * rng.normal(1, 0.05, 56))}
    )


def test_layout_change_same_weekdays_finds_effect() -> None:
    daily = store_series(4, effect=0.3)
    eff = same_weekday_change(daily, metric="traffic", before=BEFORE, after=AFTER)
    assert eff.method == "weekday"
    assert eff.distinguishable
    assert eff.relative == pytest.approx(0.3, abs=0.06)


def test_layout_change_null_rate() -> None:
    flagged = sum(
        same_weekday_change(
            store_series(200 + s), metric="traffic", before=BEFORE, after=AFTER, n_boot=400, seed=s
        ).distinguishable
        for s in range(50)
    )
    assert flagged <= 7, f"{flagged} of 50 null layout changes flagged"


def test_same_weekday_ignores_the_weekday_mix() -> None:
    daily = store_series(5)
    daily["traffic"] = (2000 * WEEKLY[daily["day"].dt.day_of_week]).astype(int)  # no noise
    before = Period.of(START, START + timedelta(days=7))
    after = Period.of(CHANGE + timedelta(days=4), CHANGE + timedelta(days=7))  # Fri, Sat, Sun
    eff = same_weekday_change(daily, metric="traffic", before=before, after=after)
    assert eff.estimate == 0.0 and not eff.distinguishable
    assert eff.days_before == 3 and eff.days_after == 3
    plain = same_weekday_change(daily, metric="traffic", before=before, after=after, seed=1)
    assert plain.ci_low < 0 < plain.ci_high  # one day per weekday: a cautious, wide interval
