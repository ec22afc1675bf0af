"""The campaign uplift section of the Retention page, its pure parts: the per-rule table and the
chart of differences with their interval bars."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import vega
from dashboard.views.campaigns import uplift_figure, uplift_frame
from storeflow.api.campaigns import RuleUplift


def _rule(name: str, rate: tuple[float, float, float] | None, members: int = 100) -> RuleUplift:
    def diff(values: tuple[float, float, float] | None, scale: float) -> dict[str, Any]:
        if values is None:
            return {
                "estimate": None,
                "ci_low": None,
                "ci_high": None,
                "method": "m",
                "distinguishable": False,
            }
        e, lo, hi = (v * scale for v in values)
        return {
            "estimate": e,
            "ci_low": lo,
            "ci_high": hi,
            "method": "m",
            "distinguishable": lo > 0 or hi < 0,
        }

    return RuleUplift.model_validate(
        {
            "rule_id": 1,
            "rule_name": name,
            "kind": "birthday",
            "store_id": None,
            "runs": 2,
            "runs_complete": 1,
            "window_days": 30,
            "groups": [
                {
                    "group": "contacted",
                    "members": members,
                    "buyers": 45,
                    "purchase_rate": 0.45,
                    "spend": 4500.0,
                    "spend_per_member": 45.0,
                },
                {
                    "group": "held_out",
                    "members": members,
                    "buyers": 30,
                    "purchase_rate": 0.30,
                    "spend": 3000.0,
                    "spend_per_member": 30.0,
                },
            ],
            "purchase_rate": diff(rate, 1.0),
            "spend_per_member": diff(rate, 100.0),
        }
    )


def test_the_frame_has_one_row_per_rule() -> None:
    frame = uplift_frame([_rule("Birthday", (0.15, 0.05, 0.25)), _rule("Quiet", None, 0)])
    assert list(frame["rule"]) == ["Birthday", "Quiet"]
    row = frame.iloc[0]
    assert (row["contacted"], row["held_out"], row["rate_contacted"]) == (100, 100, 0.45)
    assert (row["rate_diff"], row["rate_low"], row["rate_high"]) == pytest.approx(
        (0.15, 0.05, 0.25)
    )
    assert row["spend_diff"] == pytest.approx(15.0) and bool(row["rate_distinguishable"])
    assert frame["rate_diff"].isna().tolist() == [False, True]
    assert uplift_frame([]).empty and "rate_diff" in uplift_frame([]).columns


def test_the_chart_draws_each_difference_with_its_interval() -> None:
    frame = uplift_frame(
        [
            _rule("Birthday", (0.15, 0.05, 0.25)),
            _rule("Lapse", (0.02, -0.03, 0.07)),
            _rule("Quiet", None, 0),
        ]
    )
    spec = uplift_figure(frame, measure="rate")
    bars = vega.values_of(spec, 1)  # the intervals; layer 2 has the points, the same rows
    assert vega.values_of(spec, 2) == bars
    assert [b["rule"] for b in bars] == ["Birthday", "Lapse"]  # no difference: left out
    assert [b["estimate"] for b in bars] == pytest.approx([15.0, 2.0])  # percentage points
    assert [b["high"] - b["estimate"] for b in bars] == pytest.approx([10.0, 5.0])
    assert [b["estimate"] - b["low"] for b in bars] == pytest.approx([10.0, 5.0])
    assert bars[0]["verdict"] != bars[1]["verdict"]  # distinguishable or not, coloured so
    assert spec["layer"][2]["encoding"]["color"]["field"] == "verdict"
    assert vega.values_of(spec, 0) == [{"zero": 0}]  # 0 marked
    spend = vega.values_of(uplift_figure(frame, measure="spend"), 1)
    assert [b["estimate"] for b in spend] == pytest.approx([15.0, 2.0])
    assert [b["high"] - b["estimate"] for b in spend] == pytest.approx([10.0, 5.0])
    empty = uplift_figure(uplift_frame([_rule("Quiet", None, 0)]))
    assert vega.is_empty(empty)
    assert vega.values_of(empty) == [{"message": "No run with both groups yet"}]
