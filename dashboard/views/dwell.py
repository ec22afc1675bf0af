"""Dwell: how long shoppers stay in each zone, and how many visits each zone gets."""

from __future__ import annotations

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
        st.error(str(exc))
        return
    names = {z.code: z.name for z in layout.zones}
    st.plotly_chart(charts.dwell_figure(dwell, zone_names=names), use_container_width=True)
    st.caption(charts.DWELL_DEFINITION)
    st.plotly_chart(charts.zone_visits_figure(visits, zone_names=names), use_container_width=True)
    st.caption(charts.VISITS_DEFINITION)
    table = charts.dwell_table(dwell, layout)
    st.dataframe(table, use_container_width=True, hide_index=True)
    context.download(table, f"dwell-{sel.store.id}", key="dl-dwell")
