"""The reference page of ``storeflow bench pages``: Streamlit's own floor for a dashboard page.

The dashboard's shell — the same ten-page navigation and the same sidebar filters (store, preset,
period, comparison, bucket, shoppers) — around one title and one Vega-Lite chart of 28 days, with
no API behind it. Served the way ``storeflow dashboard`` is (``dashboard.serve``) and loaded
cold between the dashboard's pages, its time says what any page with these filters costs the
browser on the machine of the run, so each page's time is also given as a ratio to it.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from dashboard import vega

FIRST = date(2026, 1, 1)
DAYS = 28


def footfall() -> vega.Spec:
    """A line of 28 days' entries (a weekly pattern, no data source)."""
    values = [
        {"day": (FIRST + timedelta(days=i)).isoformat(), "entries": 900 + 250 * (i % 7 in (5, 6))}
        for i in range(DAYS)
    ]
    x = {"field": "day", "type": "temporal", "axis": vega.axis(None)}
    y = {"field": "entries", "type": "quantitative", "axis": vega.axis("Entries")}
    return vega.chart(
        "Entries by day",
        height=320,
        data=values,
        layers=[{"mark": {"type": "line", "tooltip": True}, "encoding": {"x": x, "y": y}}],
    )


def page() -> None:
    st.title("Reference page")
    st.vega_lite_chart(spec=footfall(), width="stretch")


def main() -> None:
    st.set_page_config(page_title="Storeflow — reference page", layout="wide")
    st.sidebar.title("Storeflow")
    st.sidebar.selectbox("Store", ["Demo store (demo)"])
    st.sidebar.selectbox("Period preset", ["Last 7 whole days", "Last 28 days"])
    st.sidebar.date_input("Period", value=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    st.sidebar.radio("Compare with", ["the period just before", "the same weekdays a year before"])
    st.sidebar.radio("Footfall by", ["hour", "day", "week"], index=1, horizontal=True)
    st.sidebar.multiselect("Shoppers", ["gold", "silver", "non-member"], placeholder="all shoppers")
    st.sidebar.caption("Data up to 2026-01-28 23:59 UTC")
    pages = [
        st.Page(page, title=f"Page {i + 1}", url_path=f"page{i + 1}", default=i == 0)
        for i in range(10)
    ]
    st.navigation(pages).run()


main()
