"""Members: the five classes, RFM segments, the Pareto curve, tiers' share of traffic and sales,
age band x gender, and the lapse alerts to act on."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context, fmt
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.views import campaigns
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
LAPSE_RULES = (
    "A member is overdue when the days since the last purchase exceed the factor x their own "
    "median interval between purchase days (members with enough purchase days). P(alive) is "
    "the BG/NBD probability the member is still active, fitted on this store's buyers."
)


def pareto_figure(curve: pd.DataFrame, top_share: float | None) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=curve["member_share"] * 100, y=curve["sales_share"] * 100, mode="lines", name="members"
    )
    fig.add_scatter(
        x=[0, 100], y=[0, 100], mode="lines", line={"dash": "dot", "color": "#999"}, name="equal"
    )
    if top_share is not None:
        fig.add_vline(x=20, line_dash="dot", line_color="#d62728")
        fig.add_annotation(x=20, y=top_share * 100, text=f"top 20 %: {top_share:.0%} of sales")
    fig.update_layout(
        title="Pareto: share of sales by share of members",
        height=380,
        xaxis_title="Members, ranked by sales (%)",
        yaxis_title="Sales (%)",
        plot_bgcolor="white",
        showlegend=False,
    )
    return fig


def shares_figure(tiers: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=tiers["segment"], y=tiers["entries_share"] * 100, name="share of traffic")
    fig.add_bar(x=tiers["segment"], y=tiers["sales_share"] * 100, name="share of sales")
    fig.update_layout(
        title="Each segment's share of traffic and of sales",
        barmode="group",
        height=360,
        yaxis_title="%",
        plot_bgcolor="white",
    )
    return fig


def render(sel: Selection) -> None:
    st.title("Members")
    try:
        with st.spinner("Computing member figures ..."):
            data: dict[str, Any] = context.analytics(sel.store.id, "members", sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    c = st.columns(4)
    c[0].metric("Members", f"{data['members']:,}")
    c[1].metric("Buyers (365 days)", f"{data['buyers']:,}")
    top = data["pareto_top_share"]
    c[2].metric("Sales from the top 20 %", f"{top:.0%}" if top is not None else "–")
    c[3].metric("As of", fmt.day(pd.Timestamp(data["as_of"]) - pd.Timedelta(seconds=1)))
    if data["buyers"] == 0:
        st.info("No member bought anything in the 365 days up to the end of this period.")

    classes = pd.DataFrame(
        data["classes"], columns=["member_class", "members", "referrers", "sales"]
    )
    left, right = st.columns(2)
    fig = go.Figure(
        go.Bar(x=classes["member_class"], y=classes["members"], text=classes["members"])
    )
    fig.update_layout(title="Members by class", height=360, plot_bgcolor="white")
    left.plotly_chart(fig, width="stretch")
    right.plotly_chart(
        pareto_figure(pd.DataFrame(data["pareto"], columns=["member_share", "sales_share"]), top),
        width="stretch",
    )
    st.markdown(CLASS_RULES)
    shown = classes.assign(sales=classes["sales"].map(fmt.money))
    st.dataframe(shown, width="stretch", hide_index=True)
    context.download(classes, f"member-classes-{sel.store.id}", key="dl-classes")
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
    st.plotly_chart(shares_figure(tiers), width="stretch")
    st.caption(
        "Segment = the member's tier for member-card trips, non-member for carts and baskets; "
        "VIP tiers are marked. Traffic = entries; sales by time of payment."
    )
    st.dataframe(
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
        width="stretch",
        hide_index=True,
    )
    context.download(tiers, f"segments-{sel.store.id}", key="dl-tiers")

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

    campaigns.render_uplift(sel)

    st.subheader("Lapse alerts")
    st.caption(LAPSE_RULES)
    a, b, c2 = st.columns(3)
    factor = a.slider("Overdue factor", 1.5, 6.0, 2.0, 0.5, key="lapse-factor")
    min_n = b.slider("Minimum purchase days", 2, 10, 3, key="lapse-min")
    dropout = data["bgnbd"].get("dropout")
    known = dropout is not None and dropout >= 1e-3
    max_p = c2.slider(
        "Only P(alive) below",
        0.0,
        1.0,
        1.0,
        0.05,
        key="lapse-p",
        disabled=not known,
        help=None if known else "Unknown for this store: see the note below.",
    )
    if not known:
        st.caption(
            "P(alive) is unknown here: this store's purchase history shows no measurable "
            "drop-out yet (the BG/NBD fit puts it near 0), so the model would call every "
            "member alive. Judge by the overdue factor instead."
        )
    try:
        alerts = pd.DataFrame(
            context.analytics(
                sel.store.id,
                "members/lapse",
                sel.period,
                factor=factor,
                min_purchases=min_n,
                max_p_alive=max_p,
            )
        )
    except ApiError as exc:
        context.problem(exc)
        return
    if alerts.empty:
        st.info("No member is overdue with these thresholds.")
        return
    st.write(f"{len(alerts):,} members overdue (most overdue first).")
    st.dataframe(
        pd.DataFrame(
            {
                "member": alerts["member_no"],
                "tier": alerts["tier"],
                "class": alerts["member_class"],
                "purchase days": alerts["purchases"],
                "last purchase": alerts["last_purchase_at"].map(fmt.day),
                "days since": alerts["days_since"].map(fmt.number),
                "usual interval (days)": alerts["median_interval_days"].map(
                    lambda v: fmt.number(v, decimals=1)
                ),
                "x usual interval": alerts["ratio"].map(lambda v: f"{v:.1f}x"),
                "P(alive)": alerts["p_alive"].map(lambda v: fmt.pct(v, decimals=0)),
                "suggested action": alerts["action"],
            }
        ),
        width="stretch",
        hide_index=True,
    )
    context.download(alerts, f"lapse-alerts-{sel.store.id}", key="dl-lapse")
