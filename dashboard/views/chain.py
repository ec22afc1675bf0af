"""Chain: every store side by side for the sidebar's period, ranked by a chosen figure; one
concession across the stores that host it; and a store picker to drill into one store's pages.

Needs a chain-wide planner token (one without a store); a store's token gets a plain message.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import context, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec
from storeflow.api.chain import ChainStores, ConcessionComparison
from storeflow.api.stores import StoreInfo

# figure -> (label, how to show it: pct = ratio as %, money, s = seconds, n = count)
STORE_FIGURES: dict[str, tuple[str, str]] = {
    "sales_per_visitor": ("Sales per visitor", "money"),
    "entries": ("Entries", "n"),
    "conversion": ("Conversion", "pct"),
    "sales": ("Sales", "money"),
    "atv": ("Average transaction value", "money"),
    "mean_trip_s": ("Time in store (s)", "s"),
    "mean_dwell_s": ("Zone dwell (s)", "s"),
    "member_share": ("Member share", "pct"),
    "coverage": ("Days with data", "pct"),
}
CONCESSION_FIGURES: dict[str, tuple[str, str]] = {
    "sales_per_visitor": ("Sales per visitor", "money"),
    "conversion": ("Conversion", "pct"),
    "visitors": ("Visitor trips", "n"),
    "exposure": ("Exposure", "pct"),
    "sales": ("Sales", "money"),
    "atv": ("Average transaction value", "money"),
    "sales_per_m2": ("Sales per m²", "money"),
}
DEFINITION = (
    "Entries = trips starting. Conversion = trips with a sale ÷ entries. Sales per visitor = "
    "sales ÷ entries. ATV = sales ÷ transactions. Member share = entries with a member card ÷ "
    "entries. Days with data = days with entries or sales ÷ days in the period; last heartbeat "
    "= the newest report of the store's edge devices. Each store's own local days."
)
BAR = "#1f77b4"
NO_CHAIN_TOKEN = (
    "The chain view needs a chain-wide planner token (one without a store); this dashboard's "
    "token is for one store. The store pages work as before."
)


@st.cache_data(ttl=context.CACHE_TTL_S, show_spinner=False)
def _stores(first: Any, last: Any, rank_by: str) -> ChainStores:
    return context.client().chain_stores(first, last, rank_by=rank_by)


@st.cache_data(ttl=context.CACHE_TTL_S, show_spinner=False)
def _brands() -> list[str]:
    return [c.brand for c in context.client().concessions() if c.stores > 1]


@st.cache_data(ttl=context.CACHE_TTL_S, show_spinner=False)
def _concession(brand: str, first: Any, last: Any, rank_by: str) -> ConcessionComparison:
    return context.client().concession(brand, first, last, rank_by=rank_by)


def shown(value: float | None, how: str) -> float | None:
    """A figure as the table shows it (ratios as %, rounded)."""
    if value is None:
        return None
    if how == "pct":
        return round(value * 100, 1)
    return round(value, 2 if how == "money" else 0)


def stores_frame(chain: ChainStores) -> pd.DataFrame:
    rows = [
        {
            "rank": s.rank,
            "store": f"{s.name} ({s.store_id})",
            "entries": s.entries,
            "conversion %": shown(s.conversion, "pct"),
            "sales": round(s.sales, 2),
            "sales per visitor": shown(s.sales_per_visitor, "money"),
            "ATV": shown(s.atv, "money"),
            "time in store s": shown(s.mean_trip_s, "s"),
            "zone dwell s": shown(s.mean_dwell_s, "s"),
            "member share %": shown(s.member_share, "pct"),
            "days with data": f"{s.days_with_data}/{s.days_in_period}",
            "last heartbeat": s.last_heartbeat,
        }
        for s in chain.stores
    ]
    return pd.DataFrame(rows)


def _value_text(value: float | None, how: str) -> str:
    """A bar's figure as written at its end: money and seconds rounded, ratios in %; a dash
    where the store has no figure."""
    if value is None:
        return "–"
    if how == "pct":
        return f"{value * 100:.1f} %"
    if how == "money":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def bar_figure(labels: list[str], values: list[float | None], title: str, how: str) -> Spec:
    """Horizontal bars, the first label on top, each figure written at its bar's end; a store
    without the figure keeps its row, with no bar."""
    scale = 100.0 if how == "pct" else 1.0
    data = vega.rows(
        {
            "store": label,
            "value": None if v is None else v * scale,
            "value_text": _value_text(v, how),
            "at": 0.0 if v is None else v * scale,  # where the text goes: 0 without a bar
        }
        for label, v in zip(labels, values, strict=True)
    )
    axis_title = title + (" (%)" if how == "pct" else "")
    y = {
        "field": "store",
        "type": "nominal",
        "sort": None,
        "scale": {"domain": labels},  # every store, the first on top
        "axis": vega.axis(None, grid=False, labelLimit=300),
    }
    top = max((d["value"] for d in data if d["value"] is not None), default=0.0)
    x = {
        "field": "value",
        "type": "quantitative",
        "scale": {"domain": [min(0.0, *(d["at"] for d in data)), top * 1.08 or 1.0]},  # room
        "axis": vega.axis(axis_title, format=",~f"),
    }
    tip = vega.tooltip(("store", "Store"), ("value_text", title))
    return vega.chart(
        title,
        height=max(260, 26 * len(labels) + 90),
        data=data,
        layers=vega.labelled_bars(
            y, x, text={"field": "value_text"}, color=BAR, tip=tip, label_x={**x, "field": "at"}
        ),
    )


def _drill(options: list[StoreInfo]) -> None:
    """Point the sidebar (and so every store page) at the chosen store."""
    chosen = st.session_state.get("chain-drill")
    if isinstance(chosen, StoreInfo) and chosen in options:
        st.session_state["store"] = chosen


def render(sel: Selection) -> None:
    st.title("Chain")
    left, right = st.columns(2)
    rank_by = left.selectbox(
        "Rank stores by",
        list(STORE_FIGURES),
        format_func=lambda k: STORE_FIGURES[k][0],
        key="chain-rank",
    )
    try:
        chain = _stores(sel.first, sel.last, rank_by)
    except ApiError as exc:
        if exc.status == 403:
            st.info(NO_CHAIN_TOKEN)
        else:
            st.error(str(exc))
        return
    right.metric("Stores", len(chain.stores), help=f"{chain.first} .. {chain.last}")
    label, how = STORE_FIGURES[rank_by]
    context.chart(
        bar_figure(
            [f"{s.rank}. {s.name}" for s in chain.stores],
            [getattr(s, rank_by) for s in chain.stores],
            f"{label}, {chain.first} .. {chain.last}",
            how,
        ),
        key="chain-stores",
    )
    st.caption(DEFINITION)
    context.table(stores_frame(chain), f"chain-{chain.first}-{chain.last}", key="dl-chain")

    st.subheader("Drill into a store")
    options = context.stores()
    current = next((s for s in options if s.id == sel.store.id), options[0])
    st.selectbox(
        "Store",
        options,
        index=options.index(current),
        format_func=lambda s: f"{s.name} ({s.id})",
        key="chain-drill",
        on_change=_drill,
        args=(options,),
        help="Shows this store on every store page (Overview, Floor, Counters, …).",
    )
    st.caption(
        f"The store pages now show **{sel.store.name}**: open them in the navigation. "
        "Its figures come from the store's own endpoints "
        f"(`{next((s.links.summary for s in chain.stores if s.store_id == sel.store.id), '')}`)."
    )

    st.subheader("A concession across the stores")
    try:
        brands = _brands()
    except ApiError as exc:
        st.error(str(exc))
        return
    if not brands:
        st.info("No concession is hosted by more than one store.")
        return
    a, b = st.columns(2)
    brand = a.selectbox("Concession (brand)", brands, key="chain-brand")
    c_rank = b.selectbox(
        "Rank by",
        list(CONCESSION_FIGURES),
        format_func=lambda k: CONCESSION_FIGURES[k][0],
        key="chain-c-rank",
    )
    try:
        comp = _concession(brand, sel.first, sel.last, c_rank)
    except ApiError as exc:
        st.error(str(exc))
        return
    c_label, c_how = CONCESSION_FIGURES[c_rank]
    context.chart(
        bar_figure(
            [f"{r.rank}. {r.store_name}" for r in comp.stores],
            [getattr(r, c_rank) for r in comp.stores],
            f"{brand}: {c_label}",
            c_how,
        ),
        key="chain-concession",
    )
    frame = pd.DataFrame(
        [
            {
                "rank": r.rank,
                "store": f"{r.store_name} ({r.store_id})",
                "counter": f"{r.name} ({r.counter})",
                "area m²": r.area_m2,
                "visitor trips": r.visitors,
                "exposure %": shown(r.exposure, "pct"),
                "conversion %": shown(r.conversion, "pct"),
                "sales": round(r.sales, 2),
                "sales per visitor": shown(r.sales_per_visitor, "money"),
                "ATV": shown(r.atv, "money"),
                "sales per m²": shown(r.sales_per_m2, "money"),
            }
            for r in comp.stores
        ]
    )
    context.table(frame, f"concession-{brand}", key="dl-concession")
