"""Experiments: did a promotion or a layout change move traffic, dwell, conversion and sales?"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context, fmt
from dashboard.api import ApiError
from dashboard.context import Selection

METHOD = (
    "Difference-in-differences: the change of the treated counters minus the change of the "
    "control counters over the same days (so store-wide swings cancel), comparing like "
    "weekdays. Traffic and sales are compared on a log scale (a relative change). The 95 % "
    "interval comes from resampling days; **distinguishable** means it excludes zero. Each "
    "moved counter is judged on its own (two counters trading places move in opposite ways). "
    "By default the control counters are all others, less those whose antenna mapping changed "
    "or whose own traffic moved in these days (a warning names them). Only whole days count: "
    "today is left out until it is over. Without counters, a layout change is judged for the "
    "whole store on the same weekdays before and after."
)
LABELS = {
    "traffic": "Traffic (visitor trips)",
    "dwell": "Median dwell (s)",
    "conversion": "Conversion",
    "sales": "Sales",
}


def _interval(e: dict[str, Any]) -> str:
    lo, hi = e["ci_low"], e["ci_high"]
    if e["metric"] in ("traffic", "sales"):  # compared on a log scale: a relative change
        return f"{math.expm1(lo):+.0%} … {math.expm1(hi):+.0%}"
    if e["metric"] == "conversion":
        return f"{lo * 100:+.1f} … {hi * 100:+.1f} points"
    return f"{lo:+.0f} … {hi:+.0f} s"


def _value(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    if metric == "conversion":
        return f"{v:.1%}"
    if metric == "dwell":
        return f"{v:.0f} s"
    return fmt.money(v) if metric == "sales" else f"{v:,.1f}"


def change(e: dict[str, Any]) -> str:
    """The estimate in words that say what kind of change it is (relative, points, seconds)."""
    rel = f"{e['relative']:+.0%} relative" if e["relative"] is not None else None
    if e["metric"] == "conversion":
        points = f"{e['estimate'] * 100:+.1f} points"
        return f"{points} ({rel})" if rel else points
    if e["metric"] == "dwell":
        seconds = f"{e['estimate']:+.0f} s"
        return f"{seconds} ({rel})" if rel else seconds
    return rel or "–"


def effects_table(effects: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "metric": LABELS.get(e["metric"], e["metric"]),
                "treated before": _value(e["metric"], e["treated_before"]),
                "treated after": _value(e["metric"], e["treated_after"]),
                "control before": _value(e["metric"], e["control_before"]),
                "control after": _value(e["metric"], e["control_after"]),
                "change": change(e),
                "95 % interval": _interval(e),
                "distinguishable": "yes" if e["distinguishable"] else "no (within noise)",
                "days before/after": f"{e['days_before']}/{e['days_after']}",
            }
            for e in effects
        ]
    )


def verdicts(effects: list[dict[str, Any]]) -> str:
    """One line per metric, in words."""
    lines = []
    for e in effects:
        rel = change(e)
        verdict = (
            "**distinguishable from noise**"
            if e["distinguishable"]
            else "within noise (the interval includes no change)"
        )
        lines.append(
            f"- {LABELS.get(e['metric'], e['metric'])}: {rel} "
            f"(95 % interval {_interval(e)}) — {verdict}"
        )
    return "\n".join(lines)


def series_figure(
    daily: pd.DataFrame, treated: list[str], control: list[str], metric: str, spans: list[Any]
) -> go.Figure:
    fig = go.Figure()
    # each treated counter on its own line (up to 4), the control counters as their mean
    groups = [(u, [u]) for u in treated] if len(treated) <= 4 else [("treated (mean)", treated)]
    for name, units in [*groups, ("control (mean)", control)]:
        part = daily[daily["unit"].isin(units)].groupby("day")[metric].mean()
        if not part.empty:
            fig.add_scatter(x=part.index, y=part.to_numpy(), mode="lines+markers", name=name)
    colours = ["rgba(255,165,0,0.15)", "rgba(44,160,44,0.12)"]
    for (first, last), colour in zip(spans, colours, strict=False):
        fig.add_vrect(
            x0=pd.Timestamp(first) - pd.Timedelta(hours=12),
            x1=pd.Timestamp(last) + pd.Timedelta(hours=12),
            fillcolor=colour,
            line_width=0,
        )
    fig.update_layout(
        title=f"{LABELS.get(metric, metric)} per day",
        height=360,
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def by_unit(effects: list[dict[str, Any]]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """Effects grouped by the counter they are of (None: the treated group as a whole)."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for e in effects:
        groups.setdefault(e.get("unit"), []).append(e)
    return list(groups.items())


def _show(result: dict[str, Any], name: str, key: str) -> None:
    warnings = "; ".join(result.get("warnings", []))
    if warnings:
        st.warning(warnings[0].upper() + warnings[1:] + ".")
    title = "Effect" if result["kind"] == "layout_change" else "During the promotion"
    for unit, effects in by_unit(result["effects"]):
        st.subheader(f"{title} on {unit}" if unit else title)
        st.markdown(verdicts(effects))
        suffix = f"-{unit}" if unit else ""
        context.table(effects_table(effects), f"{name}{suffix}", key=f"{key}{suffix}")
    if result.get("after_effects"):
        st.subheader("After the promotion")
        st.markdown(verdicts(result["after_effects"]))
        context.table(effects_table(result["after_effects"]), f"{name}-after", key=f"{key}-a")
    daily = pd.DataFrame(result["daily"])
    if daily.empty:
        return
    daily["day"] = pd.to_datetime(daily["day"])
    metric = st.radio(
        "Chart", list(LABELS), format_func=LABELS.__getitem__, horizontal=True, key=f"{key}-m"
    )
    spans = [result["during"]] + ([result["after"]] if result.get("after") else [])
    st.plotly_chart(
        series_figure(daily, result["treated"], result["control"], metric, spans), width="stretch"
    )
    st.caption(
        f"Treated: {', '.join(result['treated'])}. Control: {', '.join(result['control']) or '–'}."
        " Shaded: the promotion (orange) and the days after (green), or the new layout."
    )
    context.download(daily, f"{name}-daily", key=f"{key}-d")


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def render(sel: Selection) -> None:
    st.title("Experiments")
    st.caption(METHOD)
    try:
        layout = context.layout(sel.store.id)
        changes = context.analytics(sel.store.id, "experiments/layout-changes", sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    codes = [c.code for c in layout.counters]
    names = {c.code: f"{c.code} {c.name}" for c in layout.counters}

    def label(code: str) -> str:
        return names.get(code, code)

    params: dict[str, Any]
    # a link can carry the question: ?kind=layout&day=...&counter=C03 or ?counter=C06&first=...
    q = st.query_params
    kinds = ["Promotion", "Layout change"]
    kind = st.radio(
        "What changed?",
        kinds,
        index=1 if q.get("kind") == "layout" else 0,
        horizontal=True,
        key="exp",
    )
    default_day = sel.last - timedelta(days=max(7, (sel.last - sel.first).days // 2))
    linked = [c for c in q.get_all("counter") if c in codes]
    if kind == "Promotion":
        a, b, c = st.columns(3)
        treated = a.multiselect(
            "Promoted counters", codes, default=linked or codes[-3:-2], format_func=label, key="p-c"
        )
        first_default = _day(q.get("first"), default_day)
        first: date = b.date_input("First day", value=first_default, key="p-first")
        last: date = c.date_input(
            "Last day", value=_day(q.get("last"), first_default + timedelta(days=6)), key="p-last"
        )
        control = st.multiselect(
            "Control counters (default: all others)",
            [x for x in codes if x not in treated],
            format_func=label,
            key="p-ctrl",
        )
        if not treated:
            st.info("Choose the promoted counter(s).")
            return
        params = {
            "counter": treated,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
        }
        if control:
            params["control"] = control
        path, name = "experiments/promotion", f"promotion-{'-'.join(treated)}"
    else:
        known = [date.fromisoformat(c["day"]) for c in changes]
        if known:
            st.caption("Layout changes on record: " + ", ".join(f"{d:%d %b %Y}" for d in known))
        a, b = st.columns(2)
        day: date = a.date_input(
            "First day of the new layout",
            value=_day(q.get("day"), known[-1] if known else default_day),
            key="l-day",
        )
        moved = b.multiselect(
            "Moved counters (empty: the whole store)",
            codes,
            default=linked,
            format_func=label,
            key="l-c",
        )
        control = st.multiselect(
            "Control counters (default: all others)",
            [x for x in codes if x not in moved],
            format_func=label,
            key="l-ctrl",
            disabled=not moved,
        )
        days = st.slider("Days compared on each side", 7, 56, 28, 7, key="l-days")
        params = {"day": day.isoformat(), "days": days}
        if moved:
            params["counter"] = moved
        if moved and control:
            params["control"] = control
        path, name = "experiments/layout-change", f"layout-change-{day.isoformat()}"
    try:
        with st.spinner("Estimating ..."):
            result = context.analytics(sel.store.id, path, None, **params)
    except ApiError as exc:
        context.problem(exc)
        return
    _show(result, name, key="exp-" + kind[0])
