"""The pure parts of the pages: formatting for people, the main flows, the heatmap hours,
and how experiment effects are worded and grouped."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from dashboard import fmt
from dashboard.views.experiments import by_unit, change
from dashboard.views.overview import heatmap_figure, heatmap_hours, staffing_figure
from dashboard.views.paths import flow_links, flows_figure, matrix_figure, zone_order
from orchestration import demo_data
from storeflow.layout import StoreLayout

LAYOUT: StoreLayout = demo_data.layout()


def test_figures_are_formatted_for_people() -> None:
    assert fmt.money(191.6052, symbol="€") == "€ 192"
    assert fmt.money(None) == "–"
    assert fmt.pct(0.603) == "60.3 %"
    assert fmt.day(datetime(2026, 11, 22, tzinfo=UTC)) == "22 Nov 2026"
    assert fmt.moment("2026-11-22T00:00:00+00:00") == "22 Nov 2026 00:00"
    assert fmt.minutes(150) == "2.5 min"
    assert fmt.relative_change(108, 100) == "+8% relative"
    assert fmt.point_change(0.45, 0.43) == "+2.0 points"
    assert fmt.relative_change(5, 0) is None
    assert fmt.currency({"STOREFLOW_CURRENCY": "CHF"}) == "CHF"


def test_both_heatmaps_show_the_same_hours() -> None:
    heat = pd.DataFrame(
        {
            "weekday": [0, 0, 1],
            "hour": [10, 22, 11],
            "days": [1, 1, 1],
            "entries_per_day": [5.0, 0.0, 3.0],  # 22:00: sales but no trip started
            "conversion": [0.4, None, 0.5],
        }
    )
    heat["conversion_pct"] = heat["conversion"].astype("float64") * 100
    hours = heatmap_hours(heat)
    assert hours == [10, 11]
    from dashboard import vega

    a = heatmap_figure(heat, "entries_per_day", "a", ".0f", hours)
    b = heatmap_figure(heat, "conversion_pct", "b", ".0f", hours)
    x_a, x_b = (spec["layer"][0]["encoding"]["x"]["scale"]["domain"] for spec in (a, b))
    assert x_a == x_b == ["10:00", "11:00"]
    # a cell per weekday and hour with a value; 22:00 is not a column, the empty cell is blank
    assert vega.values_of(b) == [
        {"weekday": "Mon", "hour": "10:00", "value": 40.0},
        {"weekday": "Tue", "hour": "11:00", "value": 50.0},
    ]


def test_the_flow_chart_draws_no_move_back_and_keeps_a_readable_number_of_links() -> None:
    order = zone_order(LAYOUT)
    entrance = next(z.code for z in LAYOUT.zones if z.kind.value == "entrance")
    assert order[entrance] == 0
    moves = [(a, b) for a, nbrs in LAYOUT.adjacency().items() for b in nbrs]
    transitions = pd.DataFrame(
        [(a, b, 100 - i, 0.5) for i, (a, b) in enumerate(moves)],
        columns=["source", "target", "count", "probability"],
    )
    forward, back = flow_links(transitions, order, top=10)
    assert len(forward) + len(back) == 10
    pairs = set(zip(forward["source"], forward["target"], strict=True))
    assert not any((b, a) in pairs for a, b in pairs)  # no loop between two zones
    assert all(order[a] <= order[b] for a, b in pairs)
    names = {z.code: z.name for z in LAYOUT.zones}
    spec = flows_figure(forward, names, top=10, total=int(transitions["count"].sum()))
    bars = spec["data"]["values"]
    assert len(bars) == len(forward)  # one bar per move drawn, the largest on top
    assert [b["moves"] for b in bars] == sorted((b["moves"] for b in bars), reverse=True)
    a, b = forward.iloc[0][["source", "target"]]
    assert bars[0]["move"] == f"{names[a]} → {names[b]}"
    assert spec["layer"][0]["encoding"]["y"]["sort"] is None  # kept in rank order


def test_the_transition_matrix_shows_each_probability_in_its_cell() -> None:
    transitions = pd.DataFrame(
        [("ENT", "A1", 30, 0.75), ("ENT", "A2", 10, 0.25), ("A1", "EXIT", 5, 1.0)],
        columns=["source", "target", "count", "probability"],
    )
    spec = matrix_figure(transitions)
    cells = {(c["source"], c["target"]): c["pct"] for c in spec["data"]["values"]}
    assert cells == {("ENT", "A1"): 75.0, ("ENT", "A2"): 25.0, ("A1", "EXIT"): 100.0}
    rect, text = spec["layer"]
    assert rect["mark"]["type"] == "rect" and rect["encoding"]["color"]["field"] == "pct"
    assert text["encoding"]["text"]["field"] == "pct"  # the value written in each cell


def test_effects_say_their_kind_and_each_moved_counter_stands_alone() -> None:
    base = {"ci_low": 0.0, "ci_high": 0.0, "distinguishable": False}
    effects = [
        {**base, "metric": "traffic", "estimate": -0.9, "relative": -0.6, "unit": "C03"},
        {**base, "metric": "conversion", "estimate": 0.012, "relative": 0.05, "unit": "C03"},
        {**base, "metric": "traffic", "estimate": 1.0, "relative": 1.7, "unit": "C07"},
    ]
    assert change(effects[0]) == "-60% relative"
    assert change(effects[1]) == "+1.2 points (+5% relative)"
    groups = dict(by_unit(effects))
    assert set(groups) == {"C03", "C07"} and len(groups["C03"]) == 2


def test_shoppers_per_staff_leave_closed_hours_as_gaps_and_mark_hours_without_staff() -> None:
    from dashboard import vega
    from storeflow.api.analytics import StaffHour, Staffing

    def hour(h: int, shoppers: float, staff: int) -> StaffHour:
        return StaffHour(
            hour_start=datetime(2026, 11, 2, h, tzinfo=UTC),
            shoppers=shoppers,
            staff=staff,
            shoppers_per_staff=shoppers / staff if staff else None,
        )

    got = Staffing(
        shoppers_per_staff=2.0,
        busiest=None,
        hours_without_staff=1,
        hours=[hour(10, 4.0, 2), hour(11, 3.0, 0), hour(14, 6.0, 3)],
    )
    spec = staffing_figure(got)
    line, alone = vega.values_of(spec, 0), vega.values_of(spec, 1)
    assert len(line) == 5  # 10:00 to 14:00, hour by hour
    assert [r["ratio"] for r in line] == [2.0, None, None, None, 2.0]
    assert line[0]["segment"] != line[-1]["segment"]  # the line does not cross the gap
    assert spec["layer"][0]["encoding"]["detail"]["field"] == "segment"
    assert [r["at"] for r in alone] == ["2026-11-02T11:00:00Z"]
    assert spec["layer"][1]["encoding"]["color"]["datum"] == "no staff seen"
