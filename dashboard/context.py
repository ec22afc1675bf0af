"""What every page needs: the API client (cached calls), the chosen store and period."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.api import (
    ApiConfig,
    ApiError,
    Bucket,
    Period,
    StoreflowClient,
    default_dates,
    period_for_dates,
)
from dashboard.digest import Digest, gather
from dashboard.vega import Spec
from storeflow.api.analytics import Summary
from storeflow.api.calendar import StoreEvent
from storeflow.api.paths import Paths
from storeflow.api.stores import StoreInfo
from storeflow.layout import StoreLayout

CACHE_TTL_S = 30


LOGIN_ENV = "STOREFLOW_DASHBOARD_LOGIN"  # "1": each visitor enters a planner token


def login_required() -> bool:
    return os.environ.get(LOGIN_ENV) == "1"


@st.cache_resource
def _client_for(token: str) -> StoreflowClient:
    return StoreflowClient(replace(ApiConfig.from_env(), token=token))


def client() -> StoreflowClient:
    """The API client: of the token given at start, or (login) of the visitor's own token."""
    if login_required():
        return _client_for(str(st.session_state.get("api_token", "")))
    return _client_for(ApiConfig.from_env().token)


def login() -> bool:
    """When the dashboard is served beyond this machine: ask for a planner token (checked with
    the server, kept in the visitor's session only). True once logged in."""
    if not login_required() or st.session_state.get("api_token"):
        return True
    with st.sidebar.form("login"):
        token = st.text_input("Planner token", type="password")
        if not st.form_submit_button("Log in") or not token.strip():
            st.info("Log in with a planner token.")
            return False
    try:
        _client_for(token.strip()).stores()
    except ApiError as exc:
        st.error(str(exc))
        return False
    st.session_state["api_token"] = token.strip()
    st.rerun()
    return True


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def stores() -> list[StoreInfo]:
    return client().stores()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def layout(store_id: str) -> StoreLayout:
    return client().layout(store_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def summary(store_id: str, period: Period | None, compare: str = "previous") -> Summary:
    return client().summary(store_id, period, compare=compare)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def dwell(store_id: str, period: Period) -> pd.DataFrame:
    return client().dwell(store_id, period)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def paths(store_id: str, period: Period) -> Paths:
    return client().paths(store_id, period)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def counters(store_id: str, period: Period) -> pd.DataFrame:
    return client().counters(store_id, period)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def analytics(store_id: str, name: str, period: Period | None, **extra: Any) -> Any:
    """Any analytics endpoint's JSON answer (cached for 30 s per arguments)."""
    return client().analytics(store_id, name, period, **extra)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def calendar(store_id: str, period: Period | None) -> list[StoreEvent]:
    return client().calendar(store_id, period)


def events(store_id: str, period: Period | None) -> list[StoreEvent]:
    """The store's calendar for the charts' markers; none (with a note) if it cannot be read,
    so a chart never fails for want of its markers."""
    try:
        return calendar(store_id, period)
    except ApiError as exc:
        st.caption(f"The store's calendar could not be read: {exc}")
        return []


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="Reading what needs attention ...")
def digest(store: StoreInfo, first: date, last: date, compare: str, period: Period) -> Digest:
    """The period's alerts and verdicts (dashboard/digest.py), as the overview opens on them."""
    return gather(client(), store, first, last, compare=compare, period=period)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def segments(store_id: str) -> list[str]:
    result: list[str] = client().analytics(store_id, "segments")
    return result


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def zone_visits(store_id: str, period: Period) -> pd.DataFrame:
    return client().zone_visits(store_id, period)


@dataclass(frozen=True)
class Selection:
    store: StoreInfo
    first: date
    last: date
    period: Period
    previous: Period  # the period the deltas compare with (see ``compare``)
    bucket: Bucket
    compare: str = "previous"  # previous, last_week or last_year (the summary's ``compare``)

    @property
    def period_days(self) -> int:
        return (self.last - self.first).days + 1


def sidebar() -> Selection | None:
    """Store, period and bucket filters; None (after showing why) if the API cannot be used."""
    st.sidebar.title("Storeflow")
    if not login():
        return None
    try:
        options = stores()
    except ApiError as exc:
        st.error(str(exc))
        return None
    if not options:
        st.info("No store has a layout yet: import one with `storeflow db import-layout`.")
        return None
    store = st.sidebar.selectbox(
        "Store", options, format_func=lambda s: f"{s.name} ({s.id})", key="store"
    )
    assert store is not None
    try:
        latest = summary(store.id, None)
    except ApiError as exc:
        st.error(str(exc))
        return None
    first_default, last_default = default_dates(latest.last_at, store.timezone)
    preset = st.sidebar.selectbox("Period preset", list(PRESETS), key="preset")
    first_default = preset_first(preset, first_default, last_default)
    # a link can carry the period: ?from=2026-11-01&to=2026-11-07
    first_default = _query_day("from", first_default)
    last_default = max(first_default, _query_day("to", last_default))
    chosen: Any = st.sidebar.date_input(
        "Period",
        value=(first_default, last_default),
        key=f"period-{preset}",
        help="Dates in the store's time zone; both ends included. Presets end on the last "
        "whole day: today is not over.",
    )
    compare: str = st.sidebar.radio(
        "Compare with",
        list(COMPARE),
        format_func=COMPARE.__getitem__,
        index=list(COMPARE).index(PRESETS[preset]),
        key=f"compare-{preset}",
    )
    first, last = (chosen[0], chosen[-1]) if isinstance(chosen, tuple | list) else (chosen, chosen)
    days = (last - first).days + 1
    bucket: Bucket = st.sidebar.radio(
        "Footfall by",
        ["hour", "day", "week"],
        index=(2 if days > 60 else 1) if days > 2 else 0,
        horizontal=True,
        key="bucket",
    )
    chosen_segments: list[str] = st.sidebar.multiselect(
        "Shoppers",
        segments(store.id),
        default=[],
        key="segments",
        placeholder="all shoppers",
        help="Member tiers, or non-member (carts and baskets). Empty: everyone.",
    )
    floors = [f.id for f in layout(store.id).floors]
    floor: str | None = None
    if len(floors) > 1:
        picked = st.sidebar.selectbox("Floor", ["all floors", *floors], key="floor-filter")
        floor = None if picked == "all floors" else picked
    st.sidebar.caption(
        f"Data up to {latest.last_at:%Y-%m-%d %H:%M} UTC" if latest.last_at else "No data yet."
    )

    def period(a: date, b: date) -> Period:
        p = period_for_dates(a, b, store.timezone)
        return Period(p.start, p.end, tuple(chosen_segments), floor)

    shift = timedelta(days=comparison_shift(days, compare))
    return Selection(
        store=store,
        first=first,
        last=last,
        period=period(first, last),
        previous=period(first - shift, last - shift),
        bucket=bucket,
        compare=compare,
    )


# preset -> the comparison it comes with
PRESETS = {
    "Last 7 whole days": "previous",
    "Week to date": "last_week",
    "Month to date": "last_year",
    "Last 28 days": "previous",
    "Last 7 days against last year": "last_year",
}
COMPARE = {
    "previous": "the period just before",
    "last_week": "the same weekdays a week before",
    "last_year": "the same weekdays a year before",
}


def comparison_shift(days: int, compare: str) -> int:
    """Days back to the compared period (as the server's ``compare``)."""
    if compare == "last_week":
        return 7 * max(1, -(-days // 7))
    if compare == "last_year":
        return 364
    return days


def preset_first(preset: str, first: date, last: date) -> date:
    """The first day of ``preset`` ending on ``last`` (the last whole day)."""
    if preset == "Week to date":
        return last - timedelta(days=last.weekday())
    if preset == "Month to date":
        return last.replace(day=1)
    if preset == "Last 28 days":
        return last - timedelta(days=27)
    return first


def _query_day(name: str, default: date) -> date:
    text = st.query_params.get(name)
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def chart(spec: Spec, *, key: str | None = None, where: Any = None) -> None:
    """Draw a Vega-Lite spec (:mod:`dashboard.vega`) across the page or column ``where``."""
    (where or st).vega_lite_chart(spec=spec, width="stretch", key=key)


def table(frame: pd.DataFrame, name: str, *, key: str) -> None:
    """A table as the planner sees it, with its CSV download right under it."""
    st.dataframe(frame, width="stretch", hide_index=True)
    download(frame, name, key=key)


def tiles(width: int = 280) -> Callable[..., Any]:
    """``st.metric`` for headline figures in one wrapping row of tiles ``width`` pixels wide (three
    a row at 280, four at 210 on a wide page): rows of ``st.columns`` draw a layout element per
    column in the browser besides each tile."""
    return partial(st.container(horizontal=True, gap="medium").metric, width=width)


def table_on_request(
    shown: pd.DataFrame, raw: pd.DataFrame, name: str, *, key: str, label: str = "Show the table"
) -> None:
    """The figures behind a chart: their CSV download, and their table once the planner asks
    for it. A data grid is the heaviest element a page draws in the browser; a table that only
    repeats a chart is not drawn with every load of the page."""
    if st.toggle(label, key=f"{key}-table"):
        st.dataframe(shown, width="stretch", hide_index=True)
    download(raw, name, key=key)


def download(frame: pd.DataFrame, name: str, *, key: str) -> None:
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
    )


def problem(exc: ApiError) -> None:
    """An API error shown to the planner: a question the data cannot answer (HTTP 422) is a
    notice, not a failure; anything else is an error."""
    if exc.status == 422:
        st.warning(str(exc))
    else:
        st.error(str(exc))
