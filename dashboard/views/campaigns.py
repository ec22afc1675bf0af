"""Triggered contacts on the Members page: the uplift of each trigger rule, contacted against
held-out members, as differences with their 95 % intervals (figures only: no member is named).
The lists themselves are customer care's (the crm role, ``/campaigns``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context, fmt
from dashboard.api import ApiError
from dashboard.context import CACHE_TTL_S, Selection
from storeflow.api.campaigns import RuleUplift

UPLIFT_DEFINITION = (
    "Each run of a trigger rule keeps a random share of the members it picks uncontacted (the "
    "hold-out). Uplift = contacted minus held out, over the rule's runs, within the rule's window "
    "after each run (default 30 days): the share of members who bought (percentage points; 95 % "
    "interval: Newcombe's hybrid score) and the spend per member, net of returns (95 % interval: "
    "percentile bootstrap). An interval that excludes 0 is marked distinguishable."
)
OPEN_WINDOWS = "Runs whose window is still open count the purchases made so far."

COLUMNS = (
    "rule",
    "kind",
    "runs",
    "runs_complete",
    "contacted",
    "held_out",
    "rate_contacted",
    "rate_held_out",
    "rate_diff",
    "rate_low",
    "rate_high",
    "spend_diff",
    "spend_low",
    "spend_high",
    "rate_distinguishable",
    "spend_distinguishable",
)


def uplift_frame(rows: list[RuleUplift]) -> pd.DataFrame:
    """One row per rule with both groups' figures and the two differences (rates as shares)."""
    out = []
    for r in rows:
        g = {x.group: x for x in r.groups}
        out.append(
            (
                r.rule_name,
                r.kind,
                r.runs,
                r.runs_complete,
                g["contacted"].members,
                g["held_out"].members,
                g["contacted"].purchase_rate,
                g["held_out"].purchase_rate,
                r.purchase_rate.estimate,
                r.purchase_rate.ci_low,
                r.purchase_rate.ci_high,
                r.spend_per_member.estimate,
                r.spend_per_member.ci_low,
                r.spend_per_member.ci_high,
                r.purchase_rate.distinguishable,
                r.spend_per_member.distinguishable,
            )
        )
    frame = pd.DataFrame(out, columns=list(COLUMNS))
    for col in COLUMNS[6:14]:
        frame[col] = frame[col].astype("float64")
    return frame


def uplift_figure(frame: pd.DataFrame, *, measure: str = "rate") -> go.Figure:
    """Each rule's difference with its interval as error bars, 0 marked. ``measure``: ``rate``
    (percentage points) or ``spend`` (per member). Rules without a difference are left out."""
    shown = frame.dropna(subset=[f"{measure}_diff"])
    scale = 100.0 if measure == "rate" else 1.0
    est = shown[f"{measure}_diff"] * scale
    colours = ["#2ca02c" if d else "#7f7f7f" for d in shown[f"{measure}_distinguishable"]]
    fig = go.Figure(
        go.Scatter(
            x=est,
            y=shown["rule"],
            mode="markers",
            marker={"size": 10, "color": colours},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": shown[f"{measure}_high"] * scale - est,
                "arrayminus": est - shown[f"{measure}_low"] * scale,
            },
            hovertemplate="%{y}: %{x:.1f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color="#999")
    title, axis = (
        ("Purchase rate, contacted − held out", "percentage points")
        if measure == "rate"
        else ("Spend per member, contacted − held out", f"{fmt.currency()} per member")
    )
    fig.update_layout(
        title=title,
        height=170 + 50 * max(1, len(shown)),
        xaxis_title=axis,
        yaxis={"automargin": True, "autorange": "reversed"},  # the first rule on top
        plot_bgcolor="white",
        showlegend=False,
    )
    if shown.empty:
        fig.add_annotation(text="No run with both groups yet", showarrow=False)
    return fig


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _uplift(store_id: str) -> list[RuleUplift]:
    return context.client().campaign_uplift(store_id)


def render_uplift(sel: Selection) -> None:
    """The section: the two charts and a table, or why there is nothing to show."""
    st.subheader("Triggered contacts: uplift")
    st.caption(UPLIFT_DEFINITION)
    try:
        rows = _uplift(sel.store.id)
    except ApiError as exc:
        st.info(f"Campaign uplift is not available: {exc}")
        return
    if not rows:
        st.info("No trigger rule has run yet (customer care runs them: /api/v1/campaigns).")
        return
    frame = uplift_frame(rows)
    left, right = st.columns(2)
    left.plotly_chart(uplift_figure(frame, measure="rate"), width="stretch")
    right.plotly_chart(uplift_figure(frame, measure="spend"), width="stretch")
    if (frame["runs_complete"] < frame["runs"]).any():
        st.caption(OPEN_WINDOWS)
    st.dataframe(
        pd.DataFrame(
            {
                "rule": frame["rule"],
                "runs": frame["runs"],
                "contacted": frame["contacted"],
                "held out": frame["held_out"],
                "bought, contacted": frame["rate_contacted"].map(fmt.pct),
                "bought, held out": frame["rate_held_out"].map(fmt.pct),
                "difference": [
                    fmt.MISSING
                    if pd.isna(d)
                    else f"{d * 100:+.1f} pt [{lo * 100:+.1f}, {hi * 100:+.1f}]"
                    for d, lo, hi in zip(
                        frame["rate_diff"], frame["rate_low"], frame["rate_high"], strict=True
                    )
                ],
                "spend per member": [
                    fmt.MISSING if pd.isna(d) else f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"
                    for d, lo, hi in zip(
                        frame["spend_diff"], frame["spend_low"], frame["spend_high"], strict=True
                    )
                ],
            }
        ),
        width="stretch",
        hide_index=True,
    )
    context.download(frame, f"campaign-uplift-{sel.store.id}", key="dl-campaign-uplift")
