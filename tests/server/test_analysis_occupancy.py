"""Occupancy, entries, week on week and the weekday x hour heatmaps on hand-made trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from server.analysis.occupancy import (
    entries,
    heatmaps,
    occupancy,
    week_on_week,
    zone_entries,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def trips(spans: list[tuple[int, int]], base: datetime = T0) -> pd.DataFrame:
    """Trips from (start minute, end minute) after ``base``."""
    return pd.DataFrame(
        {
            "trip_id": [f"t{i}" for i in range(len(spans))],
            "start_at": [base + timedelta(minutes=s) for s, _ in spans],
            "end_at": [base + timedelta(minutes=e) for _, e in spans],
        }
    )


SPANS = [(0, 30), (10, 20), (15, 45), (50, 55)]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("at", [1.0, 3.0, 1.0, 0.0]),  # open at 10:00, 10:15, 10:30, 10:45 (end exclusive)
        # 10:00-10:15: 15 + 5 + 0 min of trips / 15 = 1.333; 10:15-10:30: 15 + 5 + 15 = 35 / 15
        # 10:30-10:45: 15 / 15; 10:45-11:00: 5 (t3) / 15
        ("mean", [20 / 15, 35 / 15, 1.0, 5 / 15]),
    ],
)
def test_occupancy(how: str, expected: list[float]) -> None:
    occ = occupancy(
        trips(SPANS),
        start=T0,
        end=T0 + timedelta(hours=1),
        freq="15min",
        how="at" if how == "at" else "mean",
    )
    assert occ.to_numpy() == pytest.approx(expected)
    assert len(occ) == 4 and occ.index[0] == pd.Timestamp(T0)


def test_occupancy_mean_integrates_to_trip_minutes() -> None:
    rng = np.random.default_rng(1)
    starts = rng.integers(0, 600, 500)
    spans = [(int(s), int(s + d)) for s, d in zip(starts, rng.integers(1, 90, 500), strict=True)]
    occ = occupancy(trips(spans), start=T0, end=T0 + timedelta(hours=12), freq="10min")
    assert occ.sum() * 10 == pytest.approx(sum(e - s for s, e in spans))


def test_entries_and_zone_entries() -> None:
    e = entries(trips(SPANS), start=T0, end=T0 + timedelta(hours=1), freq="15min")
    assert e.tolist() == [2, 1, 0, 1]
    visits = pd.DataFrame(
        {
            "zone": ["A", "B", "A", "A"],
            "enter_at": [T0 + timedelta(minutes=m) for m in (1, 2, 20, 80)],
        }
    )
    z = zone_entries(visits, start=T0, end=T0 + timedelta(hours=1), freq="30min")
    assert list(z.columns) == ["A", "B"]
    assert z["A"].tolist() == [2, 0] and z["B"].tolist() == [1, 0]


def test_week_on_week() -> None:
    last = T0 - timedelta(days=7)
    both = pd.concat(
        [trips([(0, 5), (1, 5)], base=last), trips([(0, 5), (1, 5), (2, 5), (70, 80)])],
        ignore_index=True,
    )
    out = week_on_week(both, start=T0, end=T0 + timedelta(hours=2), freq="1h")
    assert out["current"].tolist() == [3, 1]
    assert out["last_week"].tolist() == [2, 0]
    assert out["change"].tolist() == [1, 1]
    assert out["change_pct"].iloc[0] == pytest.approx(0.5) and math.isnan(out["change_pct"].iloc[1])


def test_heatmaps() -> None:
    t = trips([(0, 5), (5, 10), (60 * 24 * 7, 60 * 24 * 7 + 5), (60 * 24 + 60, 60 * 24 + 70)])
    buys = pd.DataFrame({"trip_id": ["t0", "t3"], "amount": [1.0, 2.0]})
    h = heatmaps(t, buys, start=T0.replace(hour=0), end=T0.replace(hour=0) + timedelta(days=14))
    assert h.traffic.shape == (7, 24)
    assert h.trips.loc["Mon", 10] == 3
    assert h.traffic.loc["Mon", 10] == pytest.approx(1.5)  # 3 entries over two Mondays
    assert h.conversion.loc["Mon", 10] == pytest.approx(1 / 3)
    assert h.conversion.loc["Tue", 11] == 1.0
    assert math.isnan(h.conversion.loc["Wed", 3])
    local = heatmaps(
        t, buys, start=T0.replace(hour=0), end=T0 + timedelta(days=14), tz="Asia/Shanghai"
    )
    assert local.trips.loc["Mon", 18] == 3  # 10:00 UTC is 18:00 in Shanghai
