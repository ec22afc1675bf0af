"""Paths: how shoppers move — flows between zones (Sankey), P(next | zone), the common paths."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, context
from dashboard.api import ApiError
from dashboard.context import Selection

DEFINITION = (
    "A path is a trip's ordered zone sequence. Transition probability P(j | i) = trips going "
    "from zone i straight to zone j ÷ all moves out of zone i (Farley & Ring). Sankey link "
    "width = number of moves."
)


EFFICIENCY_DEFINITION = (
    "Path efficiency (Hui, Fader & Bradlow 2009) = the shortest walk from the entrance past "
    "every counter where the shopper bought to the checkout ÷ the distance walked (zone "
    "centre to zone centre on the floor plan)."
)


def sankey_figure(transitions: pd.DataFrame, *, min_count: int) -> go.Figure:
    flows = transitions[transitions["count"] >= min_count]
    zones = sorted(set(flows["source"]) | set(flows["target"]))
    index = {z: i for i, z in enumerate(zones)}
    fig = go.Figure(
        go.Sankey(
            node={"label": zones, "pad": 14, "thickness": 14},
            link={
                "source": [index[s] for s in flows["source"]],
                "target": [index[t] for t in flows["target"]],
                "value": list(flows["count"]),
            },
        )
    )
    fig.update_layout(title=f"Flows between zones (moves ≥ {min_count})", height=520)
    return fig


def matrix_figure(transitions: pd.DataFrame) -> go.Figure:
    m = transitions.pivot_table(
        index="source", columns="target", values="probability", fill_value=0.0
    )
    fig = go.Figure(
        go.Heatmap(
            z=m.values * 100,
            x=list(m.columns),
            y=list(m.index),
            colorscale="Blues",
            colorbar={"title": "P(j | i) %"},
            hovertemplate="from %{y} to %{x}: %{z:.0f} %<extra></extra>",
        )
    )
    fig.update_layout(
        title="Transition matrix: next zone after each zone",
        height=560,
        xaxis_title="to zone j",
        yaxis_title="from zone i",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def render(sel: Selection) -> None:
    st.title("Shopper paths")
    try:
        data = context.paths(sel.store.id, sel.period)
    except ApiError as exc:
        st.error(str(exc))
        return
    transitions = pd.DataFrame(
        [t.model_dump() for t in data.transitions],
        columns=["source", "target", "count", "probability"],
    )
    if transitions.empty:
        st.info("No trips in this period.")
        return
    eff = data.efficiency_buyers
    c = st.columns(4)
    c[0].metric("Trips", f"{data.trips:,}")
    c[1].metric("Zones per trip", f"{data.mean_zones:.1f}" if data.mean_zones else "–")
    c[2].metric("Mean trip", charts.format_duration(data.mean_duration_s))
    c[3].metric(
        "Path efficiency (buyers)",
        f"{eff.mean_efficiency:.0%}" if eff and eff.mean_efficiency else "–",
        help=EFFICIENCY_DEFINITION,
    )
    if eff and eff.trips:
        st.caption(
            f"Buyers walked {eff.walked_m or 0:.0f} m on average where {eff.shortest_m or 0:.0f} m "
            f"would have taken them past every counter they bought at: "
            f"{eff.order_deviation_m or 0:.0f} m from the order they took, "
            f"{eff.travel_deviation_m or 0:.0f} m of detours and browsing. {EFFICIENCY_DEFINITION}"
        )
    floor = max(1, int(transitions["count"].quantile(0.25)))
    min_count = st.slider("Hide flows smaller than", 1, int(transitions["count"].max()), floor)
    st.plotly_chart(sankey_figure(transitions, min_count=min_count), width="stretch")
    st.plotly_chart(matrix_figure(transitions), width="stretch")
    st.caption(DEFINITION)
    top = pd.DataFrame(
        [
            {"path": " → ".join(p.path), "trips": p.trips, "share %": round(p.share * 100, 1)}
            for p in data.top_paths
        ]
    )
    st.subheader(f"Most common paths ({data.trips:,} trips)")
    context.table(top, f"paths-{sel.store.id}", key="dl-paths")
    st.subheader("Transitions")
    context.table(transitions.round(4), f"transitions-{sel.store.id}", key="dl-transitions")
