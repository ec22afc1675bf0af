"""Floor: the floor plan to scale, each zone coloured by the chosen metric."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, vega
from dashboard.api import ApiError
from dashboard.charts import HEAT_METRICS, HeatMetric
from dashboard.context import Selection
from dashboard.vega import Spec


def zone_entries_figure(shown: pd.DataFrame, names: dict[str, str], bucket: str) -> Spec:
    """Entries per day or week of the chosen zones, one coloured line each."""
    title = f"Zone entries per {bucket}"
    if shown.empty:
        return vega.empty(title, "No entries in these zones in this period", height=340)
    rows = vega.rows(
        {
            "at": vega.wall_time(day),
            "zone": f"{zone} {names.get(str(zone), '')}".strip(),
            "day_text": f"{'week of ' if bucket == 'week' else ''}{pd.Timestamp(day):%a %d %b %Y}",
            "entries": int(n),
        }
        for zone, day, n in zip(shown["zone"], shown["bucket_start"], shown["entries"], strict=True)
    )
    return vega.chart(
        title,
        height=340,
        data=rows,
        mark={"type": "line", "point": True},
        encoding={
            "x": vega.time_x("Week" if bucket == "week" else "Day"),
            "y": {
                "field": "entries",
                "type": "quantitative",
                "axis": vega.axis("Entries", format=",d"),
            },
            "color": {"field": "zone", "type": "nominal", "legend": charts.legend_on_top()},
            "tooltip": vega.tooltip(
                ("zone", "Zone"), ("day_text", "When"), ("entries", "Entries", ",d")
            ),
        },
    )


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
    context.chart(charts.floor_heatmap(layout, values, metric=metric, floor_id=floor_id))
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
    context.chart(zone_entries_figure(shown, names, bucket), key="zone-entries")
    context.download(per_zone, f"zone-footfall-{sel.store.id}", key="dl-zone-footfall")
