"""Dashboard charts are built from the data they are given (checked on the specs' data and
encodings, not looks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from dashboard import charts, vega
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


def _zones(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Zone code -> its GeoJSON feature, over the off-scale (0) and on-scale (1) layers."""
    return {f["properties"]["zone"]: f for layer in (0, 1) for f in vega.values_of(spec, layer)}


def _labels(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Zone code -> its label lines, top to bottom, over the label layers."""
    rows = [r for i in range(3, len(spec["layer"])) for r in vega.values_of(spec, i)]
    out: dict[str, list[str]] = {}
    for r in sorted(rows, key=lambda r: r["offset"]):
        out.setdefault(r["zone"], []).append(r["text"])
    return out


def test_floor_heatmap_draws_every_zone_to_scale() -> None:
    values = {"C01": 120.0, "A2": 30.0}
    spec = charts.floor_heatmap(LAYOUT, values, metric="visits")
    zones = _zones(spec)
    assert set(zones) == {z.code for z in LAYOUT.zones}
    c01 = zones["C01"]["geometry"]
    assert c01 == {"type": "Polygon", "coordinates": [[[0, 10], [15, 10], [15, 22], [0, 22],
                                                       [0, 10]]]}  # fmt: skip
    # metres on an identity projection, y up: the plan to scale, its aspect ratio kept
    assert spec["projection"] == {"type": "identity", "reflectY": True}
    (outline,) = vega.values_of(spec, 2)
    assert outline["geometry"]["coordinates"] == [[[0, 0], [60, 0], [60, 40], [0, 40], [0, 0]]]
    assert spec["height"] == 600  # 900 px x 40 / 60 m
    assert all(layer["mark"]["type"] == "geoshape" for layer in spec["layer"][:3])


def test_floor_heatmap_colours_follow_the_values() -> None:
    # the aisle sees far more visits than any counter: it must not wash the counters out
    values = {"C01": 120.0, "A2": 3000.0, "C02": 0.0}
    spec = charts.floor_heatmap(LAYOUT, values, metric="visits")
    on_scale = {f["properties"]["zone"]: f["properties"]["value"] for f in vega.values_of(spec, 1)}
    assert on_scale == {"C01": 120.0, "C02": 0.0}  # top and bottom of the scale
    color = spec["layer"][1]["encoding"]["color"]
    assert color["scale"] == {"scheme": "yelloworangered", "domain": [0.0, 120.0]}
    assert color["legend"]["title"] == ["Visits"]  # the legend, over the counters only
    off = {f["properties"]["zone"]: f["properties"]["fill"] for f in vega.values_of(spec, 0)}
    assert off["A2"] == charts.OFF_SCALE_FILL  # aisles are outside the counters' scale
    assert off["C05"] == charts.NO_DATA_FILL  # no data is grey, not "zero"
    labels = _labels(spec)
    assert labels["C01"] == ["C01", "Lumiere Beauty", "120"]
    assert labels["A2"][-1] == "3,000" and labels["C05"][-1] == "–"
    cx, cy = LAYOUT.zone("C01").centroid
    c01 = next(r for i in range(3, len(spec["layer"])) for r in vega.values_of(spec, i)
               if r["zone"] == "C01")  # fmt: skip
    assert (c01["x"], c01["y"]) == (cx, cy)
    assert c01["text_color"] == "white"  # on the darkest red


def test_floor_heatmap_median_dwell_reads_as_durations() -> None:
    values = charts.zone_metric_values(_zone_visits(), _dwell(), "median_dwell")
    assert values == {"A2": 20.0, "C01": 120.0, "ENT": 6.0}
    spec = charts.floor_heatmap(LAYOUT, values, metric="median_dwell")
    c01 = _zones(spec)["C01"]["properties"]
    assert c01["value_text"] == "2 min 00 s"
    assert {"field": "properties.value_text", "title": "Median dwell"} in spec["layer"][1][
        "encoding"
    ]["tooltip"]
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
        ("C01", 13.0, ["C01", "Lumiere Beauty", "42"]),  # 15 x 12 m: everything fits
        ("ENT", 8.0, ["ENT · 42"]),  # 4 m tall at 8 px/m: one line
        ("EXIT", 3.0, ["EXIT"]),  # 6 m wide at 3 px/m: the code only
    ],
)
def test_zone_label_fits_the_zone(code: str, px_per_m: float, expected: list[str]) -> None:
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
    assert charts.color_for(0.0, 0.0, 1.0) == "rgb(255, 255, 204)"  # YlOrRd's ends
    assert charts.color_for(5.0, 0.0, 1.0) == "rgb(128, 0, 38)"


# --- footfall --------------------------------------------------------------------------------


def test_footfall_hourly_bars_carry_the_values_and_fill_gaps() -> None:
    foot = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(["2026-11-02T10:00Z", "2026-11-02T13:00Z"]),
            "entries": [5, 9],
        }
    )
    spec = charts.footfall_figure(foot, bucket="hour", timezone="Europe/Paris")
    rows = vega.values_of(spec)
    assert [r["entries"] for r in rows] == [5, 0, 0, 9]
    # store time (UTC+1), as wall-clock readings on a UTC scale: an hour wide each
    assert [r["at"][11:16] for r in rows] == ["11:00", "12:00", "13:00", "14:00"]
    assert rows[0]["until"] == "2026-11-02T12:00:00Z"
    x = spec["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"] == {"type": "utc"}
    assert x["axis"]["title"] == "Hour (Europe/Paris)" and x["axis"]["labelAngle"] == 0
    assert spec["encoding"]["y"]["axis"]["title"] == "Entries (trips started)"


def test_footfall_days_cover_the_whole_period() -> None:
    foot = pd.DataFrame({"bucket_start": pd.to_datetime(["2026-11-02T00:00Z"]), "entries": [644]})
    spec = charts.footfall_figure(
        foot,
        bucket="day",
        start=datetime(2026, 10, 30, tzinfo=UTC),
        end=datetime(2026, 11, 3, tzinfo=UTC),
    )
    rows = vega.values_of(spec)
    labels = ["Fri 30 Oct", "Sat 31 Oct", "Sun 01 Nov", "Mon 02 Nov"]
    assert [r["label"] for r in rows] == labels
    assert [r["entries"] for r in rows] == [0, 0, 0, 644]
    x = spec["encoding"]["x"]
    assert x["type"] == "nominal" and x["sort"] == labels and x["axis"]["labelAngle"] == 0


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


def _series(spec: dict[str, Any], name: str, key: str = "value") -> list[Any]:
    return [r[key] for r in vega.values_of(spec) if r["series"] == name]


def test_dwell_figure_orders_zones_and_picks_a_unit() -> None:
    spec = charts.dwell_figure(_dwell(), zone_names={"C01": "Lumiere Beauty"})
    assert spec["encoding"]["color"]["scale"]["domain"] == ["Median", "90th percentile"]
    assert spec["encoding"]["xOffset"]["field"] == "series"  # side by side
    assert spec["encoding"]["x"]["sort"] == ["C01", "A2", "ENT"]  # longest median first
    assert _series(spec, "Median", "zone") == ["C01", "A2", "ENT"]
    assert _series(spec, "Median") == [2.0, 20 / 60, 0.1]  # minutes: the longest p90 is 5 min
    assert _series(spec, "90th percentile") == [5.0, 40 / 60, 9 / 60]
    assert spec["encoding"]["y"]["axis"]["title"] == "Dwell per visit (min)"
    assert _series(spec, "Median", "zone_text")[0] == "C01 · Lumiere Beauty"
    assert _series(spec, "Median", "value_text")[0] == "2 min 00 s"


def test_short_dwell_stays_in_seconds() -> None:
    spec = charts.dwell_figure(_dwell()[_dwell()["zone"] != "C01"])
    assert _series(spec, "Median") == [20.0, 6.0]
    assert spec["encoding"]["y"]["axis"]["title"] == "Dwell per visit (s)"


def test_zone_visits_figure_ranks_zones() -> None:
    spec = charts.zone_visits_figure(_zone_visits())
    assert spec["encoding"]["x"]["sort"] == ["A2", "C01", "C02"]  # ties broken by zone code
    assert _series(spec, "Visits") == [30, 12, 12]
    assert _series(spec, "Visitors (distinct tags)") == [9, 7, 4]


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
    spec = build()  # type: ignore[operator]
    assert vega.is_empty(spec)
    assert vega.values_of(spec)[0]["message"].startswith("No ")


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


# --- the pages' own charts -------------------------------------------------------------------


def test_overview_footfall_bars_span_their_buckets_with_last_week_over_them() -> None:
    from dashboard.views.overview import footfall_figure

    frame = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(["2026-11-02T00:00+01:00", "2026-11-03T00:00+01:00"]),
            "entries": [640, 700],
            "previous_week": [600, None],
        }
    )
    spec = footfall_figure(frame, "day")
    rows = vega.values_of(spec)
    # store-local wall time, whatever the browser's zone
    assert rows[0]["at"] == "2026-11-02T00:00:00Z"
    # bars a day wide, centred on the day (its label under it)
    assert (rows[0]["from"], rows[0]["until"]) == ("2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z")
    assert [r["previous_week"] for r in rows] == [600, None]
    bars, line = spec["layer"]
    assert bars["encoding"]["color"]["datum"] == "this period"
    assert line["encoding"]["color"]["datum"] == "one week earlier"
    assert line["encoding"]["x"]["field"] == "at"  # over the middle of its bar


def test_dwell_distribution_on_a_log_axis() -> None:
    from dashboard.views.dwell import distribution_figure

    bins = pd.DataFrame(
        {"zone": ["C01"] * 2, "low_s": [0.0, 10.0], "high_s": [1.0, 13.0], "visits": [2, 40]}
    )
    spec = distribution_figure(bins, "Lumiere Beauty")
    rows = vega.values_of(spec)
    assert [(r["low"], r["high"], r["visits"]) for r in rows] == [(0.5, 1.0, 2), (10.0, 13.0, 40)]
    assert rows[0]["bin_text"] == "under 1 s" and rows[1]["bin_text"] == "10 s – 13 s"
    assert spec["encoding"]["x"]["scale"]["type"] == "log"


def test_experiment_series_shades_the_days_and_names_its_lines() -> None:
    from dashboard.views.experiments import series_figure

    days = pd.to_datetime(["2026-11-08", "2026-11-09", "2026-11-08", "2026-11-09"])
    daily = pd.DataFrame(
        {"day": days, "unit": ["C06", "C06", "C01", "C02"], "traffic": [10.0, 20.0, 5.0, 7.0]}
    )
    spec = series_figure(daily, ["C06"], ["C01", "C02"], "traffic", [("2026-11-09", "2026-11-15")])
    (span,) = vega.values_of(spec, 0)
    assert (span["start"], span["end"]) == ("2026-11-08T12:00:00Z", "2026-11-15T12:00:00Z")
    lines = vega.values_of(spec, 1)
    assert [(r["series"], r["value"]) for r in lines] == [
        ("C06", 10.0), ("C06", 20.0), ("control (mean)", 5.0), ("control (mean)", 7.0)
    ]  # fmt: skip
