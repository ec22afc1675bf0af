"""Storeflow — store planner: the Streamlit entry point (``storeflow dashboard``).

Every figure comes from the server's API (``dashboard/api.py``); nothing reads the database.
Pages live in ``dashboard/views/``; each is a function taking the sidebar :class:`Selection`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import context
from dashboard.views import (
    chain,
    counters,
    dwell,
    experiments,
    floor,
    health,
    members,
    overview,
    paths,
    retention,
)

st.set_page_config(page_title="Storeflow — store planner", page_icon="🛒", layout="wide")

selection = context.sidebar()


def _page(render: overview.Render) -> None:
    if selection is None:
        return
    render(selection)


pages = [
    st.Page(
        lambda: _page(overview.render),
        title="Overview",
        url_path="overview",
        default=True,
    ),
    st.Page(lambda: _page(floor.render), title="Floor", url_path="floor"),
    st.Page(lambda: _page(dwell.render), title="Dwell", url_path="dwell"),
    st.Page(lambda: _page(counters.render), title="Counters", url_path="counters"),
    st.Page(lambda: _page(paths.render), title="Paths", url_path="paths"),
    st.Page(lambda: _page(members.render), title="Members", url_path="members"),
    st.Page(lambda: _page(retention.render), title="Retention", url_path="retention"),
    st.Page(lambda: _page(chain.render), title="Chain", url_path="chain"),
    st.Page(
        lambda: _page(experiments.render),
        title="Experiments",
        url_path="experiments",
    ),
    st.Page(lambda: _page(health.render), title="Store health", url_path="health"),
]
st.navigation(pages).run()
