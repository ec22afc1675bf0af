"""Paths: how shoppers move — the main flows between zones, P(next | zone), the common paths."""

from __future__ import annotations

from collections import deque

import pandas as pd
import streamlit as st

from dashboard import charts, context, fmt, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec
from storeflow.layout import StoreLayout, ZoneKind

DEFINITION = (
    "A path is a trip's ordered zone sequence. Transition probability P(j | i) = trips going "
    "from zone i straight to zone j ÷ all moves out of zone i (Farley & Ring). Flow chart bar "
    "length = number of moves."
)


EFFICIENCY_DEFINITION = (
    "Path efficiency (Hui, Fader & Bradlow 2009) = the shortest walk from the entrance past "
    "every counter where the shopper bought to the checkout ÷ the distance walked (zone "
    "centre to zone centre on the floor plan)."
)


DEFAULT_LINKS = 20
BAR = "#1f77b4"


def zone_order(layout: StoreLayout) -> dict[str, int]:
    """Each zone's step from the entrance on the floor plan (breadth-first over adjacency):
    the flow chart draws the moves away from the entrance, or across."""
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


def flow_links(
    transitions: pd.DataFrame, order: dict[str, int], *, top: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``top`` largest moves split into forward ones (away from the entrance, or across at
    the same step but only one way) that the flow chart draws, and the moves back, which are
    listed under it instead: the chart reads as the main way through the store."""
    ranked = transitions.sort_values(["count", "source", "target"], ascending=[False, True, True])
    ranked = ranked.head(top)
    src = ranked["source"].map(lambda z: order.get(z, 0))
    dst = ranked["target"].map(lambda z: order.get(z, 0))
    same = src == dst
    forward = (dst > src) | (same & (ranked["source"] < ranked["target"]))
    return ranked[forward], ranked[~forward]


def _move(names: dict[str, str], a: str, b: str) -> str:
    return f"{names.get(a, a)} → {names.get(b, b)}"


def flows_figure(flows: pd.DataFrame, names: dict[str, str], *, top: int, total: int) -> Spec:
    """The forward moves as ranked horizontal bars ("Main entrance → Front aisle centre"),
    the largest on top, each labelled with its number of moves."""
    title = f"Main flows between zones (the {top} largest moves; moves back listed below)"
    if flows.empty:
        return vega.empty(title, "No move away from the entrance among the largest moves")
    data = vega.rows(
        {
            "move": _move(names, a, b),
            "from": f"{a} {names.get(a, '')}".strip(),
            "to": f"{b} {names.get(b, '')}".strip(),
            "moves": int(n),
            "probability": p,
            "share": n / total if total else None,
        }
        for a, b, n, p in flows[["source", "target", "count", "probability"]].itertuples(
            index=False
        )
    )
    y = {
        "field": "move",
        "type": "nominal",
        "sort": None,  # ranked already: the largest move first, on top
        "axis": vega.axis(None, labelLimit=360, grid=False),
    }
    x = {
        "field": "moves",
        "type": "quantitative",
        "scale": {"domain": [0, max(d["moves"] for d in data) * 1.06]},  # room for the text
        "axis": vega.axis(
            "Moves (trips going straight from one zone to the next)", format=",d", tickMinStep=1
        ),
    }
    tip = vega.tooltip(
        ("from", "From"),
        ("to", "To"),
        ("moves", "Moves", ",d"),
        ("probability", "P(next | from)", ".0%"),
        ("share", "Share of all moves", ".1%"),
    )
    return vega.chart(
        title,
        height=110 + 24 * len(data),  # the whole chart, title and axis included
        data=data,
        layers=vega.labelled_bars(
            y,
            x,
            text={"field": "moves", "type": "quantitative", "format": ",d"},
            color=BAR,
            tip=tip,
        ),
    )


def matrix_figure(transitions: pd.DataFrame) -> Spec:
    """P(next | zone) as a from x to grid: a cell's colour and its text are the probability
    (in %) that a shopper in zone i goes straight to zone j; the rows add up to 100 %."""
    title = "Transition matrix: next zone after each zone"
    zones_from = sorted(set(transitions["source"]))
    zones_to = sorted(set(transitions["target"]))
    data = vega.rows(
        {"source": a, "target": b, "pct": p * 100, "moves": int(n)}
        for a, b, n, p in transitions[["source", "target", "count", "probability"]].itertuples(
            index=False
        )
    )
    top = max((d["pct"] for d in data), default=0.0)
    x = {
        "field": "target",
        "type": "nominal",
        "sort": zones_to,
        "axis": vega.axis("to zone j", labelAngle=0, grid=False, orient="top"),
    }
    y = {"field": "source", "type": "nominal", "sort": zones_from, "axis": vega.axis("from zone i")}
    tip = vega.tooltip(
        ("source", "From zone i"),
        ("target", "To zone j"),
        ("pct", "P(j | i) %", ".0f"),
        ("moves", "Moves", ",d"),
    )
    return vega.chart(
        title,
        height=150 + 28 * len(zones_from),
        data=data,
        layers=vega.heat_cells(
            x,
            y,
            field="pct",
            top=top,
            scale={"scheme": "blues", "domain": [0, top or 1]},
            legend="P(j | i) %",
            text_format=".0f",
            tip=tip,
            font_size=10,
        ),
        config={"view": {"stroke": None}},
    )


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
        key="flows-top",
    )
    forward, back = flow_links(transitions, zone_order(layout), top=top)
    total = int(transitions["count"].sum())
    context.chart(flows_figure(forward, names, top=top, total=total), key="paths-flows")
    shown = int(forward["count"].sum())
    st.caption(
        f"The flow chart draws {shown / total:.0%} of all moves: the largest ones that lead "
        "away from the entrance (or across). Moves back towards the entrance are listed here: "
        + (
            ", ".join(
                f"{_move(names, a, b)} ({n:,})"
                for a, b, n in back[["source", "target", "count"]].itertuples(index=False)
            )
            or "none among the largest moves"
        )
        + "."
    )
    context.chart(matrix_figure(transitions), key="paths-matrix")
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
    context.table_on_request(
        pd.DataFrame(
            {
                "from": transitions["source"].map(lambda z: f"{z} {names.get(z, '')}"),
                "to": transitions["target"].map(lambda z: f"{z} {names.get(z, '')}"),
                "moves": transitions["count"].map(fmt.number),
                "P(next | from)": transitions["probability"].map(fmt.pct),
            }
        ),
        transitions,
        f"transitions-{sel.store.id}",
        key="dl-transitions",
        label="Transitions table (the matrix's figures)",
    )
