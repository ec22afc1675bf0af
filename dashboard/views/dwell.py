"""Dwell: how long shoppers stay in each zone, and how many visits each zone gets."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec


def distribution_figure(bins: pd.DataFrame, name: str) -> Spec:
    """Visits by dwell in log-spaced bins, each bar spanning its bin on a log axis (the first
    bin, under 1 s, drawn from 0.5 s: a log axis has no zero)."""
    rows = vega.rows(
        {
            "low": max(float(lo), 0.5),
            "high": float(hi),
            "visits": int(n),
            "bin_text": f"{charts.format_duration(float(lo))} – {charts.format_duration(float(hi))}"
            if lo > 0
            else f"under {charts.format_duration(float(hi))}",
        }
        for lo, hi, n in zip(bins["low_s"], bins["high_s"], bins["visits"], strict=True)
    )
    return vega.chart(
        f"Visits by dwell, {name}",
        height=340,
        data=rows,
        mark={"type": "rect", "color": charts.VISITS_COLOR, "stroke": "white", "strokeWidth": 0.5},
        encoding={
            "x": {
                "field": "low",
                "type": "quantitative",
                "scale": {"type": "log", "nice": False},  # from the first bin to the last
                "axis": vega.axis("Dwell (s, log scale)", format=",~g", labelAngle=0),
            },
            "x2": {"field": "high"},
            "y2": {"datum": 0},
            "y": {
                "field": "visits",
                "type": "quantitative",
                "axis": vega.axis("Visits", format=",d"),
            },
            "tooltip": vega.tooltip(("bin_text", "Dwell"), ("visits", "Visits", ",d")),
        },
    )


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
    context.chart(charts.dwell_figure(dwell, zone_names=names), key="dwell-by-zone")
    st.caption(charts.DWELL_DEFINITION)
    context.chart(charts.zone_visits_figure(visits, zone_names=names), key="visits-by-zone")
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
    context.chart(distribution_figure(bins, names[zone]), key="dwell-distribution")
    context.download(bins, f"dwell-distribution-{zone}", key="dl-dwell-bins")
