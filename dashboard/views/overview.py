"""Overview: headline figures against the previous period, footfall week on week, occupancy,
and the weekday x hour patterns of traffic and conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, context
from dashboard.api import ApiError
from dashboard.context import Selection
from storeflow.api.analytics import Kpis, Summary

Render = Callable[[Selection], None]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
CONVERSION_DEFINITION = "Conversion = trips with a sale linked to them ÷ trips (entries)."
OCCUPANCY_DEFINITION = (
    "Occupancy = shoppers in the store: per hour, the trip time spent inside that hour ÷ 1 h."
)


def _delta(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{(now - before) / before:+.0%}"


def kpi_row(cur: Summary, prev: Kpis | None) -> None:
    def p(name: str) -> Any:
        return getattr(prev, name) if prev is not None else None

    top, bottom = st.columns(3), st.columns(3)
    c = [*top, *bottom]
    c[0].metric(
        "Entries (trips)",
        f"{cur.entries:,}",
        _delta(cur.entries, p("entries")),
        help=charts.FOOTFALL_DEFINITION,
    )
    c[1].metric(
        "Shoppers (distinct tags)", f"{cur.shoppers:,}", _delta(cur.shoppers, p("shoppers"))
    )
    c[2].metric(
        "Conversion",
        f"{cur.conversion:.1%}" if cur.conversion is not None else "–",
        _delta(cur.conversion, p("conversion")),
        help=CONVERSION_DEFINITION,
    )
    c[3].metric("Sales", f"{cur.sales:,.0f}", _delta(cur.sales, p("sales")))
    c[4].metric(
        "Mean trip",
        charts.format_duration(cur.mean_trip_s),
        _delta(cur.mean_trip_s, p("mean_trip_s")),
        help="Time from entering to leaving the store, per trip.",
    )
    c[5].metric(
        "Median zone dwell",
        charts.format_duration(cur.median_dwell_s),
        _delta(cur.median_dwell_s, p("median_dwell_s")),
        help=charts.DWELL_DEFINITION,
    )


def footfall_figure(frame: pd.DataFrame, bucket: str) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=frame["bucket_start"], y=frame["entries"], name="this period")
    fig.add_scatter(
        x=frame["bucket_start"],
        y=frame["previous_week"],
        name="one week earlier",
        mode="lines",
        line={"dash": "dot", "color": "#555"},
    )
    fig.update_layout(
        title=f"Entries per {bucket}, against the same {bucket} a week earlier",
        height=360,
        margin={"t": 50},
        yaxis_title="Entries",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def occupancy_figure(frame: pd.DataFrame) -> go.Figure:
    # hours without a trip (the store closed) are zeros, not a line across the night
    full = frame.set_index("hour_start")["occupancy"]
    if not full.empty:
        hours = pd.date_range(full.index.min(), full.index.max(), freq="h")
        full = full.reindex(hours, fill_value=0.0)
    fig = go.Figure(go.Scatter(x=full.index, y=full.to_numpy(), mode="lines", fill="tozeroy"))
    fig.update_layout(
        title="Shoppers in the store (mean per hour)",
        height=300,
        margin={"t": 50},
        yaxis_title="Shoppers",
        plot_bgcolor="white",
    )
    return fig


def heatmap_figure(frame: pd.DataFrame, column: str, title: str, fmt: str) -> go.Figure:
    grid = frame.pivot_table(index="weekday", columns="hour", values=column, aggfunc="first")
    grid = grid.reindex(range(7))
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{h:02d}:00" for h in grid.columns],
            y=WEEKDAYS,
            colorscale="YlOrRd",
            texttemplate=fmt,
            hovertemplate="%{y} %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(title=title, height=330, margin={"t": 50})
    fig.update_yaxes(autorange="reversed")
    return fig


def render(sel: Selection) -> None:
    st.title("Storeflow — store planner")
    st.caption(f"{sel.store.name}: {sel.first:%d %b %Y} – {sel.last:%d %b %Y}")
    try:
        cur = context.summary(sel.store.id, sel.period)
        foot = pd.DataFrame(
            context.analytics(sel.store.id, "footfall", sel.period, bucket=sel.bucket),
            columns=["bucket_start", "entries", "previous_week"],
        )
        occ = pd.DataFrame(
            context.analytics(sel.store.id, "occupancy", sel.period),
            columns=["hour_start", "entries", "occupancy"],
        )
        heat = pd.DataFrame(
            context.analytics(sel.store.id, "heatmap", sel.period),
            columns=["weekday", "hour", "days", "entries_per_day", "conversion"],
        )
    except ApiError as exc:
        st.error(str(exc))
        return
    kpi_row(cur, cur.previous)
    st.caption(
        f"Changes against the {sel.period_days} days before "
        f"({sel.previous.start:%d %b} – {(sel.previous.end - pd.Timedelta(days=1)):%d %b})."
    )
    if foot.empty:
        st.info("No trips in this period.")
        return
    foot["bucket_start"] = pd.to_datetime(foot["bucket_start"])
    st.plotly_chart(footfall_figure(foot, sel.bucket), width="stretch")
    st.caption(charts.FOOTFALL_DEFINITION)
    occ["hour_start"] = pd.to_datetime(occ["hour_start"])
    st.plotly_chart(occupancy_figure(occ), width="stretch")
    st.caption(OCCUPANCY_DEFINITION)
    left, right = st.columns(2)
    heat["conversion_pct"] = heat["conversion"] * 100
    left.plotly_chart(
        heatmap_figure(heat, "entries_per_day", "Entries per day, weekday x hour", "%{z:.0f}"),
        width="stretch",
    )
    right.plotly_chart(
        heatmap_figure(heat, "conversion_pct", "Conversion (%), weekday x hour", "%{z:.0f}"),
        width="stretch",
    )
    st.caption(f"Weekday x hour in the store's time zone. {CONVERSION_DEFINITION}")
    st.subheader("Tables")
    tabs = st.tabs(["Footfall", "Occupancy", "Weekday x hour"])
    with tabs[0]:
        context.table(foot, f"footfall-{sel.store.id}", key="dl-footfall")
    with tabs[1]:
        context.table(occ, f"occupancy-{sel.store.id}", key="dl-occupancy")
    with tabs[2]:
        context.table(heat, f"heatmap-{sel.store.id}", key="dl-heatmap")
