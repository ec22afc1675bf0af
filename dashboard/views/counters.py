"""Counters: which concessions turn visits into sales — ranking, quadrant, recommendation."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context
from dashboard.api import ApiError
from dashboard.context import Selection

DEFINITION = (
    "Visitors = trips that dwelt at the counter at least 30 s. Exposure = visitor trips ÷ store "
    "trips. Conversion = visitor trips that bought at the counter ÷ visitor trips (a sale is "
    "tied to its trip by the member card or the cart tag). Quadrants split traffic and "
    "conversion at the median of the store's counters; ranking by sales per m²."
)
COLOURS = {
    "star": "#2ca02c",
    "hidden gem": "#1f77b4",
    "window shopping": "#ff7f0e",
    "weak": "#d62728",
}


def quadrant_figure(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for quad, colour in COLOURS.items():
        part = frame[frame["quadrant"] == quad]
        fig.add_trace(
            go.Scatter(
                x=part["visitors"],
                y=part["conversion"] * 100,
                mode="markers+text",
                text=part["name"],
                textposition="top center",
                name=quad,
                marker={"size": 14, "color": colour},
                hovertemplate=(
                    "%{text}<br>%{x} visitor trips<br>%{y:.1f} % converted<extra></extra>"
                ),
            )
        )
    if not frame.empty:
        fig.add_vline(x=float(frame["visitors"].median()), line_dash="dot", line_color="#999")
        fig.add_hline(
            y=float(frame["conversion"].median() * 100), line_dash="dot", line_color="#999"
        )
    fig.update_layout(
        title="Traffic vs conversion",
        height=460,
        margin={"t": 50},
        xaxis_title="Visitor trips",
        yaxis_title="Conversion (%)",
        plot_bgcolor="white",
        legend_title="Quadrant",
    )
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def render(sel: Selection) -> None:
    st.title("Counters")
    try:
        frame = context.counters(sel.store.id, sel.period)
    except ApiError as exc:
        st.error(str(exc))
        return
    if frame.empty:
        st.info("No counters in this store's layout.")
        return
    st.plotly_chart(quadrant_figure(frame), width="stretch")
    st.caption(DEFINITION)
    shown = frame.assign(
        exposure_rate=(frame["exposure_rate"] * 100).round(1),
        conversion=(frame["conversion"] * 100).round(1),
        sales_per_visitor=frame["sales_per_visitor"].round(0),
        sales_per_m2=frame["sales_per_m2"].round(0),
    ).rename(columns={"exposure_rate": "exposure %", "conversion": "conversion %"})
    context.table(
        shown.drop(columns=["recommendation"]), f"counters-{sel.store.id}", key="dl-counters"
    )
    st.subheader("Recommendations")
    for _, row in frame.iterrows():
        st.markdown(f"**{row['rank']}. {row['name']}** — {row['recommendation']}")
