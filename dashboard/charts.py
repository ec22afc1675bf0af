"""Pure chart builders for the planner dashboard: DataFrame / StoreLayout in, Vega-Lite spec out.

Nothing here talks to the server or to Streamlit, so every chart can be checked in a unit test
by its data (the spec's inline values, layer by layer) and its encodings.

Column contracts (as :mod:`dashboard.api` returns them):
footfall ``bucket_start`` (UTC datetime), ``entries``; dwell ``zone``, ``visits``, ``median_s``,
``p90_s``, ``mean_s``; zone visits ``zone``, ``visits``, ``visitors``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from dashboard import vega
from dashboard.vega import Spec
from storeflow.api.analytics import VISITOR_MIN_DWELL_S
from storeflow.api.calendar import StoreEvent
from storeflow.layout import Floor, StoreLayout, Zone, ZoneKind

logger = logging.getLogger(__name__)

HeatMetric = Literal[
    "visits", "visitors", "median_dwell", "holding_power", "conversion", "sales_per_m2"
]

COLORSCHEME = "yelloworangered"  # Vega's name of ColorBrewer's YlOrRd
# ColorBrewer YlOrRd, light to dark: label contrast on the scheme's colours is judged on these
YLORRD = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
          "#bd0026", "#800026"]  # fmt: skip
NO_DATA_FILL = "rgb(225, 225, 225)"
OFF_SCALE_FILL = "rgb(245, 245, 240)"  # zones outside the colour scale (aisles, entrance, ...)
ZONE_LINE = "#555555"
FLOOR_LINE = "#222222"
MEDIAN_COLOR = "#1f77b4"
P90_COLOR = "#ff7f0e"
VISITS_COLOR = "#2c7fb8"
VISITORS_COLOR = "#7fcdbb"

# Definitions shown next to the figures (see docs/metrics.md).
FOOTFALL_DEFINITION = (
    "Footfall = entries: trips (one shopper's stay, entrance to exit or checkout) starting in "
    "the period. A gap of more than the trip gap (default 30 min) starts a new trip."
)
DWELL_DEFINITION = (
    "Dwell = exit − enter of one zone visit (a shopper tag present in the zone). Median: half of "
    "the visits were shorter; 90th percentile: 9 in 10 visits were shorter. Shopper tags only "
    "(member cards, carts, baskets); staff excluded."
)
VISITS_DEFINITION = (
    "Visits = zone visits (a tag entering and leaving the zone; one shopper can visit a zone "
    "several times). Visitors = distinct tags seen in the zone each day, added over the days."
)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    key: HeatMetric
    label: str
    legend_title: tuple[str, ...]  # the colour legend's title, one line each
    definition: str


HEAT_METRICS: dict[HeatMetric, MetricSpec] = {
    "visits": MetricSpec("visits", "Visits", ("Visits",), VISITS_DEFINITION),
    "visitors": MetricSpec(
        "visitors", "Visitors", ("Visitors", "(distinct tags)"), VISITS_DEFINITION
    ),
    "median_dwell": MetricSpec(
        "median_dwell", "Median dwell", ("Median", "dwell (s)"), DWELL_DEFINITION
    ),
    "holding_power": MetricSpec(
        "holding_power",
        "Holding power",
        ("Holding", "power"),
        "Holding power = the zone's median dwell ÷ its typical median (the 8 weeks before; "
        "without history, the median of zones of the same kind). Above 1: shoppers stay longer "
        "than usual.",
    ),
    "conversion": MetricSpec(
        "conversion",
        "Counter conversion",
        ("Conversion", "(%)"),
        f"Counter zones only: visitor trips (≥ {VISITOR_MIN_DWELL_S:.0f} s) that bought at the "
        "counter ÷ visitor trips.",
    ),
    "sales_per_m2": MetricSpec(
        "sales_per_m2",
        "Sales per m²",
        ("Sales", "per m²"),
        "Counter zones only: the counter's sales in the period ÷ its floor area.",
    ),
}


# --- helpers ---------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """45 -> '45 s', 125 -> '2 min 05 s', 3720 -> '1 h 02 min'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "no data"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def dwell_unit(max_seconds: float) -> tuple[str, float]:
    """Unit for a dwell axis: minutes once the longest bar passes 3 minutes."""
    if max_seconds > 180:
        return "min", 60.0
    return "s", 1.0


def zone_metric_values(
    zone_visits: pd.DataFrame,
    dwell: pd.DataFrame,
    metric: HeatMetric,
    *,
    counters: pd.DataFrame | None = None,
    counter_zone: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Zone code -> value of the heat-map metric (dwell in seconds, conversion in %).

    Counter metrics come from ``counters`` (by counter code, placed by ``counter_zone``).
    Zones without data are absent."""
    if metric in ("conversion", "sales_per_m2"):
        if counters is None or counter_zone is None:
            return {}
        scale = 100.0 if metric == "conversion" else 1.0
        return {
            counter_zone[str(c)]: float(v) * scale
            for c, v in zip(counters["code"], counters[metric], strict=True)
            if str(c) in counter_zone and v is not None and not pd.isna(v)
        }
    if metric == "median_dwell":
        frame, column = dwell, "median_s"
    elif metric == "holding_power":
        frame, column = dwell, "holding_power"
        if column not in frame.columns:
            return {}
    else:
        frame, column = zone_visits, metric
    out: dict[str, float] = {}
    for zone, value in zip(frame["zone"], frame[column], strict=True):
        if value is None or pd.isna(value):
            continue
        out[str(zone)] = float(value)
    return out


def closed_polygon(zone: Zone) -> list[list[float]]:
    """The zone outline as [x, y] points, first point repeated at the end (a GeoJSON ring)."""
    ring = [[float(p[0]), float(p[1])] for p in zone.polygon]
    return [*ring, ring[0]]


def _hex_rgb(color: str) -> tuple[float, float, float]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def color_for(value: float, vmin: float, vmax: float) -> str:
    """The colour of ``value`` on YlOrRd spanning [vmin, vmax], as 'rgb(r, g, b)' (the stops
    linearly interpolated; close to Vega's scheme, used to pick a readable label colour)."""
    span = vmax - vmin
    frac = 0.0 if span <= 0 else min(1.0, max(0.0, (value - vmin) / span))
    pos = frac * (len(YLORRD) - 1)
    i = min(int(pos), len(YLORRD) - 2)
    t = pos - i
    lo, hi = _hex_rgb(YLORRD[i]), _hex_rgb(YLORRD[i + 1])
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi, strict=True))
    return f"rgb({r}, {g}, {b})"


def text_color_for(fill: str) -> str:
    """Black or white label text, whichever reads better on ``fill`` ('rgb(r, g, b)')."""
    parts = fill[fill.index("(") + 1 : fill.index(")")].split(",")
    r, g, b = (float(p) for p in parts[:3])
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return "black" if luminance > 140 else "white"


def _zone_label(code: str, names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(code)
    return f"{code} · {name}" if name else code


def legend_on_top() -> Spec:
    """A legend above the plot, horizontal, out of the data's way."""
    return {"orient": "top", "direction": "horizontal", "title": None}


# --- the store's calendar on time-series charts ----------------------------------------------

EVENT_STYLE: dict[str, tuple[str, str]] = {  # kind -> (span fill, line colour)
    "promotion": ("rgba(255,165,0,0.16)", "#e67e00"),
    "layout_change": ("rgba(148,103,189,0.12)", "#9467bd"),
    "other": ("rgba(127,127,127,0.12)", "#7f7f7f"),
}
CALENDAR_NOTE = (
    "Markers: the store's calendar — promotions shaded orange, layout changes purple, other "
    "events grey (Experiments page: record one)."
)
MAX_LABEL = 28
LABEL_ROW_PX = 13


def _x_range(spec: Spec, field: str = "at") -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last wall time a time-series spec draws (its ``field``, in any layer)."""
    parts = [spec, *spec.get("layer", [])]
    stamps = [
        pd.Timestamp(row[field])
        for part in parts
        for row in part.get("data", {}).get("values", [])
        if row.get(field) is not None
    ]
    if not stamps:
        return None
    return min(stamps), max(stamps)


def add_calendar(spec: Spec, events: list[StoreEvent], *, daily: bool = False) -> Spec:
    """Draw the store's events on a time-series spec (x: wall times in ``at``, see
    :func:`dashboard.vega.wall_time`), as layers: an event of several days a shaded span under
    the data, a one-day event a dashed rule at the start of its day, each labelled at the top
    with its title (the dates and counters as its tooltip). ``daily``: the x values are days
    (points at midnight), so a day's span runs from noon before to noon after. Events are
    clipped to the days the chart shows."""
    if not events or vega.is_empty(spec):
        return spec
    half = pd.Timedelta(hours=12) if daily else pd.Timedelta(0)
    shown = _x_range(spec)
    spans: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        fill, line = EVENT_STYLE.get(e.kind, EVENT_STYLE["other"])
        x0 = pd.Timestamp(e.first_day) - half
        x1 = pd.Timestamp(e.last_day) + pd.Timedelta(days=1) - half
        if shown is not None:
            lo, hi = shown[0] - half, shown[1] + (half if daily else pd.Timedelta(hours=1))
            lo, hi = lo.tz_localize(None), hi.tz_localize(None)
            if x1 <= lo or x0 > hi:
                continue
            x0, x1 = max(x0, lo), min(x1, hi)
        about = (
            f"{e.first_day:%d %b}"
            + (f" – {e.last_day:%d %b}" if e.last_day > e.first_day else "")
            + (f"; {', '.join(e.counters)}" if e.counters else "")
        )
        row = {
            "start": vega.wall_time(x0),
            "end": vega.wall_time(x1),
            "title": e.title,
            "label": e.title if len(e.title) <= MAX_LABEL else e.title[: MAX_LABEL - 1] + "…",
            "about": about,
            "fill": fill,
            "line": line,
            "row_y": 3 + LABEL_ROW_PX * (i % 3),
        }
        (spans if e.last_day > e.first_day else rules).append(row)
        labels.append(row)
    if not labels:
        return spec
    # no axis of their own: the chart's explicit axis (title, labels) wins when merged
    x = {"field": "start", "type": "temporal", "scale": {"type": "utc"}}
    tip = vega.tooltip(("title", "Calendar"), ("about", "When"))
    below: list[Spec] = []
    above: list[Spec] = []
    if spans:
        below.append(
            {
                "data": {"values": spans},
                "mark": {"type": "rect"},
                "encoding": {
                    "x": x,
                    "x2": {"field": "end"},
                    "fill": {"field": "fill", "type": "nominal", "scale": None, "legend": None},
                    "tooltip": tip,
                },
            }
        )
    if rules:
        above.append(
            {
                "data": {"values": rules},
                "mark": {"type": "rule", "strokeDash": [5, 3], "strokeWidth": 1.5},
                "encoding": {
                    "x": x,
                    "stroke": {"field": "line", "type": "nominal", "scale": None, "legend": None},
                    "tooltip": tip,
                },
            }
        )
    above.append(
        {
            "data": {"values": labels},
            "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3, "fontSize": 10},
            "encoding": {
                "x": x,
                "y": {"field": "row_y", "type": "quantitative", "scale": None},
                "text": {"field": "label", "type": "nominal"},
                "fill": {"field": "line", "type": "nominal", "scale": None, "legend": None},
                "tooltip": tip,
            },
        }
    )
    out = vega.layered(spec)
    return {**out, "layer": [*below, *out["layer"], *above]}


# --- figures ---------------------------------------------------------------------------------


BUCKET_FREQ: dict[str, Literal["h", "D"]] = {"hour": "h", "day": "D"}
MAX_FILLED_BUCKETS = 24 * 400


def fill_buckets(
    footfall: pd.DataFrame,
    *,
    bucket: Literal["hour", "day"],
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Every bucket of the period with its entries, 0 where no trip started.

    Buckets are aligned on UTC hours/midnights, as the server bins them (``date_bin`` from a UTC
    midnight). Without ``start``/``end`` the range runs from the first to the last bucket given.
    """
    stamps = pd.to_datetime(footfall["bucket_start"], utc=True)
    entries = pd.Series(footfall["entries"].astype("int64").to_numpy(), index=stamps)
    entries = entries.groupby(level=0).sum()
    freq = BUCKET_FREQ[bucket]
    lo = pd.Timestamp(start).tz_convert("UTC").floor(freq) if start is not None else None
    hi = pd.Timestamp(end).tz_convert("UTC") if end is not None else None
    if lo is None:
        lo = entries.index.min() if len(entries) else None
    if hi is None:
        hi = entries.index.max() + pd.Timedelta(1, unit=freq) if len(entries) else None
    if lo is None or hi is None or hi <= lo:
        return pd.DataFrame({"bucket_start": entries.index, "entries": entries.to_numpy()})
    index = pd.date_range(lo, hi, freq=freq, inclusive="left")
    if len(index) > MAX_FILLED_BUCKETS:
        logger.info("footfall period too long to fill (%s buckets), gaps left", len(index))
        index = pd.DatetimeIndex([], tz="UTC")
    filled = entries.reindex(index.union(pd.DatetimeIndex(entries.index)), fill_value=0)
    return pd.DataFrame({"bucket_start": filled.index, "entries": filled.to_numpy()})


def category_x(title: str, labels: list[str], **extra: Any) -> Spec:
    """An x axis of categories in the order given, labels horizontal while they fit, else at
    -45°."""
    return {
        "field": extra.pop("field", "label"),
        "type": "nominal",
        "sort": labels,
        "axis": vega.axis(title, labelAngle=0 if len(labels) <= 14 else -45, labelLimit=160),
        **extra,
    }


def footfall_figure(
    footfall: pd.DataFrame,
    *,
    bucket: Literal["hour", "day"],
    timezone: str = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
) -> Spec:
    """Entries (trips started) per hour or day, as bars in the store's local time.

    Buckets without trips are drawn as zero (over ``start``..``end`` when given), so a quiet day
    shows as a gap, not as a neighbour's bar stretched wide. Hours are bars an hour wide on a
    time axis; days are one labelled bar each ("Mon 02 Nov").
    """
    unit = "hour" if bucket == "hour" else "day"
    title = f"Footfall: entries per {unit}"
    if footfall.empty or int(footfall["entries"].sum()) == 0:
        return vega.empty(title, "No trips started in this period", height=380)
    data = fill_buckets(footfall, bucket=bucket, start=start, end=end)
    local = pd.to_datetime(data["bucket_start"], utc=True).dt.tz_convert(timezone)
    step = pd.Timedelta(hours=1) if bucket == "hour" else pd.Timedelta(days=1)
    values = vega.rows(
        {
            "at": vega.wall_time(ts),
            "until": vega.wall_time(ts + step),
            "label": ts.strftime(vega.DAY_LABEL),
            "when_text": ts.strftime("%a %d %b %H:%M" if bucket == "hour" else "%a %d %b %Y"),
            "entries": int(n),
        }
        for ts, n in zip(local, data["entries"], strict=True)
    )
    y = {
        "field": "entries",
        "type": "quantitative",
        "axis": vega.axis("Entries (trips started)", format=",d"),
    }
    tip = vega.tooltip(("when_text", "When"), ("entries", "Entries", ",d"))
    if bucket == "day":
        x = category_x(f"Day ({timezone})", [str(v["label"]) for v in values])
        encoding: Spec = {"x": x, "y": y, "tooltip": tip}
    else:
        encoding = {
            "x": vega.time_x(f"Hour ({timezone})"),
            "x2": {"field": "until"},
            "y": y,
            "y2": {"datum": 0},
            "tooltip": tip,
        }
    return vega.chart(
        title,
        height=380,
        data=values,
        mark={"type": "bar" if bucket == "day" else "rect", "color": VISITS_COLOR},
        encoding=encoding,
    )


def _grouped_bars(
    title: str,
    rows: list[dict[str, Any]],
    zones: list[str],
    series: list[tuple[str, str]],
    y_title: str,
    *,
    height: int,
    y_format: str,
) -> Spec:
    """Bars per zone side by side, one colour per series (label, colour)."""
    return vega.chart(
        title,
        height=height,
        data=rows,
        mark={"type": "bar"},
        encoding={
            "x": category_x("Zone", zones, field="zone"),
            "xOffset": {"field": "series", "type": "nominal", "sort": [s[0] for s in series]},
            "y": {
                "field": "value",
                "type": "quantitative",
                "axis": vega.axis(y_title, format=y_format),
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": [s[0] for s in series], "range": [s[1] for s in series]},
                "legend": legend_on_top(),
            },
            "tooltip": vega.tooltip(
                ("zone_text", "Zone"), ("series", "Measure"), ("value_text", "Value")
            ),  # fmt: skip
        },
    )


def dwell_figure(dwell: pd.DataFrame, *, zone_names: Mapping[str, str] | None = None) -> Spec:
    """Median and 90th-percentile dwell per zone side by side, zones ordered by median
    (longest first)."""
    title = "Dwell by zone"
    data = dwell.dropna(subset=["median_s"])
    if data.empty:
        return vega.empty(title, "No zone visits in this period", height=420)
    data = data.sort_values(["median_s", "zone"], ascending=[False, True])
    p90 = data["p90_s"].fillna(data["median_s"])
    unit, scale = dwell_unit(float(p90.max()))
    zones = [str(z) for z in data["zone"]]
    rows: list[dict[str, Any]] = []
    for label, seconds in (("Median", data["median_s"]), ("90th percentile", p90)):
        rows += vega.rows(
            {
                "zone": z,
                "zone_text": _zone_label(z, zone_names),
                "series": label,
                "value": float(s) / scale,
                "value_text": format_duration(float(s)),
            }
            for z, s in zip(zones, seconds, strict=True)
        )
    series = [("Median", MEDIAN_COLOR), ("90th percentile", P90_COLOR)]
    fmt = ".1f" if unit == "min" else ",.0f"
    return _grouped_bars(
        title, rows, zones, series, f"Dwell per visit ({unit})", height=420, y_format=fmt
    )


def zone_visits_figure(
    zone_visits: pd.DataFrame, *, zone_names: Mapping[str, str] | None = None
) -> Spec:
    """Visits and distinct visitors per zone side by side, most visited first."""
    title = "Visits per zone"
    if zone_visits.empty:
        return vega.empty(title, "No zone visits in this period", height=400)
    data = zone_visits.sort_values(["visits", "zone"], ascending=[False, True])
    zones = [str(z) for z in data["zone"]]
    series = [("Visits", VISITS_COLOR), ("Visitors (distinct tags)", VISITORS_COLOR)]
    rows: list[dict[str, Any]] = []
    for (label, _), column in zip(series, ("visits", "visitors"), strict=True):
        rows += vega.rows(
            {
                "zone": z,
                "zone_text": _zone_label(z, zone_names),
                "series": label,
                "value": int(v),
                "value_text": f"{int(v):,} {label.lower()}",
            }
            for z, v in zip(zones, data[column], strict=True)
        )
    return _grouped_bars(title, rows, zones, series, "Count", height=400, y_format=",d")


def _format_value(value: float, metric: HeatMetric) -> str:
    if metric == "median_dwell":
        return format_duration(value)
    if metric == "holding_power":
        return f"{value:.2f}"
    if metric == "conversion":
        return f"{value:.0f} %"
    return f"{value:,.0f}"


def _feature(ring: list[list[float]], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }


def floor_heatmap(
    layout: StoreLayout,
    values: Mapping[str, float],
    *,
    metric: HeatMetric,
    floor_id: str | None = None,
) -> Spec:
    """The floor plan to scale, each zone filled by its metric value, with a colour legend.

    Zones are GeoJSON polygons in metres on an identity projection (y up, the aspect ratio
    kept). Layers: 0, the zones off the colour scale (grey "no data", or neutral: aisles and
    the entrance see every shopper and would wash the counters out); 1, the zones on the scale
    (the counters with a value), coloured by it, with the legend; 2, the floor's outline;
    3-5, the labels at the zones' centroids (one layer per line position), as much of code,
    name and value as fits.
    """
    floor = _pick_floor(layout, floor_id)
    spec = HEAT_METRICS[metric]
    zones = [z for z in layout.zones if z.floor == floor.id]
    on_scale = {z.code for z in zones if z.kind == ZoneKind.COUNTER and z.code in values}
    if not on_scale:
        on_scale = {z.code for z in zones if z.code in values}
    present = [values[c] for c in on_scale]
    vmin = 0.0
    vmax = max(present) if present and max(present) > 0 else 1.0
    px_per_m = 0.85 * PLAN_WIDTH_PX / floor.width_m

    off: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for zone in zones:
        value = values.get(zone.code)
        shown = "no data" if value is None else _format_value(value, metric)
        props: dict[str, Any] = {
            "zone": zone.code,
            "zone_text": f"{zone.code} · {zone.name} ({zone.kind.value})",
            "value": value,
            "value_text": shown,
        }
        if value is None:
            fill = NO_DATA_FILL
        elif zone.code not in on_scale:
            fill = OFF_SCALE_FILL
        else:
            fill = color_for(value, vmin, vmax)
        if zone.code in on_scale:
            on.append(_feature(closed_polygon(zone), props))
        else:
            off.append(_feature(closed_polygon(zone), {**props, "fill": fill}))
        lines = zone_label(zone, "–" if value is None else _format_value(value, metric),
                           px_per_m=px_per_m)  # fmt: skip
        labels += [
            {
                "zone": zone.code,
                "x": zone.centroid[0],
                "y": zone.centroid[1],
                "text": line,
                "offset": i - (len(lines) - 1) / 2,  # lines centred on the centroid
                "bold": i == 0,
                "text_color": text_color_for(fill),
            }
            for i, line in enumerate(lines)
        ]
    tip = vega.tooltip(("properties.zone_text", "Zone"), ("properties.value_text", spec.label))
    stroke = {"stroke": ZONE_LINE, "strokeWidth": 1}
    layers: list[Spec] = [
        {
            "data": {"values": off},
            "mark": {"type": "geoshape", **stroke},
            "encoding": {
                "fill": {
                    "field": "properties.fill",
                    "type": "nominal",
                    "scale": None,
                    "legend": None,
                },
                "tooltip": tip,
            },
        },
        {
            "data": {"values": on},
            "mark": {"type": "geoshape", **stroke},
            "encoding": {
                "color": {
                    "field": "properties.value",
                    "type": "quantitative",
                    "scale": {"scheme": COLORSCHEME, "domain": [vmin, vmax]},
                    "legend": {"title": list(spec.legend_title), "gradientLength": 200},
                },
                "tooltip": tip,
            },
        },
        {
            "data": {
                "values": [
                    _feature(
                        [
                            [0.0, 0.0],
                            [floor.width_m, 0.0],
                            [floor.width_m, floor.height_m],
                            [0.0, floor.height_m],
                            [0.0, 0.0],
                        ],  # fmt: skip
                        {"floor": floor.id},
                    )
                ]
            },
            "mark": {
                "type": "geoshape",
                "filled": False,
                "stroke": FLOOR_LINE,
                "strokeWidth": 2,
            },  # fmt: skip
        },
        *(
            _label_layer(labels, o, b)
            for o, b in sorted({(r["offset"], r["bold"]) for r in labels})
        ),
    ]
    # Height follows the floor's aspect ratio so the plan fills the width without distortion.
    height = int(min(900, max(320, PLAN_WIDTH_PX * floor.height_m / floor.width_m)))
    return vega.chart(
        f"{floor.name}: {spec.label.lower()} by zone",
        subtitle=f"To scale: {floor.width_m:g} m × {floor.height_m:g} m",
        height=height,
        layers=layers,
        projection={"type": "identity", "reflectY": True},
        config={"view": {"stroke": None}},
    )


def _label_layer(labels: list[dict[str, Any]], offset: float, bold: bool) -> Spec:
    """The zone labels' lines ``offset`` lines off the centroid, bold (a zone's code) or not:
    dy and weight are fixed per mark, so one layer per line position and weight."""
    return {
        "data": {"values": [r for r in labels if r["offset"] == offset and r["bold"] == bold]},
        "mark": {
            "type": "text",
            "fontSize": 11,
            "dy": offset * LABEL_LINE_PX,
            "fontWeight": "bold" if bold else "normal",
        },
        "encoding": {
            "longitude": {"field": "x", "type": "quantitative"},
            "latitude": {"field": "y", "type": "quantitative"},
            "text": {"field": "text", "type": "nominal"},
            "fill": {"field": "text_color", "type": "nominal", "scale": None, "legend": None},
        },
    }


PLAN_WIDTH_PX = 900.0
LABEL_CHAR_PX = 6.5
LABEL_LINE_PX = 14.0


def zone_label(zone: Zone, value_text: str, *, px_per_m: float) -> list[str]:
    """The text lines drawn at a zone's centroid: code, name and value, as much as fits.

    A zone at least three text lines tall and wide enough for its name gets all three lines;
    a shorter one gets "code · value" on one line; a very narrow one just its code.
    """
    xs = [p[0] for p in zone.polygon]
    ys = [p[1] for p in zone.polygon]
    width_px = (max(xs) - min(xs)) * px_per_m
    height_px = (max(ys) - min(ys)) * px_per_m
    if height_px >= 3.4 * LABEL_LINE_PX and width_px >= (len(zone.name) + 2) * LABEL_CHAR_PX:
        return [zone.code, zone.name, value_text]
    if width_px >= (len(zone.code) + len(value_text) + 5) * LABEL_CHAR_PX:
        return [f"{zone.code} · {value_text}"]
    return [zone.code]


def _pick_floor(layout: StoreLayout, floor_id: str | None) -> Floor:
    if floor_id is None:
        return layout.floors[0]
    for floor in layout.floors:
        if floor.id == floor_id:
            return floor
    raise KeyError(f"unknown floor {floor_id!r}")


# --- tables (what the pages show under the figures and offer as CSV) -------------------------


def _zone_info(layout: StoreLayout) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone": [z.code for z in layout.zones],
            "Name": [z.name for z in layout.zones],
            "Kind": [z.kind.value for z in layout.zones],
        }
    )


def _with_names(frame: pd.DataFrame, layout: StoreLayout) -> pd.DataFrame:
    merged = frame.astype({"zone": "object"}).merge(_zone_info(layout), on="zone", how="left")
    merged["Name"] = merged["Name"].fillna("(not in the layout)")
    merged["Kind"] = merged["Kind"].fillna("")
    return merged


def _in_unit(seconds: pd.Series, scale: float) -> pd.Series:
    return (seconds.astype("float64") / scale).round(1)


def dwell_table(dwell: pd.DataFrame, layout: StoreLayout) -> pd.DataFrame:
    """Dwell per zone with names, to 0.1 in the unit of the dwell chart (:func:`dwell_unit` of
    the longest 90th percentile), longest median first."""
    table = _with_names(dwell, layout)
    p90 = table["p90_s"].astype("float64")
    unit, scale = dwell_unit(float(p90.max()) if p90.notna().any() else 0.0)
    table = table.sort_values(["median_s", "zone"], ascending=[False, True], ignore_index=True)
    return pd.DataFrame(
        {
            "Zone": table["zone"],
            "Name": table["Name"],
            "Kind": table["Kind"],
            "Visits": table["visits"].astype("int64"),
            f"Median dwell ({unit})": _in_unit(table["median_s"], scale),
            f"90th percentile dwell ({unit})": _in_unit(table["p90_s"], scale),
            f"Mean dwell ({unit})": _in_unit(table["mean_s"], scale),
            "Holding power": (
                table["holding_power"].astype("float64").round(2)
                if "holding_power" in table.columns
                else float("nan")
            ),
        }
    )


def zone_table(zone_visits: pd.DataFrame, dwell: pd.DataFrame, layout: StoreLayout) -> pd.DataFrame:
    """Per zone: visits, visitors and median dwell, with names; most visited first."""
    table = _with_names(
        zone_visits.astype({"zone": "object"}).merge(
            dwell[["zone", "median_s"]].astype({"zone": "object"}), on="zone", how="outer"
        ),
        layout,
    )
    table["visits"] = table["visits"].fillna(0).astype("int64")
    table["visitors"] = table["visitors"].fillna(0).astype("int64")
    table = table.sort_values(["visits", "zone"], ascending=[False, True], ignore_index=True)
    median_s = table["median_s"].astype("float64")
    unit, scale = dwell_unit(float(median_s.max()) if median_s.notna().any() else 0.0)
    return pd.DataFrame(
        {
            "Zone": table["zone"],
            "Name": table["Name"],
            "Kind": table["Kind"],
            "Visits": table["visits"],
            "Visitors": table["visitors"],
            f"Median dwell ({unit})": _in_unit(table["median_s"], scale),
        }
    )
