"""Dashboard figures are built from the data they are given (checked on the traces, not looks)."""

from __future__ import annotations

import pandas as pd

from dashboard import charts
from storeflow import demo_data


def test_floor_heatmap_draws_every_zone_to_scale() -> None:
    layout = demo_data.layout()
    values = {"C01": 120.0, "A2": 30.0}
    fig = charts.floor_heatmap(layout, values, metric="visits")
    names = {t.name for t in fig.data if t.name}
    assert {z.code for z in layout.zones} <= names
    c01 = next(t for t in fig.data if t.name == "C01")
    assert list(c01.x) == [0, 15, 15, 0, 0] and list(c01.y) == [10, 10, 22, 22, 10]
    assert fig.layout.yaxis.scaleanchor == "x"  # metres are metres both ways


def test_footfall_and_dwell_figures_carry_the_values() -> None:
    foot = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(["2026-11-02T10:00Z", "2026-11-02T11:00Z"]),
            "entries": [5, 9],
        }
    )
    fig = charts.footfall_figure(foot, bucket="hour")
    assert list(fig.data[0].y) == [5, 9]
    dwell = pd.DataFrame(
        {
            "zone": ["C01", "A2"],
            "visits": [10, 20],
            "median_s": [120.0, 20.0],
            "p90_s": [300.0, 40.0],
            "mean_s": [150.0, 25.0],
        }
    )
    fig = charts.dwell_figure(dwell)
    assert len(fig.data) == 2
    assert list(fig.data[0].x)[0] in ("C01", "Lumiere Beauty") or list(fig.data[0].y)[0] == "C01"


def test_empty_data_says_so() -> None:
    empty = pd.DataFrame({"bucket_start": [], "entries": []})
    fig = charts.footfall_figure(empty, bucket="day")
    assert any("No trips" in (a.text or "") for a in fig.layout.annotations)
