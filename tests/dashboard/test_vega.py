"""The Vega-Lite spec helpers: inline data as JSON, empty charts, tooltips."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from dashboard import vega


def test_records_are_plain_json() -> None:
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-11-02T10:00:00Z", None], utc=True),
            "n": np.array([3, 4], dtype="int64"),
            "share": [0.5, math.nan],
        }
    )
    out = vega.records(frame)
    assert out == [
        {"at": "2026-11-02T10:00:00+00:00", "n": 3, "share": 0.5},
        {"at": None, "n": 4, "share": None},
    ]
    json.dumps(out, allow_nan=False)  # no NaN, no numpy scalars
    assert vega.records(frame, ["n"]) == [{"n": 3}, {"n": 4}]


def test_chart_and_empty() -> None:
    spec = vega.chart("Entries", height=300, data=vega.rows([{"x": 1}]), mark="bar")
    assert spec["title"] == {"text": "Entries", "anchor": "start"}
    assert spec["height"] == 300 and spec["width"] == "container" and spec["mark"] == "bar"
    assert vega.values_of(spec) == [{"x": 1}] and not vega.is_empty(spec)
    blank = vega.empty("Entries", "No trips started in this period")
    assert vega.is_empty(blank)
    assert vega.values_of(blank) == [{"message": "No trips started in this period"}]


def test_tooltip_fields() -> None:
    assert vega.tooltip(("zone", "Zone"), ("share", "Share", ".0%")) == [
        {"field": "zone", "title": "Zone"},
        {"field": "share", "title": "Share", "type": "quantitative", "format": ".0%"},
    ]
