"""Pure figure builders for the planner dashboard: DataFrame / StoreLayout in, plotly Figure out.

Nothing here talks to the server or to Streamlit, so every figure can be checked in a unit test
by its data (traces, values, polygon coordinates).

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
from typing import Literal

import pandas as pd
import plotly.colors as pcolors
import plotly.graph_objects as go

from storeflow.api.analytics import VISITOR_MIN_DWELL_S
from storeflow.api.calendar import StoreEvent
from storeflow.layout import Floor, StoreLayout, Zone, ZoneKind

logger = logging.getLogger(__name__)

HeatMetric = Literal[
    "visits", "visitors", "median_dwell", "holding_power", "conversion", "sales_per_m2"
]

COLORSCALE = "YlOrRd"
NO_DATA_FILL = "rgb(225, 225, 225)"
OFF_SCALE_FILL = "rgb(245, 245, 240)"  # zones outside the colour scale (aisles, entrance, ...)
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
    colorbar_title: str
    definition: str


HEAT_METRICS: dict[HeatMetric, MetricSpec] = {
    "visits": MetricSpec("visits", "Visits", "Visits", VISITS_DEFINITION),
    "visitors": MetricSpec(
        "visitors", "Visitors", "Visitors<br>(distinct tags)", VISITS_DEFINITION
    ),
    "median_dwell": MetricSpec(
        "median_dwell", "Median dwell", "Median<br>dwell (s)", DWELL_DEFINITION
    ),
    "holding_power": MetricSpec(
        "holding_power",
        "Holding power",
        "Holding<br>power",
        "Holding power = the zone's median dwell ÷ its typical median (the 8 weeks before; "
        "without history, the median of zones of the same kind). Above 1: shoppers stay longer "
        "than usual.",
    ),
    "conversion": MetricSpec(
        "conversion",
        "Counter conversion",
        "Conversion<br>(%)",
        f"Counter zones only: visitor trips (≥ {VISITOR_MIN_DWELL_S:.0f} s) that bought at the "
        "counter ÷ visitor trips.",
    ),
    "sales_per_m2": MetricSpec(
        "sales_per_m2",
        "Sales per m²",
        "Sales<br>per m²",
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


def closed_polygon(zone: Zone) -> tuple[list[float], list[float]]:
    """The zone outline as x and y lists, first point repeated at the end."""
    xs = [float(p[0]) for p in zone.polygon]
    ys = [float(p[1]) for p in zone.polygon]
    return [*xs, xs[0]], [*ys, ys[0]]


def color_for(value: float, vmin: float, vmax: float, colorscale: str = COLORSCALE) -> str:
    """The colour of ``value`` on ``colorscale`` spanning [vmin, vmax], as 'rgb(r, g, b)'."""
    span = vmax - vmin
    frac = 0.0 if span <= 0 else min(1.0, max(0.0, (value - vmin) / span))
    sampled: list[str] = pcolors.sample_colorscale(colorscale, [frac])
    return sampled[0]


def text_color_for(fill: str) -> str:
    """Black or white label text, whichever reads better on ``fill`` ('rgb(r, g, b)')."""
    parts = fill[fill.index("(") + 1 : fill.index(")")].split(",")
    r, g, b = (float(p) for p in parts[:3])
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return "black" if luminance > 140 else "white"


def _empty(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 16, "color": "#666"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _zone_label(code: str, names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(code)
    return f"{code} · {name}" if name else code


def _base_layout(fig: go.Figure, *, title: str, height: int) -> None:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
    )
    fig.update_xaxes(showline=True, linecolor="#999", gridcolor="#eee")
    fig.update_yaxes(showline=True, linecolor="#999", gridcolor="#eee", rangemode="tozero")


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


def add_calendar(fig: go.Figure, events: list[StoreEvent], *, daily: bool = False) -> go.Figure:
    """Draw the store's events on a time-series figure (x in store-local wall time): an event of
    several days as a shaded span, a one-day event as a dashed line at the start of its day,
    each labelled at the top. ``daily``: the x values are days (points at midnight), so a day's
    span runs from noon before to noon after."""
    half = pd.Timedelta(hours=12) if daily else pd.Timedelta(0)
    for i, e in enumerate(events):
        fill, line = EVENT_STYLE.get(e.kind, EVENT_STYLE["other"])
        x0 = pd.Timestamp(e.first_day) - half
        x1 = pd.Timestamp(e.last_day) + pd.Timedelta(days=1) - half
        label = e.title if len(e.title) <= MAX_LABEL else e.title[: MAX_LABEL - 1] + "…"
        if e.last_day > e.first_day:
            fig.add_shape(
                type="rect",
                xref="x",
                yref="paper",
                x0=x0,
                x1=x1,
                y0=0,
                y1=1,
                fillcolor=fill,
                line_width=0,
                layer="below",
            )
        else:
            fig.add_shape(
                type="line",
                xref="x",
                yref="paper",
                x0=x0,
                x1=x0,
                y0=0,
                y1=1,
                line={"color": line, "dash": "dash", "width": 1.5},
            )
        fig.add_annotation(
            x=x0,
            xref="x",
            y=1 - 0.07 * (i % 3),
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 10, "color": line},
            bgcolor="rgba(255,255,255,0.7)",
            hovertext=f"{e.title} ({e.first_day:%d %b}"
            + (f" – {e.last_day:%d %b}" if e.last_day > e.first_day else "")
            + (f"; {', '.join(e.counters)}" if e.counters else "")
            + ")",
        )
    return fig


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


def footfall_figure(
    footfall: pd.DataFrame,
    *,
    bucket: Literal["hour", "day"],
    timezone: str = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
) -> go.Figure:
    """Entries (trips started) per hour or day, as bars in the store's local time.

    Buckets without trips are drawn as zero (over ``start``..``end`` when given), so a quiet day
    shows as a gap, not as a neighbour's bar stretched wide. Days are one labelled bar each.
    """
    fig = go.Figure()
    unit = "hour" if bucket == "hour" else "day"
    _base_layout(fig, title=f"Footfall: entries per {unit}", height=380)
    if footfall.empty or int(footfall["entries"].sum()) == 0:
        return _empty(fig, "No trips started in this period")
    data = fill_buckets(footfall, bucket=bucket, start=start, end=end)
    local = pd.to_datetime(data["bucket_start"], utc=True).dt.tz_convert(timezone)
    values = [int(v) for v in data["entries"]]
    if bucket == "day":
        labels = [ts.strftime("%a %d %b") for ts in local]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name="Entries",
                marker_color=VISITS_COLOR,
                hovertemplate="%{x}<br>%{y} entries<extra></extra>",
            )
        )
        fig.update_xaxes(title_text=f"Day ({timezone})", type="category")
    else:
        fig.add_trace(
            go.Bar(
                x=list(local.dt.tz_localize(None)),
                y=values,
                name="Entries",
                marker_color=VISITS_COLOR,
                hovertemplate="%{x|%a %d %b %H:%M}<br>%{y} entries<extra></extra>",
            )
        )
        fig.update_xaxes(title_text=f"Hour ({timezone})", tickformat="%H:%M\n%a %d %b")
    fig.update_yaxes(title_text="Entries (trips started)")
    return fig


def dwell_figure(dwell: pd.DataFrame, *, zone_names: Mapping[str, str] | None = None) -> go.Figure:
    """Median and 90th-percentile dwell per zone, zones ordered by median (longest first)."""
    fig = go.Figure()
    _base_layout(fig, title="Dwell by zone", height=420)
    data = dwell.dropna(subset=["median_s"])
    if data.empty:
        return _empty(fig, "No zone visits in this period")
    data = data.sort_values(["median_s", "zone"], ascending=[False, True])
    p90 = data["p90_s"].fillna(data["median_s"])
    unit, scale = dwell_unit(float(p90.max()))
    zones = [str(z) for z in data["zone"]]
    hover = [_zone_label(z, zone_names) for z in zones]
    fig.add_trace(
        go.Bar(
            x=zones,
            y=[float(v) / scale for v in data["median_s"]],
            name="Median",
            marker_color=MEDIAN_COLOR,
            customdata=[
                [h, format_duration(float(s))] for h, s in zip(hover, data["median_s"], strict=True)
            ],
            hovertemplate="%{customdata[0]}<br>median %{customdata[1]}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=zones,
            y=[float(v) / scale for v in p90],
            name="90th percentile",
            marker_color=P90_COLOR,
            customdata=[[h, format_duration(float(s))] for h, s in zip(hover, p90, strict=True)],
            hovertemplate="%{customdata[0]}<br>90th percentile %{customdata[1]}<extra></extra>",
        )
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Zone", type="category")
    fig.update_yaxes(title_text=f"Dwell per visit ({unit})")
    return fig


def zone_visits_figure(
    zone_visits: pd.DataFrame, *, zone_names: Mapping[str, str] | None = None
) -> go.Figure:
    """Visits and distinct visitors per zone, most visited first."""
    fig = go.Figure()
    _base_layout(fig, title="Visits per zone", height=400)
    if zone_visits.empty:
        return _empty(fig, "No zone visits in this period")
    data = zone_visits.sort_values(["visits", "zone"], ascending=[False, True])
    zones = [str(z) for z in data["zone"]]
    hover = [_zone_label(z, zone_names) for z in zones]
    for column, label, color in (
        ("visits", "Visits", VISITS_COLOR),
        ("visitors", "Visitors (distinct tags)", VISITORS_COLOR),
    ):
        fig.add_trace(
            go.Bar(
                x=zones,
                y=[int(v) for v in data[column]],
                name=label,
                marker_color=color,
                customdata=hover,
                hovertemplate=f"%{{customdata}}<br>%{{y}} {label.lower()}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Zone", type="category")
    fig.update_yaxes(title_text="Count")
    return fig


def _format_value(value: float, metric: HeatMetric) -> str:
    if metric == "median_dwell":
        return format_duration(value)
    if metric == "holding_power":
        return f"{value:.2f}"
    if metric == "conversion":
        return f"{value:.0f} %"
    return f"{value:,.0f}"


def floor_heatmap(
    layout: StoreLayout,
    values: Mapping[str, float],
    *,
    metric: HeatMetric,
    floor_id: str | None = None,
    colorscale: str = COLORSCALE,
) -> go.Figure:
    """The floor plan to scale, each zone filled by its metric value, with a colour bar.

    One filled scatter trace per zone (``fill="toself"``, named by the zone code), then one
    marker+text trace at the zone centroids that carries the zone labels and the colour bar.
    Zones without a value are drawn grey and say "no data".
    """
    floor = _pick_floor(layout, floor_id)
    spec = HEAT_METRICS[metric]
    zones = [z for z in layout.zones if z.floor == floor.id]
    # The colour scale spans the counters only: aisles and the entrance see every shopper and
    # would wash every counter out. Other zones are drawn neutral, their value in the label.
    on_scale = {z.code for z in zones if z.kind == ZoneKind.COUNTER and z.code in values}
    if not on_scale:
        on_scale = {z.code for z in zones if z.code in values}
    present = [values[c] for c in on_scale]
    vmin = 0.0
    vmax = max(present) if present and max(present) > 0 else 1.0

    fig = go.Figure()
    fills: list[str] = []
    for zone in zones:
        xs, ys = closed_polygon(zone)
        value = values.get(zone.code)
        if value is None:
            fill = NO_DATA_FILL
        elif zone.code not in on_scale:
            fill = OFF_SCALE_FILL
        else:
            fill = color_for(value, vmin, vmax, colorscale)
        fills.append(fill)
        shown = "no data" if value is None else _format_value(value, metric)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=fill,
                line={"color": "#555", "width": 1},
                name=zone.code,
                hoveron="fills",
                hoverinfo="text",
                text=f"{zone.code} · {zone.name} ({zone.kind.value})<br>{spec.label}: {shown}",
                showlegend=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[z.centroid[0] for z in zones],
            y=[z.centroid[1] for z in zones],
            mode="markers+text",
            text=[
                zone_label(
                    z,
                    _format_value(values[z.code], metric) if z.code in values else "–",
                    px_per_m=0.85 * PLAN_WIDTH_PX / floor.width_m,
                )
                for z in zones
            ],
            textposition="middle center",
            textfont={"size": 11, "color": [text_color_for(f) for f in fills]},
            marker={
                "size": 0.1,
                "opacity": 0,
                "color": [values.get(z.code, vmin) if z.code in on_scale else vmin for z in zones],
                "cmin": vmin,
                "cmax": vmax,
                "colorscale": colorscale,
                "showscale": True,
                "colorbar": {"title": {"text": spec.colorbar_title}, "thickness": 18},
            },
            name="labels",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_shape(
        type="rect",
        x0=0,
        y0=0,
        x1=floor.width_m,
        y1=floor.height_m,
        line={"color": "#222", "width": 2},
        layer="above",
    )
    # Height follows the floor's aspect ratio so the plan fills the width without distortion.
    height = int(min(900, max(320, PLAN_WIDTH_PX * floor.height_m / floor.width_m + 110)))
    fig.update_layout(
        title={"text": f"{floor.name}: {spec.label.lower()} by zone", "x": 0.0},
        height=height,
        margin={"l": 50, "r": 20, "t": 60, "b": 50},
        plot_bgcolor="white",
        hoverlabel={"bgcolor": "white"},
    )
    fig.update_xaxes(
        range=[-0.5, floor.width_m + 0.5],
        title_text="metres",
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    fig.update_yaxes(
        range=[-0.5, floor.height_m + 0.5],
        title_text="metres",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    return fig


PLAN_WIDTH_PX = 900.0
LABEL_CHAR_PX = 6.5
LABEL_LINE_PX = 14.0


def zone_label(zone: Zone, value_text: str, *, px_per_m: float) -> str:
    """The text drawn at a zone's centroid: code, name and value, as much as fits the zone.

    A zone at least three text lines tall and wide enough for its name gets all three lines;
    a shorter one gets "code · value" on one line; a very narrow one just its code.
    """
    xs = [p[0] for p in zone.polygon]
    ys = [p[1] for p in zone.polygon]
    width_px = (max(xs) - min(xs)) * px_per_m
    height_px = (max(ys) - min(ys)) * px_per_m
    code = f"<b>{zone.code}</b>"
    one_line = f"{code} · {value_text}"
    if height_px >= 3.4 * LABEL_LINE_PX and width_px >= (len(zone.name) + 2) * LABEL_CHAR_PX:
        return f"{code}<br>{zone.name}<br>{value_text}"
    if width_px >= (len(zone.code) + len(value_text) + 5) * LABEL_CHAR_PX:
        return one_line
    return code


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
