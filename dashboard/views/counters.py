"""Counters: which concessions earn their space — ranking, verdict, traffic vs conversion."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from dashboard import context, fmt, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec
from storeflow.api.analytics import VISITOR_MIN_DWELL_S

DEFINITION = (
    "Ranking by sales per m² (net of returns). Verdict: counters earning at least the store's "
    "median sales per m² are kept, whatever their traffic, unless their terms fall short (below "
    "the table); below it, the quadrant and the "
    "basket value say what to work on, and a counter under half the median with low conversion "
    "and small baskets is a candidate to replace. Visitors = trips that dwelt at the counter at "
    f"least {VISITOR_MIN_DWELL_S:.0f} s. Exposure = visitor trips ÷ store trips. "
    "Conversion = visitor trips that bought "
    "at the counter ÷ visitor trips. Basket = sales ÷ buying visitor trips. Quadrants split "
    "traffic and conversion at the median of the store's counters. ATV = sales ÷ transactions "
    "with a line at the counter; UPT = units ÷ those transactions (net of returns)."
)
TERMS_DEFINITION = (
    "Terms from the store layout: the store's take per m² a month = rent per m² a month + "
    "commission × sales per m² a month (the period's sales put on 30 days, from its first to "
    "its last day with data). A take under the store's target, or sales that do not cover the "
    "rent, make the verdict “Review the contract”, also for a counter in the top half."
)
COLOURS = {
    "keep": "#2ca02c",
    "improve placement": "#1f77b4",
    "review merchandising": "#ff7f0e",
    "review contract": "#9467bd",
    "replace": "#d62728",
}


# marker areas in px² (Vega sizes are areas): the smallest counter's and the top earner's
SIZE_MIN, SIZE_MAX = 140.0, 1300.0
LIFT = -(math.sqrt(SIZE_MAX) / 2 + 2)  # labels clear of the largest marker
# the quadrants' names in their corners: (name, corner x, corner y, align, baseline)
QUADRANTS = [
    ("hidden gem: low traffic, high conversion", 6, 6, "left", "top"),
    ("star: high traffic, high conversion", "width", 6, "right", "top"),
    ("weak: low traffic, low conversion", 6, "height", "left", "bottom"),
    ("window shopping: high traffic, low conversion", "width", "height", "right", "bottom"),
]


def quadrant_figure(frame: pd.DataFrame) -> Spec:
    """Traffic against conversion, coloured by verdict, marker size by sales per m², each
    counter labelled "#rank name"; dotted lines at the medians split the quadrants, whose
    names stand in the corners."""
    title = "Traffic vs conversion (marker size: sales per m²)"
    if frame.empty:
        return vega.empty(title, "No counter to judge in this period", height=520)
    top = float(frame["sales_per_m2"].max())
    share = (frame["sales_per_m2"] / top if top > 0 else frame["sales_per_m2"] * 0).clip(lower=0)
    size = SIZE_MIN + (SIZE_MAX - SIZE_MIN) * share.astype("float64")
    shown = pd.DataFrame(
        {
            "label": "#" + frame["rank"].astype(str) + " " + frame["name"],
            "verdict": frame["verdict"],
            "quadrant": frame["quadrant"],
            "visitors": frame["visitors"],
            "conversion_pct": frame["conversion"].astype("float64") * 100,
            "sales_per_m2": frame["sales_per_m2"],
            "size": size,
        }
    )
    data = vega.records(shown)
    # from 0, with room at the top and the right for the markers and their labels
    x_top = float(shown["visitors"].max() or 0) * 1.12 or 1.0
    y_top = float(shown["conversion_pct"].max() or 0) * 1.15 or 1.0
    x = {
        "field": "visitors",
        "type": "quantitative",
        "scale": {"domain": [0, x_top]},
        "axis": vega.axis("Visitor trips", format=",d", tickMinStep=1),
    }
    y = {
        "field": "conversion_pct",
        "type": "quantitative",
        "scale": {"domain": [0, y_top]},
        "axis": vega.axis("Conversion (%)"),
    }
    tip = vega.tooltip(
        ("label", "Counter"),
        ("verdict", "Verdict"),
        ("quadrant", "Quadrant"),
        ("visitors", "Visitor trips", ",d"),
        ("conversion_pct", "Converted (%)", ".1f"),
        ("sales_per_m2", "Sales per m²", ",.0f"),
    )
    medians = [
        {
            "visitors": float(frame["visitors"].median()),
            "conversion_pct": float(frame["conversion"].median() * 100),
        }
    ]
    median_tip = vega.tooltip(
        ("visitors", "Median visitor trips", ",.0f"),
        ("conversion_pct", "Median conversion (%)", ".1f"),
    )
    rule = {"type": "rule", "color": vega.AXIS_LINE, "strokeDash": [3, 3], "tooltip": True}
    layers: list[Spec] = [
        {
            "data": {"values": medians},
            "mark": rule,
            "encoding": {"x": x, "tooltip": median_tip},
        },
        {
            "data": {"values": medians},
            "mark": rule,
            "encoding": {"y": y, "tooltip": median_tip},
        },
    ]
    layers += [
        {
            "data": {"values": [{"quadrant": name}]},
            "mark": {
                "type": "text",
                "align": align,
                "baseline": baseline,
                "dx": -6 if cx == "width" else 0,
                "dy": -6 if cy == "height" else 0,
                "color": vega.AXIS_LINE,
                "fontSize": 12,
                "fontStyle": "italic",
            },
            "encoding": {"x": {"value": cx}, "y": {"value": cy}, "text": {"field": "quadrant"}},
        }
        for name, cx, cy, align, baseline in QUADRANTS
    ]
    layers += [
        {
            "data": {"values": data},
            "mark": {"type": "point", "filled": True, "opacity": 0.85, "tooltip": True},
            "encoding": {
                "x": x,
                "y": y,
                "size": {"field": "size", "type": "quantitative", "scale": None, "legend": None},
                "color": {
                    "field": "verdict",
                    "type": "nominal",
                    "scale": {"domain": list(COLOURS), "range": list(COLOURS.values())},
                    "legend": {"title": "Verdict"},
                },
                "tooltip": tip,
            },
        },
        {
            "data": {"values": data},
            "mark": {"type": "text", "baseline": "bottom", "dy": LIFT, "fontSize": 11},
            "encoding": {
                "x": x,
                "y": y,
                "text": {"field": "label"},
                "tooltip": tip,
            },
        },
    ]
    return vega.chart(title, height=520, layers=layers)


def terms(row: pd.Series) -> str:
    """A counter's terms in words ("25 % commission", "rent € 120 per m²"), or a dash."""
    parts = []
    if not pd.isna(row["commission_rate"]):
        parts.append(f"{row['commission_rate'] * 100:.0f} % commission")
    if not pd.isna(row["rent_per_m2"]):
        parts.append(f"rent {fmt.money(row['rent_per_m2'])} per m²")
    return " + ".join(parts) or fmt.MISSING


def people_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The counter figures as a person reads them (money with its currency, shares in %)."""
    table = pd.DataFrame(
        {
            "rank": frame["rank"],
            "counter": frame["code"] + " " + frame["name"],
            "category": frame["category"],
            "verdict": frame["verdict"],
            "sales per m²": frame["sales_per_m2"].map(fmt.money),
            "sales": frame["sales"].map(fmt.money),
            "basket": frame["basket_value"].map(fmt.money),
            "ATV": frame["average_sale"].map(fmt.money),
            "UPT": frame["units_per_sale"].map(lambda v: fmt.number(v, decimals=2)),
            "visitor trips": frame["visitors"].map(fmt.number),
            "exposure": frame["exposure_rate"].map(fmt.pct),
            "conversion": frame["conversion"].map(fmt.pct),
            "median dwell": frame["median_dwell_s"].map(fmt.minutes),
            "area": frame["area_m2"].map(lambda a: f"{a:,.0f} m²"),
            "quadrant": frame["quadrant"].fillna(fmt.MISSING),
        }
    )
    if frame["take_per_m2"].notna().any():  # the layout gives terms: show them next to sales
        table.insert(5, "terms", frame.apply(terms, axis=1))
        table.insert(6, "store's take per m² a month", frame["take_per_m2"].map(fmt.money))
    return table


def render(sel: Selection) -> None:
    st.title("Counters")
    try:
        frame = context.counters(sel.store.id, sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    if frame.empty:
        st.info("No counters in this store's layout.")
        return
    if (frame["verdict"] == "no data").all():
        st.info(
            "No data in this period: no shopper stopped at a counter and nothing was sold, "
            "so there is nothing to judge. Choose another period."
        )
        return
    judged = frame[frame["verdict"] != "no data"]
    context.chart(quadrant_figure(judged), key="counters-quadrant")
    st.caption(DEFINITION)
    st.subheader("Recommendations")
    for _, row in frame.iterrows():
        st.markdown(f"**{row['rank']}. {row['name']}** — {row['recommendation']}")
    st.dataframe(people_table(frame), width="stretch", hide_index=True)
    if frame["take_per_m2"].notna().any():
        target = frame["take_target_per_m2"].dropna()
        st.caption(
            TERMS_DEFINITION
            + (
                f" The store's target: {fmt.money(target.iloc[0])} per m² a month."
                if not target.empty
                else " The layout sets no target, so the take is shown, not judged."
            )
        )
    context.download(frame, f"counters-{sel.store.id}", key="dl-counters")
