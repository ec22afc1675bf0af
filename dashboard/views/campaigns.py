"""Triggered contacts on the Retention page: the uplift of each trigger rule, contacted against
held-out members, as differences with their 95 % intervals (figures only: no member is named).
The lists themselves are customer care's (the crm role, ``/campaigns``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import context, fmt, vega
from dashboard.api import ApiError
from dashboard.context import CACHE_TTL_S, Selection
from dashboard.vega import Spec
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


DISTINGUISHABLE = "#2ca02c"
NOT_DISTINGUISHABLE = "#7f7f7f"


def uplift_figure(frame: pd.DataFrame, *, measure: str = "rate") -> Spec:
    """Each rule's difference as a point with its 95 % interval as a bar through it, 0 marked,
    green where the interval excludes 0. ``measure``: ``rate`` (percentage points) or
    ``spend`` (per member). Rules without a difference are left out; the first rule on top."""
    shown = frame.dropna(subset=[f"{measure}_diff"])
    scale = 100.0 if measure == "rate" else 1.0
    title, unit = (
        ("Purchase rate, contacted − held out", "percentage points")
        if measure == "rate"
        else ("Spend per member, contacted − held out", f"{fmt.currency()} per member")
    )
    height = 170 + 50 * max(1, len(shown))
    if shown.empty:
        return vega.empty(title, "No run with both groups yet", height=height)
    data = vega.rows(
        {
            "rule": rule,
            "estimate": d * scale,
            "low": lo * scale,
            "high": hi * scale,
            "verdict": "distinguishable from 0" if dist else "not distinguishable from 0",
        }
        for rule, d, lo, hi, dist in shown[
            [
                "rule",
                f"{measure}_diff",
                f"{measure}_low",
                f"{measure}_high",
                f"{measure}_distinguishable",
            ]
        ].itertuples(index=False)
    )
    y = {
        "field": "rule",
        "type": "nominal",
        "sort": None,
        "axis": vega.axis(None, grid=False, labelLimit=220),
    }
    x = {"field": "estimate", "type": "quantitative", "axis": vega.axis(unit)}
    colour = {
        "field": "verdict",
        "type": "nominal",
        "scale": {
            "domain": ["distinguishable from 0", "not distinguishable from 0"],
            "range": [DISTINGUISHABLE, NOT_DISTINGUISHABLE],
        },
        "legend": None,
    }
    tip = vega.tooltip(
        ("rule", "Rule"),
        ("estimate", f"Difference ({unit})", ".1f"),
        ("low", "95 % interval from", ".1f"),
        ("high", "95 % interval to", ".1f"),
        ("verdict", "Verdict"),
    )
    return vega.chart(
        title,
        height=height,
        layers=[
            {
                "data": {"values": [{"zero": 0}]},
                "mark": {"type": "rule", "color": vega.AXIS_LINE, "strokeDash": [2, 3]},
                "encoding": {
                    "x": {"field": "zero", "type": "quantitative", "axis": vega.axis(unit)}
                },
            },
            {
                "data": {"values": data},
                "mark": {"type": "rule", "strokeWidth": 2, "tooltip": True},
                "encoding": {
                    "y": y,
                    "x": {"field": "low", "type": "quantitative", "axis": vega.axis(unit)},
                    "x2": {"field": "high"},
                    "color": colour,
                    "tooltip": tip,
                },
            },
            {
                "data": {"values": data},
                "mark": {"type": "point", "filled": True, "size": 100, "tooltip": True},
                "encoding": {"y": y, "x": x, "color": colour, "tooltip": tip},
            },
        ],
    )


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
    context.chart(uplift_figure(frame, measure="rate"), key="uplift-rate", where=left)
    context.chart(uplift_figure(frame, measure="spend"), key="uplift-spend", where=right)
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
