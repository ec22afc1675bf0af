"""Retention: the members overdue for a purchase (lapse alerts, to act on) and whether the
triggered contacts brought members back (uplift against the held-out group)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import context, fmt
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.views import campaigns
from dashboard.views.members import member_figures

LAPSE_RULES = (
    "A member is overdue when the days since the last purchase exceed the factor x their own "
    "median interval between purchase days (members with enough purchase days). P(alive) is "
    "the BG/NBD probability the member is still active, fitted on this store's buyers."
)
NO_DROPOUT = (
    "P(alive) is unknown here: this store's purchase history shows no measurable drop-out yet "
    "(the BG/NBD fit puts it near 0), so the model would call every member alive. Judge by the "
    "overdue factor instead."
)


def render(sel: Selection) -> None:
    st.title("Retention")
    render_lapse(sel)
    campaigns.render_uplift(sel)


def render_lapse(sel: Selection) -> None:
    """The lapse alerts: three thresholds and the members they flag, most overdue first."""
    st.subheader("Lapse alerts")
    st.caption(LAPSE_RULES)
    members = member_figures(sel)
    if members is None:
        return
    a, b, c2 = st.columns(3)
    factor = a.slider("Overdue factor", 1.5, 6.0, 2.0, 0.5, key="lapse-factor")
    min_n = b.slider("Minimum purchase days", 2, 10, 3, key="lapse-min")
    dropout = members["bgnbd"].get("dropout")
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
        st.caption(NO_DROPOUT)
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
