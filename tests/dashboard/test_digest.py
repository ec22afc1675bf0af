"""The digest the overview opens on and the report sends: alerts and the period's verdicts in
lines, and the store's calendar drawn on time-series charts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from dashboard import charts, vega
from dashboard.api import ApiError
from dashboard.digest import counter_items, device_items, event_items, member_items
from dashboard.views.overview import attention_markdown
from storeflow.api.analytics import CounterFigures
from storeflow.api.calendar import StoreEvent
from storeflow.api.devices import Alert, StoreAlerts

AT = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PROMO = StoreEvent(
    id=1,
    kind="promotion",
    title="Aurum watch week",
    first_day=date(2026, 11, 9),
    last_day=date(2026, 11, 15),
    counters=["C06"],
    source="recorded",
)
SWAP = StoreEvent(
    id=2,
    kind="layout_change",
    title="C03 and C07 trade places",
    first_day=date(2026, 11, 5),
    last_day=date(2026, 11, 5),
    counters=["C03", "C07"],
    source="recorded",
)


def _counter(code: str, rank: int, verdict: str) -> CounterFigures:
    return CounterFigures(
        code=code,
        name=f"Counter {code}",
        category="x",
        area_m2=100,
        visitors=10,
        exposure_rate=0.1,
        conversion=0.2,
        sales=1000,
        sales_per_visitor=100,
        sales_per_m2=10,
        median_dwell_s=60,
        rank=rank,
        quadrant="star",
        recommendation=f"{verdict.capitalize()}: because",
        verdict=verdict,
    )


def _series(*days: str) -> vega.Spec:
    """A time-series spec of points at the days' midnights."""
    return vega.chart(
        "Entries",
        height=200,
        data=[{"at": f"{d}T00:00:00Z", "n": 1} for d in days],
        mark="line",
        encoding={"x": vega.time_x("Day"), "y": {"field": "n", "type": "quantitative"}},
    )


def test_calendar_events_are_spans_and_lines_with_their_titles() -> None:
    spec = charts.add_calendar(_series("2026-11-01", "2026-11-20"), [SWAP, PROMO])
    marks = [layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"]
             for layer in spec["layer"]]  # fmt: skip
    # seven days: a span under the data; one day: a dashed rule; the titles on top
    assert marks == ["rect", "line", "rule", "text"]
    (rect,) = vega.values_of(spec, 0)
    assert (rect["start"], rect["end"]) == ("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z")
    assert rect["fill"] == charts.EVENT_STYLE["promotion"][0]  # orange
    (rule,) = vega.values_of(spec, 2)
    assert rule["start"] == "2026-11-05T00:00:00Z" and rule["line"] == "#9467bd"  # purple
    assert spec["layer"][2]["mark"]["strokeDash"]
    labels = vega.values_of(spec, 3)
    assert [r["label"] for r in labels] == ["C03 and C07 trade places", PROMO.title]
    assert labels[1]["about"] == "09 Nov – 15 Nov; C06"  # the tooltip
    assert {"field": "about", "title": "When"} in spec["layer"][3]["encoding"]["tooltip"]
    # on a chart of days (points at midnight) a span runs from noon before to noon after
    (daily,) = vega.values_of(charts.add_calendar(_series("2026-11-01", "2026-11-20"), [PROMO],
                                                  daily=True), 0)  # fmt: skip
    assert (daily["start"], daily["end"]) == ("2026-11-08T12:00:00Z", "2026-11-15T12:00:00Z")
    # clipped to the days shown; an empty chart stays empty
    (clipped,) = vega.values_of(
        charts.add_calendar(_series("2026-11-01", "2026-11-12"), [PROMO]), 0
    )
    assert clipped["end"] == "2026-11-12T01:00:00Z"
    blank = vega.empty("Entries", "No trips")
    assert charts.add_calendar(blank, [PROMO]) == blank


def test_counters_to_act_on_in_rank_order_and_kept_ones_left_out() -> None:
    items = counter_items(
        [_counter("C08", 8, "replace"), _counter("C01", 1, "keep"), _counter("C07", 6, "x")]
    )
    assert [i.text.split(" —")[0] for i in items] == [
        "#6 Counter C07 (C07)",
        "#8 Counter C08 (C08)",
    ]
    assert all(i.page == "counters" for i in items)


def test_device_alerts_and_members_in_words() -> None:
    alerts = StoreAlerts(
        store_id="demo",
        at=AT,
        alerts=[
            Alert(
                key="silent:edge-1",
                kind="silent",
                severity="critical",
                subject="edge-1",
                since=AT,
                text="no heartbeat for 5 min",
            )
        ],
    )
    (item,) = device_items(alerts)
    assert item.urgent and "edge-1: no heartbeat for 5 min" in item.text
    lapse: list[dict[str, Any]] = [{"action": "call: VIP"}, {"action": "send an offer"}]
    (m,) = member_items(lapse)
    assert m.text == (
        "2 members are overdue against their own purchase rhythm, 1 of them core or VIP "
        "members to call."
    )
    assert m.page == "retention"  # where the overdue members are listed
    assert member_items([]) == []


def test_recorded_events_are_judged_and_unanswerable_ones_say_why() -> None:
    effect = {
        "metric": "traffic",
        "estimate": 0.42,
        "relative": 0.52,
        "ci_low": 0.35,
        "ci_high": 0.49,
        "distinguishable": True,
        "unit": None,
    }
    asked: list[tuple[str, dict[str, Any]]] = []

    def answer(path: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append((path, params))
        if path.endswith("layout-change"):
            raise ApiError("This question cannot be answered: not enough days", status=422)
        return {"effects": [effect], "warnings": []}

    swap, promo = event_items([SWAP, PROMO], answer)
    assert asked[1] == (
        "experiments/promotion",
        {"counter": ["C06"], "first_day": "2026-11-09", "last_day": "2026-11-15"},
    )
    assert promo.text.startswith("Aurum watch week (promotion of C06, 09 Nov – 15 Nov 2026): ")
    assert "traffic +52% relative" in promo.text and "distinguishable from noise" in promo.text
    assert promo.page == "experiments?first=2026-11-09&last=2026-11-15&counter=C06"
    assert swap.text.endswith("not judged yet — not enough days")
    assert swap.page == "experiments?kind=layout&day=2026-11-05&counter=C03&counter=C07"
    # events read from the antenna mapping name no counters: nothing to ask
    layout = SWAP.model_copy(update={"id": None, "counters": [], "source": "layout"})
    assert event_items([layout], answer) == []


def test_attention_lines_link_to_their_page_on_the_same_days() -> None:
    items = counter_items([_counter("C08", 8, "replace")])
    text = attention_markdown(items, first=date(2026, 11, 9), last=date(2026, 11, 15))
    assert text.startswith("- **Counters:** #8 Counter C08 (C08) — Replace: because")
    assert text.endswith("[details](counters?from=2026-11-09&to=2026-11-15)")


def test_the_digest_asks_its_questions_at_once_and_reports_each_failure_in_order() -> None:
    """The seven answers are asked for together (all seven requests are in flight at once, or
    the barrier breaks); when the server fails them, each is named, always in the same order."""
    import threading

    import httpx

    from dashboard.api import ApiConfig, StoreflowClient
    from dashboard.digest import gather
    from storeflow.api.stores import StoreInfo

    together = threading.Barrier(7, timeout=60)
    met: list[bool] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        met.append(together.wait() >= 0)  # BrokenBarrierError if the requests came one by one
        return httpx.Response(503, json={"detail": "database restarting"})

    config = ApiConfig(base_url="http://srv", token="t")
    with StoreflowClient(config, transport=httpx.MockTransport(answer)) as client:
        digest = gather(
            client, StoreInfo(id="demo", name="Demo"), date(2026, 11, 9), date(2026, 11, 15)
        )
    assert met == [True] * 7
    assert [i.topic for i in digest.items] == ["Not read"] * 7
    assert [i.text.split(" could not be read")[0] for i in digest.items] == [
        "the summary",
        "store health",
        "the counters",
        "the members' lapse alerts",
        "the sales outliers",
        "the calendar",
        "staffing",
    ]
    assert digest.summary is None and digest.counters == [] and digest.events == []
