"""Floor: the floor plan to scale, each zone coloured by the chosen metric."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
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
        counters = context.counters(sel.store.id, sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    metric: HeatMetric = st.radio(
        "Metric",
        list(HEAT_METRICS),
        format_func=lambda m: HEAT_METRICS[m].label,
        horizontal=True,
        key="heat-metric",
    )
    floors = [f.id for f in layout.floors]
    floor_id = sel.period.floor or (
        st.selectbox("Floor", floors, key="floor") if len(floors) > 1 else floors[0]
    )
    values = charts.zone_metric_values(
        visits,
        dwell,
        metric,
        counters=counters,
        counter_zone={c.code: c.zone for c in layout.counters},
    )
    st.plotly_chart(
        charts.floor_heatmap(layout, values, metric=metric, floor_id=floor_id),
        width="stretch",
    )
    st.caption(HEAT_METRICS[metric].definition)
    context.table(charts.zone_table(visits, dwell, layout), f"zones-{sel.store.id}", key="dl-zones")
    st.subheader("Entries per zone")
    names = {z.code: z.name for z in layout.zones}
    picked = st.multiselect(
        "Zones",
        list(names),
        default=[c.zone for c in layout.counters][:4],
        format_func=lambda c: f"{c} {names[c]}",
        key="zone-footfall",
    )
    bucket = "week" if (sel.last - sel.first).days > 27 else "day"
    try:
        per_zone = pd.DataFrame(
            context.analytics(sel.store.id, "zone-footfall", sel.period, bucket=bucket),
            columns=["zone", "bucket_start", "entries"],
        )
    except ApiError as exc:
        context.problem(exc)
        return
    shown = per_zone[per_zone["zone"].isin(picked)]
    fig = go.Figure()
    for zone, part in shown.groupby("zone"):
        fig.add_scatter(
            x=part["bucket_start"], y=part["entries"], mode="lines+markers", name=names[str(zone)]
        )
    fig.update_layout(
        title=f"Zone entries per {bucket}", height=340, plot_bgcolor="white", yaxis_title="Entries"
    )
    st.plotly_chart(fig, width="stretch")
    context.download(per_zone, f"zone-footfall-{sel.store.id}", key="dl-zone-footfall")
