"""Paths: how shoppers move — flows between zones (Sankey), P(next | zone), the common paths."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context
from dashboard.api import ApiError
from dashboard.context import Selection

DEFINITION = (
    "A path is a trip's ordered zone sequence. Transition probability P(j | i) = trips going "
    "from zone i straight to zone j ÷ all moves out of zone i (Farley & Ring). Sankey link "
    "width = number of moves."
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
        data: dict[str, Any] = context.paths(sel.store.id, sel.period)
    except ApiError as exc:
        st.error(str(exc))
        return
    transitions = pd.DataFrame(
        data["transitions"], columns=["source", "target", "count", "probability"]
    )
    if transitions.empty:
        st.info("No trips in this period.")
        return
    floor = max(1, int(transitions["count"].quantile(0.25)))
    min_count = st.slider("Hide flows smaller than", 1, int(transitions["count"].max()), floor)
    st.plotly_chart(sankey_figure(transitions, min_count=min_count), use_container_width=True)
    st.plotly_chart(matrix_figure(transitions), use_container_width=True)
    st.caption(DEFINITION)
    top = pd.DataFrame(
        [
            {
                "path": " → ".join(p["path"]),
                "trips": p["trips"],
                "share %": round(p["share"] * 100, 1),
            }
            for p in data["top_paths"]
        ]
    )
    st.subheader(f"Most common paths ({data['trips']:,} trips)")
    st.dataframe(top, use_container_width=True, hide_index=True)
    context.download(top, f"paths-{sel.store.id}", key="dl-paths")
    context.download(transitions, f"transitions-{sel.store.id}", key="dl-transitions")
