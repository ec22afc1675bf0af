"""Dwell: how long shoppers stay in each zone, and how many visits each zone gets."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, context
from dashboard.api import ApiError
from dashboard.context import Selection


def render(sel: Selection) -> None:
    st.title("Dwell and visits by zone")
    try:
        layout = context.layout(sel.store.id)
        dwell = context.dwell(sel.store.id, sel.period)
        visits = context.zone_visits(sel.store.id, sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    names = {z.code: z.name for z in layout.zones}
    st.plotly_chart(charts.dwell_figure(dwell, zone_names=names), width="stretch")
    st.caption(charts.DWELL_DEFINITION)
    st.plotly_chart(charts.zone_visits_figure(visits, zone_names=names), width="stretch")
    st.caption(charts.VISITS_DEFINITION)
    context.table(charts.dwell_table(dwell, layout), f"dwell-{sel.store.id}", key="dl-dwell")
    st.caption(
        "Holding power = the zone's median dwell ÷ its typical median (the 8 weeks before the "
        "period; without history, the median of zones of the same kind)."
    )
    st.subheader("Dwell distribution")
    zone = st.selectbox(
        "Zone", [z.code for z in layout.zones], format_func=lambda c: f"{c} {names[c]}", key="dz"
    )
    try:
        bins = pd.DataFrame(
            context.analytics(sel.store.id, "dwell-distribution", sel.period, zone=zone),
            columns=["zone", "low_s", "high_s", "visits"],
        )
    except ApiError as exc:
        context.problem(exc)
        return
    if bins.empty:
        st.info("No visits to this zone in the period.")
        return
    fig = go.Figure(
        go.Bar(
            x=(bins["low_s"] * bins["high_s"]) ** 0.5,
            y=bins["visits"],
            width=bins["high_s"] - bins["low_s"],
            hovertemplate="%{x:.0f} s: %{y} visits<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Visits by dwell, {names[zone]}",
        xaxis_title="Dwell (s)",
        yaxis_title="Visits",
        height=340,
        plot_bgcolor="white",
    )
    st.plotly_chart(fig, width="stretch")
    context.download(bins, f"dwell-distribution-{zone}", key="dl-dwell-bins")
