"""The demo's progress line: the bar, the time left, how far a back-fill of several days is."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from orchestration.demo_data import BackfillProgress
from orchestration.progress import ProgressLine, eta_text, progress_bar


@pytest.mark.parametrize(
    ("fraction", "bar"),
    [(0.0, "[----]"), (0.5, "[##--]"), (1.0, "[####]"), (1.7, "[####]"), (-1, "[----]")],
)
def test_progress_bar(fraction: float, bar: str) -> None:
    assert progress_bar(fraction, width=4) == bar


@pytest.mark.parametrize(
    ("fraction", "elapsed", "text"),
    [(0.0, 10.0, "?"), (0.5, 30.0, "30 s"), (0.25, 100.0, "5 min 00 s"), (1.0, 99.0, "0 s")],
)
def test_eta(fraction: float, elapsed: float, text: str) -> None:
    assert eta_text(fraction, elapsed) == text


def test_into_a_log_the_line_is_written_now_and_then_not_every_update() -> None:
    out = io.StringIO()
    line = ProgressLine(out, every_s=3600)
    for i in range(1000):
        line.update(f"step {i}")
    line.done("finished")
    assert out.getvalue() == "step 0\nfinished\n"


def test_back_fill_progress_counts_simulated_time_over_every_day() -> None:
    day = datetime(2026, 11, 2, tzinfo=UTC)
    slices = [(day + timedelta(days=1), day + timedelta(days=2)), (day, day + timedelta(days=1))]
    state = BackfillProgress(slices)
    assert state.fraction() == 0.0
    newest = slices[0][0]
    state.note(newest.isoformat(), (newest + timedelta(hours=12)).timestamp(), 1000)
    assert state.fraction() == pytest.approx(0.25)
    state.note(day.isoformat(), (day + timedelta(days=1)).timestamp(), 3000)
    assert state.fraction() == pytest.approx(0.75)
    assert "4,000 reads" in state.line(10.0)
