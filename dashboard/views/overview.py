"""Overview: headline figures against the previous period, footfall week on week, occupancy,
and the weekday x hour patterns of traffic and conversion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, context, fmt, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.digest import Digest, Item
from dashboard.vega import Spec
from storeflow.api.analytics import Kpis, Staffing, Summary

Render = Callable[[Selection], None]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BUCKET_LENGTH = {
    "hour": pd.Timedelta(hours=1),
    "day": pd.Timedelta(days=1),
    "week": pd.Timedelta(days=7),
}
THIS_PERIOD, WEEK_BEFORE = "this period", "one week earlier"
NO_STAFF = "#d62728"
CONVERSION_DEFINITION = "Conversion = trips with a sale linked to them ÷ trips (entries)."
UPT_DEFINITION = (
    "Units per transaction = units sold (the quantities on the sales' lines, net of returns) "
    "÷ sales (transactions) in the period."
)
STAFF_DEFINITION = (
    "Shoppers per staff member = shoppers in the store (mean over the hour) ÷ staff badges seen "
    "in a zone in that hour; over the period, summed over the hours with both."
)
OCCUPANCY_DEFINITION = (
    "Occupancy = shoppers in the store: per hour, the trip time spent inside that hour ÷ 1 h."
)


def _delta(now: float | None, before: float | None) -> str | None:
    return fmt.relative_change(now, before)


def kpi_row(cur: Summary, prev: Kpis | None, staffing: Staffing | None = None) -> None:
    """The period's headline figures; changes only against a like-for-like previous period."""
    if cur.not_comparable is not None:
        prev = None

    def p(name: str) -> Any:
        return getattr(prev, name) if prev is not None else None

    tile = context.tiles()
    tile(
        "Entries (trips)",
        f"{cur.entries:,}",
        _delta(cur.entries, p("entries")),
        help=charts.FOOTFALL_DEFINITION,
    )
    tile("Shoppers (distinct tags)", f"{cur.shoppers:,}", _delta(cur.shoppers, p("shoppers")))
    tile(
        "Conversion",
        f"{cur.conversion:.1%}" if cur.conversion is not None else "–",
        fmt.point_change(cur.conversion, p("conversion")),
        help=CONVERSION_DEFINITION,
    )
    tile(
        "Sales (net of returns)",
        fmt.money(cur.sales),
        _delta(cur.sales, p("sales")),
    )
    tile(
        "Mean trip",
        charts.format_duration(cur.mean_trip_s),
        _delta(cur.mean_trip_s, p("mean_trip_s")),
        help="Time from entering to leaving the store, per trip.",
    )
    tile(
        "Median zone dwell",
        charts.format_duration(cur.median_dwell_s),
        _delta(cur.median_dwell_s, p("median_dwell_s")),
        help=charts.DWELL_DEFINITION,
    )

    def atv(k: Any) -> float | None:
        return k.sales / k.transactions if k is not None and k.transactions else None

    tile(
        "Average sale (ATV)",
        fmt.money(atv(cur)),
        _delta(atv(cur), atv(prev)),
        help="Average transaction value = net sales ÷ sales (transactions) in the period.",
    )
    tile(
        "Units per sale (UPT)",
        fmt.number(cur.units_per_sale, decimals=2),
        _delta(cur.units_per_sale, p("units_per_sale")),
        help=UPT_DEFINITION,
    )
    tile(
        "Shoppers per staff member",
        fmt.number(staffing.shoppers_per_staff if staffing else None, decimals=1),
        help=STAFF_DEFINITION,
    )


def _when(at: pd.Timestamp, bucket: str) -> str:
    if bucket == "hour":
        return f"{at:%a %d %b %Y %H:%M}"
    return f"{'week of ' if bucket == 'week' else ''}{at:%a %d %b %Y}"


def footfall_figure(frame: pd.DataFrame, bucket: str) -> Spec:
    """Entries per bucket as bars a bucket wide centred on the bucket's start (so a day's label
    sits under its bar), the same bucket a week earlier as a dotted line over them."""
    title = f"Entries per {bucket}, against the same {bucket} a week earlier"
    step = BUCKET_LENGTH.get(bucket, pd.Timedelta(days=1))
    rows = vega.rows(
        {
            "at": vega.wall_time(at),
            "from": vega.wall_time(pd.Timestamp(at) - step / 2),
            "until": vega.wall_time(pd.Timestamp(at) + step / 2),
            "when_text": _when(pd.Timestamp(at), bucket),
            "entries": None if pd.isna(n) else int(n),
            "previous_week": None if pd.isna(p) else int(p),
        }
        for at, n, p in zip(
            frame["bucket_start"], frame["entries"], frame["previous_week"], strict=True
        )  # fmt: skip
    )
    colors = {"domain": [THIS_PERIOD, WEEK_BEFORE], "range": [charts.VISITS_COLOR, "#555555"]}
    tip = vega.tooltip(("when_text", "When"), ("entries", "Entries", ",d"),
                       ("previous_week", "A week earlier", ",d"))  # fmt: skip
    x_title = {"hour": "Hour", "week": "Week"}.get(bucket, "Day")
    ticks: Spec = {}
    if bucket == "day" and len(rows) <= 14:  # a tick (and label) per bar, no hours between
        ticks = {"axis": {**vega.time_x(x_title)["axis"], "tickCount": {"interval": bucket}}}
    return vega.chart(
        title,
        height=360,
        data=rows,
        layers=[
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 0.5, "opacity": 0.9},
                "encoding": {
                    "x": {**vega.time_x(x_title, field="from"), **ticks},
                    "x2": {"field": "until"},
                    "y": {
                        "field": "entries",
                        "type": "quantitative",
                        "axis": vega.axis("Entries", format=",d"),
                    },  # fmt: skip
                    "y2": {"datum": 0},
                    "color": {
                        "datum": THIS_PERIOD,
                        "scale": colors,
                        "legend": charts.legend_on_top(),
                    },  # fmt: skip
                    "tooltip": tip,
                },
            },
            {
                "mark": {"type": "line", "strokeDash": [2, 3], "strokeWidth": 1.5},
                "encoding": {
                    "x": {"field": "at", "type": "temporal", "scale": {"type": "utc"}},
                    "y": {"field": "previous_week", "type": "quantitative"},
                    "color": {"datum": WEEK_BEFORE, "scale": colors},
                    "tooltip": tip,
                },
            },
        ],
    )


def occupancy_figure(frame: pd.DataFrame) -> Spec:
    """Shoppers in the store per hour, as an area; hours without a trip (the store closed) are
    zeros, not a line across the night."""
    title = "Shoppers in the store (mean per hour)"
    full = frame.set_index("hour_start")["occupancy"]
    if full.empty:
        return vega.empty(title, "No trips in this period", height=300)
    hours = pd.date_range(full.index.min(), full.index.max(), freq="h")
    full = full.reindex(hours, fill_value=0.0)
    rows = vega.rows(
        {"at": vega.wall_time(at), "when_text": _when(at, "hour"), "occupancy": round(float(v), 2)}
        for at, v in zip(full.index, full.to_numpy(), strict=True)
    )
    return vega.chart(
        title,
        height=300,
        data=rows,
        mark={"type": "area", "line": True, "color": charts.VISITS_COLOR, "opacity": 0.5},
        encoding={
            "x": vega.time_x("Hour"),
            "y": {
                "field": "occupancy",
                "type": "quantitative",
                "axis": vega.axis("Shoppers", format=",~g"),
            },  # fmt: skip
            "tooltip": vega.tooltip(("when_text", "Hour"), ("occupancy", "Shoppers", ",.1f")),
        },
    )


def heatmap_hours(frame: pd.DataFrame) -> list[int]:
    """The hours both heatmaps show: those with entries on some weekday (the opening hours)."""
    return sorted(int(h) for h in frame.loc[frame["entries_per_day"] > 0, "hour"].unique())


def heatmap_figure(
    frame: pd.DataFrame, column: str, title: str, fmt: str, hours: list[int] | None = None
) -> Spec:
    """Weekday x hour cells coloured by ``column``, each with its value (d3 format ``fmt``);
    the columns are ``hours`` (the opening hours), empty cells left blank."""
    grid = frame.pivot_table(
        index="weekday", columns="hour", values=column, aggfunc="first", dropna=False
    )
    grid = grid.reindex(index=range(7), columns=hours if hours is not None else grid.columns)
    labels = [f"{int(h):02d}:00" for h in grid.columns]
    rows = vega.rows(
        {"weekday": WEEKDAYS[day], "hour": label, "value": float(v)}
        for day, cells in zip(range(7), grid.to_numpy(), strict=True)
        for label, v in zip(labels, cells, strict=True)
        if not pd.isna(v)
    )
    top = max((r["value"] for r in rows), default=0.0)
    x = {"field": "hour", "type": "ordinal", "scale": {"domain": labels},
         "axis": vega.axis(None, labelAngle=-45 if len(labels) > 8 else 0,
                           labelOverlap=False)}  # fmt: skip
    y = {"field": "weekday", "type": "ordinal", "scale": {"domain": WEEKDAYS},
         "axis": vega.axis(None)}  # fmt: skip
    tip = vega.tooltip(("weekday", "Weekday"), ("hour", "Hour"), ("value", title, fmt))
    return vega.chart(
        title,
        height=330,
        data=rows,
        layers=[
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "value",
                        "type": "quantitative",
                        "scale": {"scheme": charts.COLORSCHEME},
                        "legend": {"title": None, "format": fmt},
                    },  # fmt: skip
                    "tooltip": tip,
                },
            },
            {
                "mark": {"type": "text", "fontSize": 10},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "value", "type": "quantitative", "format": fmt},
                    "color": {
                        "condition": {"test": f"datum.value > {0.6 * top}", "value": "white"},
                        "value": "black",
                    },
                    "tooltip": tip,
                },
            },
        ],
    )


def attention_markdown(items: list[Item], *, first: date, last: date) -> str:
    """The digest's lines as a list, each with a link to its page on the same days."""
    period = f"from={first.isoformat()}&to={last.isoformat()}"
    lines = []
    for item in items:
        text = f"- **{item.topic}:** {item.text}"
        if item.page is not None:
            sep = "&" if "?" in item.page else "?"
            text += f" [details]({item.page}{sep}{period})"
        lines.append(text)
    return "\n".join(lines)


def attention(sel: Selection, digest: Digest) -> None:
    """What needs a decision: the store's device alerts, counters to act on, overdue members,
    sales far above the usual one, what the period's promotions and layout changes did. Each
    line links to the page with the detail."""
    st.subheader("Needs attention")
    if not digest.items:
        st.success(
            "Nothing needs attention in this period: every counter is kept, no member is "
            "overdue, no sale stands out and the store's devices report no problem."
        )
    else:
        st.markdown(attention_markdown(digest.items, first=sel.first, last=sel.last))
    try:
        outliers: dict[str, Any] = context.analytics(sel.store.id, "sales/outliers", sel.period)
    except ApiError:
        return  # the digest has said so
    found = outliers["outliers"]
    # a toggle rather than an expander: an expander's table is drawn even while it is closed
    if found and st.toggle(f"Unusually large sales ({len(found)})", key="overview-outliers"):
        st.dataframe(
            pd.DataFrame(
                {
                    "when": [fmt.moment(o["at"]) for o in found],
                    "net total": [fmt.money(o["net_total"]) for o in found],
                    "x usual sale": [f"{o['times_median']:.0f}x" for o in found],
                    "shopper": [o["segment"] for o in found],
                }
            ),
            width="stretch",
            hide_index=True,
        )


def staffing_figure(staffing: Staffing) -> Spec:
    """Shoppers per staff member per hour; hours without shoppers or staff (the store closed)
    are gaps in the line; hours with shoppers and no staff seen as red crosses at zero."""
    title = "Shoppers per staff member (per hour)"
    hours = pd.DataFrame([h.model_dump() for h in staffing.hours])
    if hours.empty:
        return vega.empty(title, "No staff or shoppers seen in this period", height=300)
    hours["hour_start"] = pd.to_datetime(hours["hour_start"])
    ratio = hours.set_index("hour_start")["shoppers_per_staff"].astype("float64")
    ratio = ratio.reindex(
        pd.date_range(ratio.index.min(), ratio.index.max(), freq="h"), fill_value=None
    )
    segment, line = 0, []
    for at, v in zip(ratio.index, ratio.to_numpy(), strict=True):
        if pd.isna(v):
            segment += 1  # a gap: the line starts again after it
        line.append(
            {
                "at": vega.wall_time(at),
                "when_text": _when(at, "hour"),
                "ratio": None if pd.isna(v) else round(float(v), 2),
                "segment": segment,
            }
        )
    alone = hours[(hours["staff"] == 0) & (hours["shoppers"] > 0)]
    crosses = vega.rows(
        {"at": vega.wall_time(at), "when_text": _when(at, "hour"), "shoppers": float(n), "zero": 0}
        for at, n in zip(alone["hour_start"], alone["shoppers"], strict=True)
    )
    series = "shoppers per staff member"
    colors = {"domain": [series, "no staff seen"], "range": [charts.VISITS_COLOR, NO_STAFF]}
    layers: list[Spec] = [
        {
            "data": {"values": vega.rows(line)},
            "mark": {"type": "line", "point": {"size": 12}},
            "encoding": {
                "x": vega.time_x("Hour"),
                "y": {
                    "field": "ratio",
                    "type": "quantitative",
                    "axis": vega.axis("Shoppers per staff", format=",~g"),
                },  # fmt: skip
                "detail": {"field": "segment", "type": "nominal"},
                "color": {"datum": series, "scale": colors, "legend": charts.legend_on_top()},
                "tooltip": vega.tooltip(
                    ("when_text", "Hour"), ("ratio", "Shoppers per staff", ",.1f")
                ),
            },
        }
    ]
    if crosses:
        layers.append(
            {
                "data": {"values": crosses},
                "mark": {"type": "point", "shape": "cross", "filled": True, "size": 70},
                "encoding": {
                    "x": {"field": "at", "type": "temporal", "scale": {"type": "utc"}},
                    "y": {"field": "zero", "type": "quantitative"},
                    "color": {"datum": "no staff seen", "scale": colors},
                    "tooltip": vega.tooltip(
                        ("when_text", "Hour"), ("shoppers", "Shoppers, no staff seen", ",.1f")
                    ),
                },
            }
        )
    return vega.chart(title, height=300, layers=layers)


def render(sel: Selection) -> None:
    st.title("Storeflow — store planner")
    st.caption(f"{sel.store.name}: {sel.first:%d %b %Y} – {sel.last:%d %b %Y}")
    try:
        cur = context.summary(sel.store.id, sel.period, sel.compare)
        foot = pd.DataFrame(
            context.analytics(sel.store.id, "footfall", sel.period, bucket=sel.bucket),
            columns=["bucket_start", "entries", "previous_week"],
        )
        occ = pd.DataFrame(
            context.analytics(sel.store.id, "occupancy", sel.period),
            columns=["hour_start", "entries", "occupancy"],
        )
        heat = pd.DataFrame(
            context.analytics(sel.store.id, "heatmap", sel.period),
            columns=["weekday", "hour", "days", "entries_per_day", "conversion"],
        )
    except ApiError as exc:
        context.problem(exc)
        return
    digest = context.digest(sel.store, sel.first, sel.last, sel.compare, sel.period)
    attention(sel, digest)
    kpi_row(cur, cur.previous, digest.staffing)
    if cur.not_comparable is None:
        st.caption(
            f"Changes are relative (conversion: in percentage points) against "
            f"{context.COMPARE[sel.compare]} "
            f"({sel.previous.start:%d %b %Y} – "
            f"{(sel.previous.end - pd.Timedelta(days=1)):%d %b %Y})."
        )
    else:
        st.caption(f"No change shown: {cur.not_comparable}.")
    if foot.empty:
        st.info("No trips in this period.")
        return
    foot["bucket_start"] = pd.to_datetime(foot["bucket_start"])
    events = digest.events
    # the bars are centred on their days' midnights: a day's span runs noon to noon (daily)
    context.chart(
        charts.add_calendar(footfall_figure(foot, sel.bucket), events, daily=sel.bucket != "hour"),
        key="footfall",
    )
    st.caption(charts.FOOTFALL_DEFINITION + (f" {charts.CALENDAR_NOTE}" if events else ""))
    occ["hour_start"] = pd.to_datetime(occ["hour_start"])
    context.chart(charts.add_calendar(occupancy_figure(occ), events), key="occupancy")
    st.caption(OCCUPANCY_DEFINITION)
    if digest.staffing is not None and digest.staffing.hours:
        context.chart(charts.add_calendar(staffing_figure(digest.staffing), events), key="staffing")
        st.caption(STAFF_DEFINITION + " Staff badges are tags of kind staff.")
    left, right = st.columns(2)
    heat["conversion_pct"] = heat["conversion"].astype("float64") * 100
    hours = heatmap_hours(heat)
    context.chart(
        heatmap_figure(heat, "entries_per_day", "Entries per day, weekday x hour", ".0f", hours),
        key="heat-entries",
        where=left,
    )
    context.chart(
        heatmap_figure(heat, "conversion_pct", "Conversion (%), weekday x hour", ".0f", hours),
        key="heat-conversion",
        where=right,
    )
    st.caption(f"Weekday x hour in the store's time zone. {CONVERSION_DEFINITION}")
    st.subheader("The figures")
    daily = sel.bucket != "hour"
    context.table_on_request(
        pd.DataFrame(
            {
                sel.bucket: foot["bucket_start"].map(fmt.day if daily else fmt.moment),
                "entries": foot["entries"].map(fmt.number),
                "one week earlier": foot["previous_week"].map(fmt.number),
            }
        ),
        foot,
        f"footfall-{sel.store.id}",
        key="dl-footfall",
        label="Footfall table",
    )
    context.table_on_request(
        pd.DataFrame(
            {
                "hour": occ["hour_start"].map(fmt.moment),
                "entries": occ["entries"].map(fmt.number),
                "shoppers in the store (mean)": occ["occupancy"].map(
                    lambda v: fmt.number(v, decimals=1)
                ),
            }
        ),
        occ,
        f"occupancy-{sel.store.id}",
        key="dl-occupancy",
        label="Occupancy table",
    )
    context.table_on_request(
        pd.DataFrame(
            {
                "weekday": heat["weekday"].map(lambda w: WEEKDAYS[int(w)]),
                "hour": heat["hour"].map(lambda h: f"{int(h):02d}:00"),
                "days": heat["days"],
                "entries per day": heat["entries_per_day"].map(lambda v: fmt.number(v, decimals=1)),
                "conversion": heat["conversion"].map(fmt.pct),
            }
        ),
        heat,
        f"heatmap-{sel.store.id}",
        key="dl-heatmap",
        label="Weekday x hour table",
    )
