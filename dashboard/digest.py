"""What needs a decision in a period, in one place: the store's alerts and the period's
verdicts, as the overview opens on them and the report (``storeflow report``) sends them.

:func:`gather` makes the API calls (a failed call becomes a line saying what could not be
read, never an exception); the ``*_items`` functions turn answers into lines and are pure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from dashboard import fmt
from dashboard.api import ApiError, Period, StoreflowClient, period_for_dates
from dashboard.effects import LABELS, change, interval
from storeflow.api.analytics import CounterFigures, SalesOutliers, Staffing, Summary
from storeflow.api.calendar import StoreEvent
from storeflow.api.devices import StoreAlerts
from storeflow.api.stores import StoreInfo

logger = logging.getLogger(__name__)

LAYOUT_DAYS = 14  # days compared on each side of a recorded layout change


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the digest: its topic, the text, and the dashboard page with the detail."""

    topic: str
    text: str
    page: str | None = None  # path and query of the dashboard page, e.g. "counters"
    urgent: bool = False


@dataclass(frozen=True)
class Digest:
    store: StoreInfo
    first: date
    last: date
    summary: Summary | None
    counters: list[CounterFigures]
    events: list[StoreEvent]
    staffing: Staffing | None
    items: list[Item] = field(default_factory=list)


def device_items(alerts: StoreAlerts) -> list[Item]:
    """Store health now: each alert of the edges and readers, most severe first."""
    return [
        Item(
            "Store health",
            f"{a.subject}: {a.text} (since {fmt.moment(a.since)})",
            "health",
            urgent=a.severity == "critical",
        )
        for a in alerts.alerts
    ]


def counter_items(counters: list[CounterFigures]) -> list[Item]:
    """Every counter whose verdict asks for action, in rank order, with the reason."""
    return [
        Item("Counters", f"#{c.rank} {c.name} ({c.code}) — {c.recommendation}", "counters")
        for c in sorted(counters, key=lambda c: c.rank)
        if c.verdict not in ("keep", "no data")
    ]


def member_items(lapse: list[dict[str, Any]]) -> list[Item]:
    """Overdue members, counted (the digest names no member)."""
    if not lapse:
        return []
    key = [a for a in lapse if "call" in a["action"]]
    text = f"{len(lapse):,} members are overdue against their own purchase rhythm"
    if key:
        text += f", {len(key):,} of them core or VIP members to call"
    return [Item("Members", text + ".", "retention")]


def sales_items(outliers: SalesOutliers) -> list[Item]:
    if not outliers.outliers:
        return []
    share = outliers.outlier_sales / outliers.sales if outliers.sales else 0.0
    return [
        Item(
            "Sales",
            f"{len(outliers.outliers)} unusually large sales (above "
            f"{fmt.money(outliers.threshold)}; the usual sale is "
            f"{fmt.money(outliers.median_sale)}) make {share:.0%} of the period's sales.",
            "",
        )
    ]


def _span(e: StoreEvent) -> str:
    if e.last_day > e.first_day:
        return f"{e.first_day:%d %b} – {e.last_day:%d %b %Y}"
    return f"{e.first_day:%d %b %Y}"


def _effect_words(effects: list[dict[str, Any]]) -> str:
    parts = []
    for e in effects:
        if e["metric"] not in ("traffic", "sales"):
            continue
        unit = f"{e['unit']} " if e.get("unit") else ""
        noise = "distinguishable from noise" if e["distinguishable"] else "within noise"
        parts.append(
            f"{unit}{LABELS[e['metric']].split(' (')[0].lower()} {change(e)} "
            f"({interval(e)}, {noise})"
        )
    return "; ".join(parts)


def event_question(e: StoreEvent) -> tuple[str, dict[str, Any], str] | None:
    """The experiment that judges a recorded event: (analytics path, parameters, dashboard
    page), or None for an event without counters or of another kind."""
    if e.source != "recorded" or not e.counters:
        return None
    if e.kind == "promotion":
        params: dict[str, Any] = {
            "counter": e.counters,
            "first_day": e.first_day.isoformat(),
            "last_day": e.last_day.isoformat(),
        }
        query = urlencode({"first": params["first_day"], "last": params["last_day"]}) + "".join(
            f"&counter={c}" for c in e.counters
        )
        return "experiments/promotion", params, f"experiments?{query}"
    if e.kind == "layout_change":
        params = {"day": e.first_day.isoformat(), "counter": e.counters, "days": LAYOUT_DAYS}
        query = f"kind=layout&day={params['day']}" + "".join(f"&counter={c}" for c in e.counters)
        return "experiments/layout-change", params, f"experiments?{query}"
    return None


def event_items(
    events: list[StoreEvent], answer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> list[Item]:
    """Each recorded promotion or layout change of the period with what it did: ``answer``
    asks the experiment (an :class:`ApiError` is the data's answer, told as such)."""
    out = []
    for e in events:
        question = event_question(e)
        if question is None:
            continue
        path, params, page = question
        what = "promotion" if e.kind == "promotion" else "layout change"
        head = f"{e.title} ({what} of {', '.join(e.counters)}, {_span(e)}): "
        try:
            result = answer(path, params)
        except ApiError as exc:
            text = str(exc).removeprefix("This question cannot be answered: ")
            out.append(Item("Calendar", head + f"not judged yet — {text}", page))
            continue
        words = _effect_words(result.get("effects", []))
        warnings = result.get("warnings") or []
        if warnings:
            words += f" (note: {warnings[0]})"
        out.append(Item("Calendar", head + (words or "no traffic or sales effect estimated"), page))
    return out


def gather(
    client: StoreflowClient,
    store: StoreInfo,
    first: date,
    last: date,
    *,
    compare: str = "previous",
    period: Period | None = None,
) -> Digest:
    """Every answer the digest needs for the local days ``first`` .. ``last`` (``period``: the
    same days with the dashboard's shopper and floor filters)."""
    period = period or period_for_dates(first, last, store.timezone)
    items: list[Item] = []
    # the answers are independent: asked at once (the client's connection pool is shared), each
    # failure reported in this order
    calls: dict[str, Callable[[], Any]] = {
        "the summary": lambda: client.summary(store.id, period, compare=compare),
        "store health": lambda: client.alerts(store.id),
        "the counters": lambda: client.counter_figures(store.id, period),
        "the members' lapse alerts": lambda: client.analytics(
            store.id, "members/lapse", period, limit=10000
        ),
        "the sales outliers": lambda: SalesOutliers.model_validate(
            client.analytics(store.id, "sales/outliers", period)
        ),
        "the calendar": lambda: client.calendar(store.id, period),
        "staffing": lambda: Staffing.model_validate(client.analytics(store.id, "staffing", period)),
    }
    answers: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="digest") as pool:
        asked = {what: pool.submit(call) for what, call in calls.items()}
        for what, future in asked.items():
            try:
                answers[what] = future.result()
            except ApiError as exc:
                logger.warning("digest: %s could not be read: %s", what, exc)
                items.append(Item("Not read", f"{what} could not be read: {exc}"))
                answers[what] = None
    summary: Summary | None = answers["the summary"]
    alerts: StoreAlerts | None = answers["store health"]
    counters: list[CounterFigures] = answers["the counters"] or []
    lapse = answers["the members' lapse alerts"]
    outliers: SalesOutliers | None = answers["the sales outliers"]
    events: list[StoreEvent] | None = answers["the calendar"]
    staffing: Staffing | None = answers["staffing"]
    if alerts is not None:
        items += device_items(alerts)
    items += counter_items(counters)
    if lapse is not None:
        items += member_items(lapse)
    if outliers is not None:
        items += sales_items(outliers)
    items += event_items(
        events or [], lambda path, params: client.analytics(store.id, path, None, **params)
    )
    return Digest(
        store=store,
        first=first,
        last=last,
        summary=summary,
        counters=counters,
        events=events or [],
        staffing=staffing,
        items=items,
    )
