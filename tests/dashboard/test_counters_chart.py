"""The Counters page's quadrant chart, read from its Vega-Lite spec: labelled points coloured by
verdict and sized by sales per m², the medians that split the quadrants, the quadrants' names."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import vega
from dashboard.views.counters import COLOURS, quadrant_figure


def test_the_quadrant_chart_labels_counters_and_splits_at_the_medians() -> None:
    frame = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "name": ["Lumiere Beauty", "Maison Ambre", "Stride Shoes"],
            "verdict": ["keep", "review merchandising", "replace"],
            "quadrant": ["star", "window shopping", "weak"],
            "visitors": [300, 200, 100],
            "conversion": [0.30, 0.10, 0.05],
            "sales_per_m2": [900.0, 300.0, 0.0],
        }
    )
    spec = quadrant_figure(frame)
    medians = [layer for layer in spec["layer"] if layer["mark"].get("type") == "rule"]
    assert len(medians) == 2  # one line for traffic, one for conversion
    assert vega.values_of(medians[0]) == [{"visitors": 200.0, "conversion_pct": 10.0}]
    names = [str(vega.values_of(layer)[0]["quadrant"]) for layer in spec["layer"][2:6]]
    assert [n.split(":")[0] for n in names] == ["hidden gem", "star", "weak", "window shopping"]
    points, labels = spec["layer"][-2:]
    rows = vega.values_of(points)
    assert [r["label"] for r in rows] == ["#1 Lumiere Beauty", "#2 Maison Ambre", "#3 Stride Shoes"]
    assert [r["conversion_pct"] for r in rows] == pytest.approx([30.0, 10.0, 5.0])
    sizes = [r["size"] for r in rows]
    assert sizes[0] > sizes[1] > sizes[2] > 0  # the top earner's marker is the largest
    assert points["encoding"]["color"]["scale"]["domain"] == list(COLOURS)
    assert labels["encoding"]["text"]["field"] == "label"
    assert vega.is_empty(quadrant_figure(frame.head(0)))
