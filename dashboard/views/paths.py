"""Paths: how shoppers move — flows between zones (Sankey), P(next | zone), the common paths."""

from __future__ import annotations

from collections import deque

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, context, fmt
from dashboard.api import ApiError
from dashboard.context import Selection
from storeflow.layout import StoreLayout, ZoneKind

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


DEFAULT_LINKS = 20


def zone_order(layout: StoreLayout) -> dict[str, int]:
    """Each zone's step from the entrance on the floor plan (breadth-first over adjacency):
    the Sankey draws moves away from the entrance, or across, left to right."""
    graph = layout.adjacency()
    start = [z.code for z in layout.zones if z.kind == ZoneKind.ENTRANCE]
    step = dict.fromkeys(start, 0)
    queue = deque(start)
    while queue:
        here = queue.popleft()
        for n in sorted(graph.get(here, ())):
            if n not in step:
                step[n] = step[here] + 1
                queue.append(n)
    far = max(step.values(), default=0) + 1
    for z in layout.zones:  # zones not reachable on the plan go last
        step.setdefault(z.code, far)
    # the checkout and exit end every trip: put them after everything else
    for z in layout.zones:
        if z.kind == ZoneKind.CHECKOUT:
            step[z.code] = far + 1
        elif z.kind == ZoneKind.EXIT:
            step[z.code] = far + 2
    return step


def sankey_links(
    transitions: pd.DataFrame, order: dict[str, int], *, top: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``top`` largest moves split into forward ones (away from the entrance, or across at
    the same step but only one way) that the Sankey draws, and the moves back, which it cannot
    draw without loops and which are listed instead."""
    ranked = transitions.sort_values(["count", "source", "target"], ascending=[False, True, True])
    ranked = ranked.head(top)
    src = ranked["source"].map(lambda z: order.get(z, 0))
    dst = ranked["target"].map(lambda z: order.get(z, 0))
    same = src == dst
    forward = (dst > src) | (same & (ranked["source"] < ranked["target"]))
    return ranked[forward], ranked[~forward]


def sankey_figure(flows: pd.DataFrame, names: dict[str, str], *, top: int) -> go.Figure:
    zones = sorted(set(flows["source"]) | set(flows["target"]))
    index = {z: i for i, z in enumerate(zones)}
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": [names.get(z, z) for z in zones], "pad": 14, "thickness": 14},
            link={
                "source": [index[s] for s in flows["source"]],
                "target": [index[t] for t in flows["target"]],
                "value": list(flows["count"]),
            },
        )
    )
    fig.update_layout(
        title=f"Main flows between zones (the {top} largest moves; moves back listed below)",
        height=520,
    )
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
        context.problem(exc)
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
    try:
        layout = context.layout(sel.store.id)
    except ApiError as exc:
        context.problem(exc)
        return
    names = {z.code: z.name for z in layout.zones}
    top = st.slider(
        "Moves shown in the flow chart (largest first)",
        5,
        max(5, min(60, len(transitions))),
        min(DEFAULT_LINKS, max(5, len(transitions))),
        key="sankey-top",
    )
    forward, back = sankey_links(transitions, zone_order(layout), top=top)
    st.plotly_chart(sankey_figure(forward, names, top=top), width="stretch")
    total = int(transitions["count"].sum())
    shown = int(forward["count"].sum())
    st.caption(
        f"The flow chart draws {shown / total:.0%} of all moves: the largest ones that lead "
        "away from the entrance (or across). Moves back towards the entrance are listed here: "
        + (
            ", ".join(
                f"{names.get(a, a)} → {names.get(b, b)} ({n:,})"
                for a, b, n in back[["source", "target", "count"]].itertuples(index=False)
            )
            or "none among the largest moves"
        )
        + "."
    )
    st.plotly_chart(matrix_figure(transitions), width="stretch")
    st.caption(DEFINITION)
    common = pd.DataFrame(
        [{"path": " → ".join(p.path), "trips": p.trips, "share": p.share} for p in data.top_paths]
    )
    st.subheader(f"Most common paths ({data.trips:,} trips)")
    st.dataframe(
        pd.DataFrame(
            {
                "path": [" → ".join(names.get(z, z) for z in p.path) for p in data.top_paths],
                "trips": [f"{p.trips:,}" for p in data.top_paths],
                "share of trips": [fmt.pct(p.share) for p in data.top_paths],
            }
        ),
        width="stretch",
        hide_index=True,
    )
    context.download(common, f"paths-{sel.store.id}", key="dl-paths")
    st.subheader("Transitions")
    st.dataframe(
        pd.DataFrame(
            {
                "from": transitions["source"].map(lambda z: f"{z} {names.get(z, '')}"),
                "to": transitions["target"].map(lambda z: f"{z} {names.get(z, '')}"),
                "moves": transitions["count"].map(fmt.number),
                "P(next | from)": transitions["probability"].map(fmt.pct),
            }
        ),
        width="stretch",
        hide_index=True,
    )
    context.download(transitions, f"transitions-{sel.store.id}", key="dl-transitions")
