"""Overview: headline figures with the change against the previous period, and footfall."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import charts, context
from dashboard.api import ApiError
from dashboard.context import Selection

Render = Callable[[Selection], None]


def _delta(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{(now - before) / before:+.0%} vs previous period"


def render(sel: Selection) -> None:
    st.title("Storeflow — store planner")
    st.caption(f"{sel.store.name}: {sel.first:%d %b %Y} – {sel.last:%d %b %Y}")
    try:
        cur = context.summary(sel.store.id, sel.period)
        prev = context.summary(sel.store.id, sel.previous)
        foot = context.footfall(sel.store.id, sel.period, sel.bucket)
    except ApiError as exc:
        st.error(str(exc))
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Trips (footfall)",
        f"{cur.trips:,}",
        _delta(cur.trips, prev.trips),
        help=charts.FOOTFALL_DEFINITION,
    )
    c2.metric("Shoppers (distinct tags)", f"{cur.shoppers:,}", _delta(cur.shoppers, prev.shoppers))
    c3.metric(
        "Zone visits",
        f"{cur.visits:,}",
        _delta(cur.visits, prev.visits),
        help=charts.VISITS_DEFINITION,
    )
    c4.metric(
        "Median dwell per zone visit",
        charts.format_duration(cur.median_dwell_s),
        _delta(cur.median_dwell_s, prev.median_dwell_s),
        help=charts.DWELL_DEFINITION,
    )
    st.plotly_chart(
        charts.footfall_figure(
            foot,
            bucket=sel.bucket,
            timezone=sel.store.timezone,
            start=sel.period.start,
            end=sel.period.end,
        ),
        use_container_width=True,
    )
    st.caption(charts.FOOTFALL_DEFINITION)
    with st.expander("Footfall table"):
        st.dataframe(foot, use_container_width=True, hide_index=True)
        context.download(foot, f"footfall-{sel.store.id}", key="dl-footfall")
