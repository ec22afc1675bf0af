"""The Members page's charts, read from their Vega-Lite specs: the Pareto curve with the top
20 % marked, each segment's share of traffic and of sales, members by class."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import vega
from dashboard.views.members import classes_figure, pareto_figure, shares_figure


def test_the_pareto_curve_marks_the_top_share() -> None:
    curve = pd.DataFrame({"member_share": [0.0, 0.2, 1.0], "sales_share": [0.0, 0.6, 1.0]})
    spec = pareto_figure(curve, 0.6)
    line = vega.values_of(spec, 0)
    assert [(p["members_pct"], p["sales_pct"]) for p in line] == [(0, 0), (20, 60), (100, 100)]
    assert vega.values_of(spec, 1)[-1] == {"members_pct": 100, "sales_pct": 100}  # equal split
    (marked,) = vega.values_of(spec, 2)
    assert marked["members_pct"] == 20 and marked["sales_pct"] == pytest.approx(60)
    assert marked["label"] == "top 20 %: 60% of sales"
    assert len(pareto_figure(curve, None)["layer"]) == 2  # nothing to mark


def test_segments_show_both_shares_and_classes_their_counts() -> None:
    tiers = pd.DataFrame(
        {
            "segment": ["non-member", "Gold"],
            "vip": [False, True],
            "entries_share": [0.9, 0.1],
            "sales_share": [0.7, 0.3],
        }
    )
    got = {(r["segment"], r["measure"]): r["pct"] for r in vega.values_of(shares_figure(tiers))}
    assert got == pytest.approx(
        {
            ("non-member", "share of traffic"): 90.0,
            ("non-member", "share of sales"): 70.0,
            ("Gold (VIP)", "share of traffic"): 10.0,
            ("Gold (VIP)", "share of sales"): 30.0,
        }
    )
    classes = pd.DataFrame(
        {"member_class": ["core", "loyal"], "members": [4, 12], "referrers": [1, 0]}
    )
    spec = classes_figure(classes)
    assert [r["members"] for r in vega.values_of(spec)] == [4, 12]
    assert spec["layer"][1]["encoding"]["text"]["field"] == "members"  # written on the bars
