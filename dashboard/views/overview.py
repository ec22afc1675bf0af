"""Overview: headline figures against the previous period, footfall week on week, occupancy,
and the weekday x hour patterns of traffic and conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, context, fmt
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
    return fmt.relative_change(now, before)


def kpi_row(cur: Summary, prev: Kpis | None) -> None:
    """The period's headline figures; changes only against a like-for-like previous period."""
    if cur.not_comparable is not None:
        prev = None

    def p(name: str) -> Any:
        return getattr(prev, name) if prev is not None else None

    top, bottom, third = st.columns(3), st.columns(3), st.columns(3)
    c = [*top, *bottom, *third]
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
        fmt.point_change(cur.conversion, p("conversion")),
        help=CONVERSION_DEFINITION,
    )
    c[3].metric(
        "Sales (net of returns)",
        fmt.money(cur.sales),
        _delta(cur.sales, p("sales")),
    )
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

    def atv(k: Any) -> float | None:
        return k.sales / k.transactions if k is not None and k.transactions else None

    c[6].metric(
        "Average sale (ATV)",
        fmt.money(atv(cur)),
        _delta(atv(cur), atv(prev)),
        help="Average transaction value = net sales ÷ sales (transactions) in the period.",
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


def heatmap_hours(frame: pd.DataFrame) -> list[int]:
    """The hours both heatmaps show: those with entries on some weekday (the opening hours)."""
    return sorted(int(h) for h in frame.loc[frame["entries_per_day"] > 0, "hour"].unique())


def heatmap_figure(
    frame: pd.DataFrame, column: str, title: str, fmt: str, hours: list[int] | None = None
) -> go.Figure:
    grid = frame.pivot_table(
        index="weekday", columns="hour", values=column, aggfunc="first", dropna=False
    )
    grid = grid.reindex(index=range(7), columns=hours if hours is not None else grid.columns)
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


def attention(sel: Selection) -> None:
    """What needs a decision in this period: counters to act on, overdue key members, sales
    far above the usual one. Each line links to the page with the detail."""
    try:
        counters = context.counters(sel.store.id, sel.period)
        outliers: dict[str, Any] = context.analytics(sel.store.id, "sales/outliers", sel.period)
        alerts = context.analytics(sel.store.id, "members/lapse", sel.period, limit=500)
    except ApiError as exc:
        st.warning(f"The alerts could not be loaded: {exc}")
        return
    lines = []
    act = counters[~counters["verdict"].isin(["keep", "no data"])] if not counters.empty else None
    if act is not None and not act.empty:
        lines.append(
            "**Counters:** "
            + "; ".join(
                f"{name} — {verdict} (#{rank} by sales per m²)"
                for name, verdict, rank in act[["name", "verdict", "rank"]].itertuples(index=False)
            )
        )
    key = [a for a in alerts if "call" in a["action"]]
    if key:
        lines.append(
            f"**Members:** {len(key):,} core or VIP members are overdue against their own "
            f"purchase rhythm (of {len(alerts):,} overdue in all) — see Members."
        )
    if outliers["outliers"]:
        share = outliers["outlier_sales"] / outliers["sales"] if outliers["sales"] else 0.0
        lines.append(
            f"**Sales:** {len(outliers['outliers'])} unusually large sales (above "
            f"{fmt.money(outliers['threshold'])}, the usual sale is "
            f"{fmt.money(outliers['median_sale'])}) make {share:.0%} of the period's sales."
        )
    if lines:
        st.subheader("Needs attention")
        st.markdown("\n".join(f"- {line}" for line in lines))
        if outliers["outliers"]:
            with st.expander("Unusually large sales"):
                st.dataframe(
                    pd.DataFrame(
                        {
                            "when": [fmt.moment(o["at"]) for o in outliers["outliers"]],
                            "net total": [fmt.money(o["net_total"]) for o in outliers["outliers"]],
                            "x usual sale": [
                                f"{o['times_median']:.0f}x" for o in outliers["outliers"]
                            ],
                            "shopper": [o["segment"] for o in outliers["outliers"]],
                        }
                    ),
                    width="stretch",
                    hide_index=True,
                )


def render(sel: Selection) -> None:
    st.title("Storeflow — store planner")
    st.caption(f"{sel.store.name}: {sel.first:%d %b %Y} – {sel.last:%d %b %Y}")
    try:
        cur = context.summary(sel.store.id, sel.period, sel.compare)
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
        context.problem(exc)
        return
    kpi_row(cur, cur.previous)
    if cur.not_comparable is None:
        st.caption(
            f"Changes are relative (conversion: in percentage points) against "
            f"{context.COMPARE[sel.compare]} "
            f"({sel.previous.start:%d %b %Y} – "
            f"{(sel.previous.end - pd.Timedelta(days=1)):%d %b %Y})."
        )
    else:
        st.caption(f"No change shown: {cur.not_comparable}.")
    attention(sel)
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
    heat["conversion_pct"] = heat["conversion"].astype("float64") * 100
    hours = heatmap_hours(heat)
    left.plotly_chart(
        heatmap_figure(
            heat, "entries_per_day", "Entries per day, weekday x hour", "%{z:.0f}", hours
        ),
        width="stretch",
    )
    right.plotly_chart(
        heatmap_figure(heat, "conversion_pct", "Conversion (%), weekday x hour", "%{z:.0f}", hours),
        width="stretch",
    )
    st.caption(f"Weekday x hour in the store's time zone. {CONVERSION_DEFINITION}")
    st.subheader("Tables")
    tabs = st.tabs(["Footfall", "Occupancy", "Weekday x hour"])
    daily = sel.bucket != "hour"
    with tabs[0]:
        st.dataframe(
            pd.DataFrame(
                {
                    sel.bucket: foot["bucket_start"].map(fmt.day if daily else fmt.moment),
                    "entries": foot["entries"].map(fmt.number),
                    "one week earlier": foot["previous_week"].map(fmt.number),
                }
            ),
            width="stretch",
            hide_index=True,
        )
        context.download(foot, f"footfall-{sel.store.id}", key="dl-footfall")
    with tabs[1]:
        st.dataframe(
            pd.DataFrame(
                {
                    "hour": occ["hour_start"].map(fmt.moment),
                    "entries": occ["entries"].map(fmt.number),
                    "shoppers in the store (mean)": occ["occupancy"].map(
                        lambda v: fmt.number(v, decimals=1)
                    ),
                }
            ),
            width="stretch",
            hide_index=True,
        )
        context.download(occ, f"occupancy-{sel.store.id}", key="dl-occupancy")
    with tabs[2]:
        st.dataframe(
            pd.DataFrame(
                {
                    "weekday": heat["weekday"].map(lambda w: WEEKDAYS[int(w)]),
                    "hour": heat["hour"].map(lambda h: f"{int(h):02d}:00"),
                    "days": heat["days"],
                    "entries per day": heat["entries_per_day"].map(
                        lambda v: fmt.number(v, decimals=1)
                    ),
                    "conversion": heat["conversion"].map(fmt.pct),
                }
            ),
            width="stretch",
            hide_index=True,
        )
        context.download(heat, f"heatmap-{sel.store.id}", key="dl-heatmap")
