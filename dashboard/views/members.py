"""Members: the five classes, RFM segments, the Pareto curve, tiers' share of traffic and sales,
age band x gender. Who is lapsing and what contacts did is on the Retention page
(:mod:`dashboard.views.retention`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import context, fmt, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec
from dashboard.views.member_stages import render_transitions

CLASS_RULES = (
    "Classes (as of the end of the period, over the 365 days before it): **core** = the top "
    "20 % of buying members by sales; **loyal** = 3 or more purchases in at least 2 months; "
    "**occasional** = has bought, less often; **potential** = no purchase yet. **Referrers** "
    "(brought a member who bought) overlap the classes and are counted on their own."
)
RFM_RULES = (
    "RFM: recency, frequency and monetary value scored 1–5 by quintile (recent = 5); the segment "
    "comes from the R x F grid (champions, loyal customers, at risk, hibernating, ...)."
)


TRAFFIC = "#1f77b4"
SALES = "#ff7f0e"
MARK = "#d62728"
TOP = 20  # the Pareto's "top 20 %" of members


def pareto_figure(curve: pd.DataFrame, top_share: float | None) -> Spec:
    """The share of sales against the share of members ranked by sales, the diagonal of an
    equal split dotted, and the top 20 % marked with their share of sales."""
    title = "Pareto: share of sales by share of members"
    points = vega.rows(
        {"members_pct": m * 100, "sales_pct": v * 100}
        for m, v in zip(curve["member_share"], curve["sales_share"], strict=True)
    )
    x = {
        "field": "members_pct",
        "type": "quantitative",
        "scale": {"domain": [0, 100]},
        "axis": vega.axis("Members, ranked by sales (%)"),
    }
    y = {
        "field": "sales_pct",
        "type": "quantitative",
        "scale": {"domain": [0, 100]},
        "axis": vega.axis("Sales (%)"),
    }
    tip = vega.tooltip(("members_pct", "Members (%)", ".0f"), ("sales_pct", "Sales (%)", ".0f"))
    layers: list[Spec] = [
        {
            "data": {"values": points},
            "mark": {"type": "line", "color": TRAFFIC, "tooltip": True},
            "encoding": {"x": x, "y": y, "tooltip": tip},
        },
        {
            "data": {
                "values": [
                    {"members_pct": 0, "sales_pct": 0},
                    {"members_pct": 100, "sales_pct": 100},
                ]
            },
            "mark": {"type": "line", "color": vega.AXIS_LINE, "strokeDash": [2, 3]},
            "encoding": {"x": x, "y": y},
        },
    ]
    if top_share is not None:
        label = f"top {TOP} %: {top_share:.0%} of sales"
        mark = [{"members_pct": TOP, "sales_pct": top_share * 100, "label": label}]
        layers += [
            {
                "data": {"values": mark},
                "mark": {"type": "rule", "color": MARK, "strokeDash": [2, 3]},
                "encoding": {"x": x},
            },
            {
                "data": {"values": mark},
                "mark": {"type": "point", "filled": True, "color": MARK, "size": 60},
                "encoding": {"x": x, "y": y},
            },
            {
                "data": {"values": mark},
                "mark": {"type": "text", "align": "left", "dx": 8, "dy": 14, "fontSize": 12},
                "encoding": {"x": x, "y": y, "text": {"field": "label"}},
            },
        ]
    return vega.chart(title, height=380, layers=layers)


def classes_figure(classes: pd.DataFrame) -> Spec:
    """Members per class, the count written on each bar."""
    data = vega.records(classes, ["member_class", "members", "referrers"])
    x = {
        "field": "member_class",
        "type": "nominal",
        "sort": None,
        "axis": vega.axis(None, labelAngle=0, grid=False),
    }
    y = {
        "field": "members",
        "type": "quantitative",
        "axis": vega.axis("Members", format=",d", tickMinStep=1),
    }
    tip = vega.tooltip(
        ("member_class", "Class"), ("members", "Members", ",d"), ("referrers", "Referrers", ",d")
    )
    return vega.chart(
        "Members by class",
        height=380,
        data=data,
        layers=[
            {
                "mark": {"type": "bar", "color": TRAFFIC, "tooltip": True},
                "encoding": {"x": x, "y": y, "tooltip": tip},
            },
            {
                "mark": {"type": "text", "baseline": "bottom", "dy": -3},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "members", "type": "quantitative", "format": ",d"},
                },
            },
        ],
    )


def shares_figure(tiers: pd.DataFrame) -> Spec:
    """Each segment's share of traffic and of sales side by side (in %)."""
    data = vega.rows(
        {
            "segment": f"{seg} (VIP)" if vip else seg,  # VIP tiers marked, as in the table
            "vip": "yes" if vip else "no",
            "measure": measure,
            "pct": share * 100,
        }
        for seg, vip, traffic, sales in tiers[
            ["segment", "vip", "entries_share", "sales_share"]
        ].itertuples(index=False)
        for measure, share in (("share of traffic", traffic), ("share of sales", sales))
    )
    return vega.chart(
        "Each segment's share of traffic and of sales",
        height=380,
        data=data,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {
                "field": "segment",
                "type": "nominal",
                "sort": None,
                "axis": vega.axis(None, labelAngle=0, grid=False, labelLimit=160),
            },
            "xOffset": {"field": "measure", "sort": ["share of traffic", "share of sales"]},
            "y": {"field": "pct", "type": "quantitative", "axis": vega.axis("%")},
            "color": {
                "field": "measure",
                "type": "nominal",
                "scale": {
                    "domain": ["share of traffic", "share of sales"],
                    "range": [TRAFFIC, SALES],
                },
                "legend": {"title": None, "orient": "top"},
            },
            "tooltip": vega.tooltip(
                ("segment", "Segment"), ("vip", "VIP tier"), ("measure", "Of"), ("pct", "%", ".1f")
            ),
        },
    )


def member_figures(sel: Selection) -> dict[str, Any] | None:
    """The ``members`` answer for the selection, or None with the problem shown."""
    try:
        with st.spinner("Computing member figures ..."):
            data: dict[str, Any] = context.analytics(sel.store.id, "members", sel.period)
    except ApiError as exc:
        context.problem(exc)
        return None
    return data


def render(sel: Selection) -> None:
    st.title("Members")
    data = member_figures(sel)
    if data is None:
        return
    tile = context.tiles(210)
    tile("Members", f"{data['members']:,}")
    tile("Buyers (365 days)", f"{data['buyers']:,}")
    top = data["pareto_top_share"]
    tile("Sales from the top 20 %", f"{top:.0%}" if top is not None else "–")
    tile("As of", fmt.day(pd.Timestamp(data["as_of"]) - pd.Timedelta(seconds=1)))
    if data["buyers"] == 0:
        st.info("No member bought anything in the 365 days up to the end of this period.")

    classes = pd.DataFrame(
        data["classes"], columns=["member_class", "members", "referrers", "sales"]
    )
    left, right = st.columns(2)
    context.chart(classes_figure(classes), key="member-classes", where=left)
    context.chart(
        pareto_figure(pd.DataFrame(data["pareto"], columns=["member_share", "sales_share"]), top),
        key="member-pareto",
        where=right,
    )
    st.markdown(CLASS_RULES)
    context.table_on_request(
        classes.assign(sales=classes["sales"].map(fmt.money)),
        classes,
        f"member-classes-{sel.store.id}",
        key="dl-classes",
    )
    render_transitions(sel)

    st.subheader("RFM segments")
    st.caption(RFM_RULES)
    rfm = pd.DataFrame(
        data["rfm_segments"],
        columns=["segment", "members", "sales", "mean_recency_days", "mean_frequency"],
    )
    st.dataframe(
        pd.DataFrame(
            {
                "segment": rfm["segment"],
                "members": rfm["members"],
                "sales": rfm["sales"].map(fmt.money),
                "mean days since last purchase": rfm["mean_recency_days"].map(fmt.number),
                "mean purchases": rfm["mean_frequency"].map(lambda v: fmt.number(v, decimals=1)),
            }
        ),
        width="stretch",
        hide_index=True,
    )
    context.download(rfm, f"rfm-{sel.store.id}", key="dl-rfm")

    st.subheader("Traffic and sales by segment")
    tiers = pd.DataFrame(
        data["tiers"],
        columns=["segment", "vip", "entries", "entries_share", "sales", "sales_share"],
    )
    context.chart(shares_figure(tiers), key="member-tiers")
    st.caption(
        "Segment = the member's tier for member-card trips, non-member for carts and baskets; "
        "VIP tiers are marked. Traffic = entries; sales by time of payment."
    )
    context.table_on_request(
        pd.DataFrame(
            {
                "segment": tiers["segment"],
                "VIP tier": tiers["vip"].map({True: "yes", False: ""}),
                "entries": tiers["entries"].map(fmt.number),
                "share of traffic": tiers["entries_share"].map(fmt.pct),
                "sales": tiers["sales"].map(fmt.money),
                "share of sales": tiers["sales_share"].map(fmt.pct),
            }
        ),
        tiers,
        f"segments-{sel.store.id}",
        key="dl-tiers",
    )

    st.subheader("Age band x gender")
    demo = pd.DataFrame(
        data["demographics"],
        columns=["age_band", "gender", "members", "buyers", "sales", "sales_per_buyer"],
    )
    st.dataframe(
        demo.assign(
            sales=demo["sales"].map(fmt.money),
            sales_per_buyer=demo["sales_per_buyer"].map(fmt.money),
        ).rename(columns={"age_band": "age band", "sales_per_buyer": "sales per buyer"}),
        width="stretch",
        hide_index=True,
    )
    context.download(demo, f"demographics-{sel.store.id}", key="dl-demo")
