"""Counters: which concessions earn their space — ranking, verdict, traffic vs conversion."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context, fmt
from dashboard.api import ApiError
from dashboard.context import Selection
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


def quadrant_figure(frame: pd.DataFrame) -> go.Figure:
    """Traffic against conversion, coloured by verdict, marker size by sales per m²."""
    fig = go.Figure()
    top = float(frame["sales_per_m2"].max()) if not frame.empty else 0.0
    for verdict, colour in COLOURS.items():
        part = frame[frame["verdict"] == verdict]
        if part.empty:
            continue
        size = 12 + 24 * (part["sales_per_m2"] / top if top > 0 else 0)
        fig.add_trace(
            go.Scatter(
                x=part["visitors"],
                y=part["conversion"] * 100,
                mode="markers+text",
                text=[f"#{r} {n}" for r, n in zip(part["rank"], part["name"], strict=True)],
                textposition="top center",
                name=verdict,
                marker={"size": size, "color": colour},
                customdata=part["sales_per_m2"],
                hovertemplate=(
                    "%{text}<br>%{x} visitor trips<br>%{y:.1f} % converted"
                    "<br>%{customdata:,.0f} sales per m²<extra></extra>"
                ),
            )
        )
    if not frame.empty:
        fig.add_vline(x=float(frame["visitors"].median()), line_dash="dot", line_color="#999")
        fig.add_hline(
            y=float(frame["conversion"].median() * 100), line_dash="dot", line_color="#999"
        )
    fig.update_layout(
        title="Traffic vs conversion (marker size: sales per m²)",
        height=460,
        margin={"t": 50},
        xaxis_title="Visitor trips",
        yaxis_title="Conversion (%)",
        plot_bgcolor="white",
        legend_title="Verdict",
    )
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    return fig


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
    st.plotly_chart(quadrant_figure(judged), width="stretch")
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
