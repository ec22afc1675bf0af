"""Floor: the floor plan to scale, each zone coloured by the chosen metric."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, context
from dashboard.api import ApiError
from dashboard.charts import HEAT_METRICS, HeatMetric
from dashboard.context import Selection


def render(sel: Selection) -> None:
    st.title("Floor heatmap")
    try:
        layout = context.layout(sel.store.id)
        visits = context.zone_visits(sel.store.id, sel.period)
        dwell = context.dwell(sel.store.id, sel.period)
    except ApiError as exc:
        st.error(str(exc))
        return
    metric: HeatMetric = st.radio(
        "Metric",
        list(HEAT_METRICS),
        format_func=lambda m: HEAT_METRICS[m].label,
        horizontal=True,
        key="heat-metric",
    )
    floors = [f.id for f in layout.floors]
    floor_id = st.selectbox("Floor", floors, key="floor") if len(floors) > 1 else floors[0]
    values = charts.zone_metric_values(visits, dwell, metric)
    st.plotly_chart(
        charts.floor_heatmap(layout, values, metric=metric, floor_id=floor_id),
        use_container_width=True,
    )
    st.caption(HEAT_METRICS[metric].definition)
    table = charts.zone_table(visits, dwell, layout)
    st.dataframe(table, use_container_width=True, hide_index=True)
    context.download(table, f"zones-{sel.store.id}", key="dl-zones")
