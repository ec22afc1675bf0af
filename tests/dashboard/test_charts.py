"""Dashboard figures are built from the data they are given (checked on the traces, not looks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboard import charts
from orchestration import demo_data
from storeflow.layout import StoreLayout

LAYOUT: StoreLayout = demo_data.layout()


def _dwell() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone": ["A2", "C01", "ENT"],
            "visits": [20, 10, 5],
            "median_s": [20.0, 120.0, 6.0],
            "p90_s": [40.0, 300.0, 9.0],
            "mean_s": [25.0, 150.0, 7.0],
        }
    )


def _zone_visits() -> pd.DataFrame:
    return pd.DataFrame(
        {"zone": ["A2", "C01", "C02"], "visits": [30, 12, 12], "visitors": [9, 7, 4]}
    )


# --- floor heatmap ---------------------------------------------------------------------------


def test_floor_heatmap_draws_every_zone_to_scale() -> None:
    values = {"C01": 120.0, "A2": 30.0}
    fig = charts.floor_heatmap(LAYOUT, values, metric="visits")
    zone_traces = {t.name: t for t in fig.data if t.name != "labels"}
    assert set(zone_traces) == {z.code for z in LAYOUT.zones}
    c01 = zone_traces["C01"]
    assert c01.fill == "toself"
    assert list(c01.x) == [0, 15, 15, 0, 0] and list(c01.y) == [10, 10, 22, 22, 10]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert tuple(fig.layout.xaxis.range) == (-0.5, 60.5)
    assert tuple(fig.layout.yaxis.range) == (-0.5, 40.5)


def test_floor_heatmap_colours_follow_the_values() -> None:
    # the aisle sees far more visits than any counter: it must not wash the counters out
    values = {"C01": 120.0, "A2": 3000.0, "C02": 0.0}
    fig = charts.floor_heatmap(LAYOUT, values, metric="visits")
    fills = {t.name: t.fillcolor for t in fig.data if t.name != "labels"}
    assert fills["C01"] == charts.color_for(1.0, 0.0, 1.0)  # the top of the scale
    assert fills["C02"] == charts.color_for(0.0, 0.0, 1.0)  # zero visits: the bottom
    assert fills["A2"] == charts.OFF_SCALE_FILL  # aisles are outside the counters' scale
    assert fills["C05"] == charts.NO_DATA_FILL  # no data is grey, not "zero"
    labels = next(t for t in fig.data if t.name == "labels")
    assert labels.marker.showscale is True
    assert (labels.marker.cmin, labels.marker.cmax) == (0.0, 120.0)
    assert labels.marker.colorbar.title.text == "Visits"
    texts = dict(zip([z.code for z in LAYOUT.zones], labels.text, strict=True))
    assert texts["C01"] == "<b>C01</b><br>Lumiere Beauty<br>120"
    assert texts["C05"].endswith("–")
    cx, cy = LAYOUT.zone("C01").centroid
    i = [z.code for z in LAYOUT.zones].index("C01")
    assert (labels.x[i], labels.y[i]) == (cx, cy)


def test_floor_heatmap_median_dwell_reads_as_durations() -> None:
    values = charts.zone_metric_values(_zone_visits(), _dwell(), "median_dwell")
    assert values == {"A2": 20.0, "C01": 120.0, "ENT": 6.0}
    fig = charts.floor_heatmap(LAYOUT, values, metric="median_dwell")
    c01 = next(t for t in fig.data if t.name == "C01")
    assert "Median dwell: 2 min 00 s" in c01.text
    with pytest.raises(KeyError):
        charts.floor_heatmap(LAYOUT, values, metric="visits", floor_id="F9")


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("visits", {"A2": 30.0, "C01": 12.0, "C02": 12.0}),
        ("visitors", {"A2": 9.0, "C01": 7.0, "C02": 4.0}),
        ("median_dwell", {"A2": 20.0, "C01": 120.0, "ENT": 6.0}),
    ],
)
def test_zone_metric_values(metric: charts.HeatMetric, expected: dict[str, float]) -> None:
    assert charts.zone_metric_values(_zone_visits(), _dwell(), metric) == expected


@pytest.mark.parametrize(
    ("code", "px_per_m", "expected"),
    [
        ("C01", 13.0, "<b>C01</b><br>Lumiere Beauty<br>42"),  # 15 x 12 m: everything fits
        ("ENT", 8.0, "<b>ENT</b> · 42"),  # 4 m tall at 8 px/m: one line
        ("EXIT", 3.0, "<b>EXIT</b>"),  # 6 m wide at 3 px/m: the code only
    ],
)
def test_zone_label_fits_the_zone(code: str, px_per_m: float, expected: str) -> None:
    assert charts.zone_label(LAYOUT.zone(code), "42", px_per_m=px_per_m) == expected


@pytest.mark.parametrize(
    ("fill", "text"),
    [
        ("rgb(255, 255, 204)", "black"),
        ("rgb(128, 0, 38)", "white"),
        ("rgb(225, 225, 225)", "black"),
    ],
)
def test_label_text_contrasts_with_the_fill(fill: str, text: str) -> None:
    assert charts.text_color_for(fill) == text


# --- footfall --------------------------------------------------------------------------------


def test_footfall_hourly_bars_carry_the_values_and_fill_gaps() -> None:
    foot = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(["2026-11-02T10:00Z", "2026-11-02T13:00Z"]),
            "entries": [5, 9],
        }
    )
    fig = charts.footfall_figure(foot, bucket="hour", timezone="Europe/Paris")
    assert list(fig.data[0].y) == [5, 0, 0, 9]
    assert [ts.hour for ts in fig.data[0].x] == [11, 12, 13, 14]  # store time (UTC+1)
    assert fig.layout.xaxis.title.text == "Hour (Europe/Paris)"
    assert fig.layout.yaxis.title.text == "Entries (trips started)"


def test_footfall_days_cover_the_whole_period() -> None:
    foot = pd.DataFrame({"bucket_start": pd.to_datetime(["2026-11-02T00:00Z"]), "entries": [644]})
    fig = charts.footfall_figure(
        foot,
        bucket="day",
        start=datetime(2026, 10, 30, tzinfo=UTC),
        end=datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert list(fig.data[0].x) == ["Fri 30 Oct", "Sat 31 Oct", "Sun 01 Nov", "Mon 02 Nov"]
    assert list(fig.data[0].y) == [0, 0, 0, 644]
    assert fig.layout.xaxis.type == "category"


@pytest.mark.parametrize(
    ("bucket", "start", "end", "expected"),
    [
        # no period: from the first to the last bucket given
        ("hour", None, None, [3, 0, 4]),
        # a period wider than the data: zeros on both sides
        ("hour", "2026-11-02T09:30Z", "2026-11-02T14:00Z", [0, 3, 0, 4, 0]),
        ("day", "2026-11-01T00:00Z", "2026-11-03T00:00Z", [0, 7]),
    ],
)
def test_fill_buckets(bucket: str, start: str | None, end: str | None, expected: list[int]) -> None:
    foot = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(
                ["2026-11-02T10:00Z", "2026-11-02T12:00Z"]
                if bucket == "hour"
                else ["2026-11-02T00:00Z", "2026-11-02T00:00Z"]
            ),
            "entries": [3, 4],
        }
    )
    filled = charts.fill_buckets(
        foot,
        bucket="hour" if bucket == "hour" else "day",
        start=pd.Timestamp(start).to_pydatetime() if start else None,
        end=pd.Timestamp(end).to_pydatetime() if end else None,
    )
    assert list(filled["entries"]) == expected


# --- dwell and visits ------------------------------------------------------------------------


def test_dwell_figure_orders_zones_and_picks_a_unit() -> None:
    fig = charts.dwell_figure(_dwell(), zone_names={"C01": "Lumiere Beauty"})
    median, p90 = fig.data
    assert (median.name, p90.name) == ("Median", "90th percentile")
    assert list(median.x) == ["C01", "A2", "ENT"]  # longest median first
    assert list(median.y) == [2.0, 20 / 60, 0.1]  # minutes: the longest p90 is 5 min
    assert list(p90.y) == [5.0, 40 / 60, 9 / 60]
    assert fig.layout.yaxis.title.text == "Dwell per visit (min)"
    assert median.customdata[0][0] == "C01 · Lumiere Beauty"


def test_short_dwell_stays_in_seconds() -> None:
    fig = charts.dwell_figure(_dwell()[_dwell()["zone"] != "C01"])
    assert list(fig.data[0].y) == [20.0, 6.0]
    assert fig.layout.yaxis.title.text == "Dwell per visit (s)"


def test_zone_visits_figure_ranks_zones() -> None:
    fig = charts.zone_visits_figure(_zone_visits())
    visits, visitors = fig.data
    assert list(visits.x) == ["A2", "C01", "C02"]  # ties broken by zone code
    assert list(visits.y) == [30, 12, 12]
    assert list(visitors.y) == [9, 7, 4]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "no data"), (float("nan"), "no data"), (44.6, "45 s"), (125, "2 min 05 s"),
     (3720, "1 h 02 min")],
)  # fmt: skip
def test_format_duration(seconds: float | None, text: str) -> None:
    assert charts.format_duration(seconds) == text


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.footfall_figure(
            pd.DataFrame({"bucket_start": [], "entries": []}), bucket="day"
        ),
        lambda: charts.dwell_figure(
            pd.DataFrame(columns=["zone", "visits", "median_s", "p90_s", "mean_s"])
        ),
        lambda: charts.zone_visits_figure(pd.DataFrame(columns=["zone", "visits", "visitors"])),
    ],
)
def test_empty_data_says_so(build: object) -> None:
    fig = build()  # type: ignore[operator]
    assert len(fig.data) == 0
    assert any("No " in (a.text or "") for a in fig.layout.annotations)


# --- tables ----------------------------------------------------------------------------------


def test_dwell_table_names_zones_and_rounds_seconds() -> None:
    dwell = _dwell()
    dwell.loc[1, "median_s"] = 120.04
    ghost = pd.DataFrame(
        {"zone": ["GHOST"], "visits": [1], "median_s": [5.0], "p90_s": [5.0], "mean_s": [5.0]}
    )
    dwell = pd.concat([dwell, ghost], ignore_index=True)
    table = charts.dwell_table(dwell, LAYOUT)
    assert list(table["Zone"]) == ["C01", "A2", "ENT", "GHOST"]
    assert list(table["Name"]) == ["Lumiere Beauty", "Front aisle centre", "Main entrance",
                                   "(not in the layout)"]  # fmt: skip
    # the unit of the dwell chart (minutes: its longest bar, C01's p90, is 300 s)
    assert charts.dwell_unit(300.0) == ("min", 60.0)
    assert table.loc[0, "Median dwell (min)"] == 2.0
    assert list(table["Kind"])[:3] == ["counter", "aisle", "entrance"]


def test_zone_table_joins_visits_and_dwell() -> None:
    table = charts.zone_table(_zone_visits(), _dwell(), LAYOUT)
    rows = {r["Zone"]: r for r in table.to_dict("records")}
    assert list(table["Zone"]) == ["A2", "C01", "C02", "ENT"]
    assert (rows["A2"]["Visits"], rows["A2"]["Visitors"], rows["A2"]["Median dwell (s)"]) == (
        30,
        9,
        20.0,
    )
    assert pd.isna(rows["C02"]["Median dwell (s)"])  # visits but no dwell row
    assert (rows["ENT"]["Visits"], rows["ENT"]["Visitors"]) == (0, 0)
