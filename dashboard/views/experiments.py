"""Experiments: did a promotion or a layout change move traffic, dwell, conversion and sales?"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, context, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.effects import LABELS, change, value
from dashboard.effects import interval as _interval
from dashboard.vega import Spec
from storeflow.api.calendar import EventIn, StoreEvent

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


def effects_table(effects: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "metric": LABELS.get(e["metric"], e["metric"]),
                "treated before": value(e["metric"], e["treated_before"]),
                "treated after": value(e["metric"], e["treated_after"]),
                "control before": value(e["metric"], e["control_before"]),
                "control after": value(e["metric"], e["control_after"]),
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


SPAN_FILLS = ["rgba(255,165,0,0.15)", "rgba(44,160,44,0.12)"]  # the promotion, the days after
SPAN_NAMES = ["the promotion / new layout", "the days after"]


def series_figure(
    daily: pd.DataFrame, treated: list[str], control: list[str], metric: str, spans: list[Any]
) -> Spec:
    """The metric per day: each treated counter on its own line (up to 4, else their mean), the
    control counters as their mean; the promotion's days (and the days after) shaded."""
    label = LABELS.get(metric, metric)
    groups = [(u, [u]) for u in treated] if len(treated) <= 4 else [("treated (mean)", treated)]
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    for name, units in [*groups, ("control (mean)", control)]:
        part = daily[daily["unit"].isin(units)].groupby("day")[metric].mean()
        if part.empty:
            continue
        names.append(name)
        rows += vega.rows(
            {
                "at": vega.wall_time(day),
                "day_text": f"{day:%a %d %b %Y}",
                "series": name,
                "value": None if pd.isna(v) else float(v),
            }  # fmt: skip
            for day, v in zip(part.index, part.to_numpy(), strict=True)
        )
    shaded = vega.rows(
        {
            "start": vega.wall_time(pd.Timestamp(first) - pd.Timedelta(hours=12)),
            "end": vega.wall_time(pd.Timestamp(last) + pd.Timedelta(hours=12)),
            "fill": fill,
            "span": f"{name}: {pd.Timestamp(first):%d %b} – {pd.Timestamp(last):%d %b}",
        }
        for (first, last), fill, name in zip(spans, SPAN_FILLS, SPAN_NAMES, strict=False)
    )
    title = f"{label} per day"
    if not rows:
        return vega.empty(title, "No days to show", height=360)
    layers: list[Spec] = []
    if shaded:
        layers.append(
            {
                "data": {"values": shaded},
                "mark": {"type": "rect"},
                "encoding": {
                    "x": {"field": "start", "type": "temporal", "scale": {"type": "utc"}},
                    "x2": {"field": "end"},
                    "fill": {"field": "fill", "type": "nominal", "scale": None, "legend": None},
                    "tooltip": vega.tooltip(("span", "Shaded")),
                },
            }
        )
    layers.append(
        {
            "data": {"values": rows},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": vega.time_x("Day"),
                "y": {
                    "field": "value",
                    "type": "quantitative",
                    "axis": vega.axis(label),
                    "scale": {"zero": False},
                },  # fmt: skip
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "sort": names,
                    "legend": charts.legend_on_top(),
                },  # fmt: skip
                "tooltip": vega.tooltip(
                    ("series", "Counters"), ("day_text", "Day"), ("value", label, ",.3~f")
                ),  # fmt: skip
            },
        }
    )
    return vega.chart(title, height=360, layers=layers)


def by_unit(effects: list[dict[str, Any]]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """Effects grouped by the counter they are of (None: the treated group as a whole)."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for e in effects:
        groups.setdefault(e.get("unit"), []).append(e)
    return list(groups.items())


def on_chart(events: list[StoreEvent], daily: pd.DataFrame) -> list[StoreEvent]:
    """The calendar's events within the days a series chart shows."""
    if daily.empty:
        return []
    first, last = daily["day"].min().date(), daily["day"].max().date()
    return [e for e in events if e.last_day >= first and e.first_day <= last]


def _show(
    result: dict[str, Any], name: str, key: str, events: list[StoreEvent] | None = None
) -> None:
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
    spec = series_figure(daily, result["treated"], result["control"], metric, spans)
    marked = on_chart(events or [], daily)
    context.chart(charts.add_calendar(spec, marked, daily=True), key=f"{key}-series")
    st.caption(
        f"Treated: {', '.join(result['treated'])}. Control: {', '.join(result['control']) or '–'}."
        " Shaded: the promotion (orange) and the days after (green), or the new layout."
        + (f" {charts.CALENDAR_NOTE}" if marked else "")
    )
    context.download(daily, f"{name}-daily", key=f"{key}-d")


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _span(e: StoreEvent) -> str:
    if e.last_day > e.first_day:
        return f"{e.first_day:%d %b} – {e.last_day:%d %b %Y}"
    return f"{e.first_day:%d %b %Y}"


def on_record(events: list[StoreEvent], kind: str) -> str | None:
    """The recorded events of a kind, in words, for the caption above the question."""
    got = [e for e in events if e.kind == kind and e.source == "recorded"]
    if not got:
        return None
    return "; ".join(
        f"{e.title} ({', '.join(e.counters) or 'whole store'}, {_span(e)})" for e in got
    )


def record_form(sel: Selection, event: EventIn, key: str) -> None:
    """Put the question just asked in the store's calendar, so the charts mark it."""
    with st.expander("Record this in the store's calendar"):
        title = st.text_input("Title", value=event.title, key=f"{key}-title", max_chars=200)
        if st.button("Record", key=f"{key}-record"):
            try:
                saved = context.client().add_event(
                    sel.store.id, event.model_copy(update={"title": title.strip() or event.title})
                )
            except ApiError as exc:
                context.problem(exc)
                return
            context.calendar.clear()
            context.digest.clear()
            st.success(f"Recorded: {saved.title} ({_span(saved)}). The charts now mark it.")


def render(sel: Selection) -> None:
    st.title("Experiments")
    st.caption(METHOD)
    try:
        layout = context.layout(sel.store.id)
        changes = context.analytics(sel.store.id, "experiments/layout-changes", sel.period)
    except ApiError as exc:
        context.problem(exc)
        return
    events = context.events(sel.store.id, None)
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
    promotions = [e for e in events if e.kind == "promotion" and e.counters]
    moves = [e for e in events if e.kind == "layout_change"]
    if kind == "Promotion":
        recorded = on_record(events, "promotion")
        if recorded:
            st.caption(f"Promotions on record: {recorded}.")
        latest = promotions[-1] if promotions and not q.get("first") else None
        a, b, c = st.columns(3)
        treated = a.multiselect(
            "Promoted counters",
            codes,
            default=linked or (latest.counters if latest else codes[-3:-2]),
            format_func=label,
            key="p-c",
        )
        first_default = latest.first_day if latest else _day(q.get("first"), default_day)
        last_default = latest.last_day if latest else first_default + timedelta(days=6)
        first: date = b.date_input("First day", value=first_default, key="p-first")
        last: date = c.date_input("Last day", value=_day(q.get("last"), last_default), key="p-last")
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
        event = EventIn(
            kind="promotion",
            title=f"Promotion of {', '.join(treated)}",
            first_day=first,
            last_day=last,
            counters=treated,
        )
    else:
        known = sorted(
            {date.fromisoformat(c["day"]) for c in changes} | {e.first_day for e in moves}
        )
        if known:
            st.caption("Layout changes on record: " + ", ".join(f"{d:%d %b %Y}" for d in known))
        latest_move = moves[-1] if moves and not q.get("day") else None
        a, b = st.columns(2)
        day: date = a.date_input(
            "First day of the new layout",
            value=_day(q.get("day"), known[-1] if known else default_day),
            key="l-day",
        )
        moved = b.multiselect(
            "Moved counters (empty: the whole store)",
            codes,
            default=linked or (latest_move.counters if latest_move else []),
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
        event = EventIn(
            kind="layout_change",
            title=f"{' and '.join(moved)} moved" if moved else "Layout change",
            first_day=day,
            counters=moved,
        )
    try:
        with st.spinner("Estimating ..."):
            result = context.analytics(sel.store.id, path, None, **params)
    except ApiError as exc:
        context.problem(exc)
        return
    _show(result, name, key="exp-" + kind[0], events=events)
    recorded_already = any(
        e.kind == event.kind
        and e.first_day == event.first_day
        and sorted(e.counters) == sorted(event.counters)
        for e in events
    )
    if not recorded_already:
        record_form(sel, event, key="exp-" + kind[0])
