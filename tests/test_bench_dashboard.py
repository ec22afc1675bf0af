"""The dashboard benchmark's experiment windows fit any history length."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from orchestration.bench_dashboard import MIN_SIDE_DAYS, calls, experiments

END = date(2026, 11, 30)


def test_ninety_days_use_the_api_defaults() -> None:
    exp = experiments(END, 90)
    assert exp.promo == ("2026-11-09", "2026-11-15", 28, 14)
    assert exp.change == ("2026-11-02", 28)


@pytest.mark.parametrize("days", range(1, 121))
def test_windows_lie_inside_the_history(days: int) -> None:
    exp = experiments(END, days)
    start = END - timedelta(days=days)
    if exp.promo is not None:
        first, last, before, after = exp.promo
        assert before >= MIN_SIDE_DAYS and 0 <= after <= 14
        assert date.fromisoformat(first) - timedelta(days=before) >= start
        assert date.fromisoformat(last) + timedelta(days=after) < END
    if exp.change is not None:
        day, side = exp.change
        assert side >= MIN_SIDE_DAYS
        assert date.fromisoformat(day) - timedelta(days=side) >= start
        assert date.fromisoformat(day) + timedelta(days=side) <= END
    assert (exp.promo is not None) == (days >= 14)
    assert (exp.change is not None) == (days >= 14)
    names = [path for path, _ in calls("2026-11-23", "2026-11-30", exp)]
    assert ("analytics/experiments/promotion" in names) == (exp.promo is not None)
