"""Traffic analytics from the daily facts: KPIs, footfall, occupancy, heatmaps, dwell per zone.

Definitions (docs/metrics.md): footfall = trips starting in a period (entries); occupancy = trips
open at a time (here: mean over each hour = trip seconds inside the hour / 3600); dwell = exit -
enter of a zone visit; conversion = trips with a linked sale / trips; holding power = a zone's
median dwell / its typical median (the 8 weeks before the selection; the median over zones of
the same kind when there is no history); shoppers = distinct shopper tags, estimated from daily
HyperLogLog sketches (server/hll.py, standard error 1.6 %). Only shopper tags (member cards,
carts, baskets) count.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from psycopg import AsyncConnection

from server import histogram, hll
from server.queries.facts import (
    FLOOR_ZONE_SQL,
    SEGMENT_SQL,
    Bound,
    Selection,
    histograms,
    quantiles,
    rows,
)
from server.rollup import ALL_SEGMENTS, NON_MEMBER, day_bounds
from storeflow.api.analytics import (
    DwellBin,
    FootfallBucket,
    HeatCell,
    Kpis,
    OccupancyHour,
    OutlierSale,
    SalesOutliers,
    Summary,
    ZoneDwell,
    ZoneFootfall,
    ZoneVisits,
)
from storeflow.wire import SHOPPER_TAG_VALUES

SHOPPER = SHOPPER_TAG_VALUES
BASELINE_DAYS = 56

_WHERE = "store_id = %(s)s AND day BETWEEN %(d0)s AND %(d1)s AND " + SEGMENT_SQL


async def entries(conn: AsyncConnection[Any], sel: Selection) -> int:
    (n,), *_ = await rows(
        conn,
        f"SELECT coalesce(sum(entries), 0) FROM fact_hour WHERE {_WHERE}",
        sel,
    )
    return int(n)


async def kpis(conn: AsyncConnection[Any], sel: Selection) -> Kpis:
    (e, b, sales, tx, dur, units), *_ = await rows(
        conn,
        "SELECT coalesce(sum(entries), 0), coalesce(sum(buying_trips), 0), "
        "coalesce(sum(sales), 0), coalesce(sum(transactions), 0), coalesce(sum(duration_s), 0), "
        f"coalesce(sum(units), 0) FROM fact_hour WHERE {_WHERE}",
        sel,
    )
    hists = await histograms(conn, "fact_zone_dwell", "zone", sel, floor_sql="{col} = {col}")
    all_bins = histogram.add(kv for h in hists.values() for kv in h.items())
    (visits,), *_ = await rows(
        conn,
        f"SELECT coalesce(sum(visits), 0) FROM fact_zone WHERE {_WHERE}",
        sel,
    )
    sketches = await rows(
        conn,
        "SELECT sketch FROM fact_shoppers WHERE store_id = %(s)s "
        "AND day BETWEEN %(d0)s AND %(d1)s AND segment = ANY(%(segs)s)",
        Bound(sel, segs=list(sel.segments) if sel.segments else [ALL_SEGMENTS]),
    )
    shoppers = hll.estimate(hll.union(bytes(r[0]) for r in sketches))
    return Kpis(
        entries=int(e),
        visits=int(visits),
        shoppers=int(shoppers),
        buying_trips=int(b),
        conversion=b / e if e else None,
        sales=float(sales),
        transactions=int(tx),
        sales_per_trip=float(sales) / e if e else None,
        mean_trip_s=float(dur) / e if e else None,
        median_dwell_s=histogram.percentile(all_bins, 0.5),
        units=float(units),
        average_sale=float(sales) / tx if tx else None,
        units_per_sale=float(units) / tx if tx else None,
    )


OUTLIER_IQR = 3.0  # a sale above Q3 + 3 x IQR of the log net totals is flagged


def outlier_threshold(totals: list[float], *, k: float = OUTLIER_IQR) -> float | None:
    """The net total above which a sale is an outlier: Q3 + ``k`` x IQR on the log scale
    (sale values are skewed: a fence on the raw values would flag every large basket), or None
    with fewer than 20 sales."""
    values = np.log(np.asarray([t for t in totals if t > 0], dtype=np.float64))
    if values.size < 20:
        return None
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return float(np.exp(q3 + k * (q3 - q1)))


async def sale_outliers(conn: AsyncConnection[Any], sel: Selection) -> SalesOutliers:
    """The period's sales (net of returns, fully returned ones left out) and the outliers."""
    got = await rows(
        conn,
        "SELECT id, at, net::float8, segment FROM ("
        "SELECT p.id, p.at, p.total - coalesce((SELECT sum(r.amount) FROM purchase_return r "
        "WHERE r.purchase_id = p.id), 0) AS net, coalesce(m.tier, %(nonmember)s) AS segment "
        "FROM purchase p LEFT JOIN member m ON m.id = p.member_id "
        "WHERE p.store_id = %(s)s AND p.at >= %(lo)s AND p.at < %(hi)s) x "
        f"WHERE net > 0 AND {SEGMENT_SQL} ORDER BY net DESC",
        Bound(sel, nonmember=NON_MEMBER),
    )
    totals = [float(r[2]) for r in got]
    limit = outlier_threshold(totals)
    mid = float(np.median(totals)) if totals else None
    flagged = [r for r in got if limit is not None and r[2] > limit]
    return SalesOutliers(
        sales=sum(totals),
        transactions=len(totals),
        median_sale=mid,
        threshold=limit,
        outlier_sales=sum(float(r[2]) for r in flagged),
        outliers=[
            OutlierSale(
                purchase_id=i,
                at=at,
                net_total=float(net),
                times_median=float(net) / mid if mid else 0.0,
                segment=seg,
            )
            for i, at, net, seg in flagged
        ],
    )


def comparison_shift(days: int, compare: str) -> int:
    """Days back to the period a selection of ``days`` is compared with: ``previous`` = just
    before it; ``last_week`` = the whole weeks it spans (like weekdays); ``last_year`` = 52
    weeks (364 days: like weekdays)."""
    if compare == "last_week":
        return 7 * max(1, -(-days // 7))
    if compare == "last_year":
        return 364
    return days


MIN_COMPARABLE_SHARE = 0.8  # the previous period needs data on 80 % as many days


async def days_with_data(conn: AsyncConnection[Any], sel: Selection) -> int:
    (n,), *_ = await rows(
        conn,
        "SELECT count(DISTINCT day)::int FROM fact_hour WHERE store_id = %(s)s "
        "AND day BETWEEN %(d0)s AND %(d1)s AND entries > 0",
        sel,
    )
    return int(n)


def comparability(days_now: int, days_before: int, *, partial: bool) -> str | None:
    """Why the selection cannot be compared with the period before it, or None if it can.

    A day that is not over is never compared with whole days, and a previous period with data
    on fewer than ``MIN_COMPARABLE_SHARE`` as many days as the selection gives no percentage."""
    if partial:
        return "the period ends today, which is not over yet: end it yesterday to compare"
    if days_now == 0:
        return "no data in this period"
    if days_before < MIN_COMPARABLE_SHARE * days_now:
        return (
            f"the period before has data on only {days_before} of its days against "
            f"{days_now} in this one: too little to compare"
        )
    return None


async def summary(
    conn: AsyncConnection[Any],
    sel: Selection,
    previous: Selection | None,
    *,
    now_at: datetime | None = None,
) -> Summary:
    now = await kpis(conn, sel)
    before = await kpis(conn, previous) if previous is not None else None
    n_now = await days_with_data(conn, sel)
    n_before = await days_with_data(conn, previous) if previous is not None else 0
    partial = sel.start <= (now_at or datetime.now(ZoneInfo(sel.tz))) < sel.end
    cur = await conn.execute(
        "SELECT min(start_at), max(start_at) FROM trip WHERE store_id = %s "
        "AND start_at >= %s AND start_at < %s",
        (sel.store_id, sel.start, sel.end),
    )
    first_at, last_at = await cur.fetchone() or (None, None)
    return Summary(
        **now.model_dump(),
        start=sel.start,
        end=sel.end,
        days=sel.days,
        trips=now.entries,
        first_at=first_at,
        last_at=last_at,
        previous=before,
        days_with_data=n_now,
        previous_days_with_data=n_before,
        partial_day=partial,
        not_comparable=comparability(n_now, n_before, partial=partial)
        if previous is not None
        else "no period before to compare with",
    )


def _hour_start(sel: Selection, day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(sel.tz))


async def _hourly(conn: AsyncConnection[Any], sel: Selection) -> dict[datetime, tuple[int, float]]:
    out: dict[datetime, tuple[int, float]] = {}
    for day, hour, e, occ in await rows(
        conn,
        "SELECT day, hour, sum(entries)::int, sum(occupancy_s) FROM fact_hour "
        f"WHERE {_WHERE} GROUP BY day, hour ORDER BY day, hour",
        sel,
    ):
        out[_hour_start(sel, day, hour)] = (e, float(occ))
    return out


async def footfall(
    conn: AsyncConnection[Any], sel: Selection, bucket: Literal["hour", "day", "week"]
) -> list[FootfallBucket]:
    """Entries per bucket, with the same bucket one week earlier (week-on-week)."""

    def bucketed(hourly: dict[datetime, tuple[int, float]]) -> dict[datetime, int]:
        out: dict[datetime, int] = defaultdict(int)
        for t, (e, _) in hourly.items():
            if bucket == "hour":
                key = t
            else:
                d = t.astimezone(ZoneInfo(sel.tz)).date()
                if bucket == "week":
                    d = d - timedelta(days=d.weekday())
                key = day_bounds(d, sel.tz).lo
            out[key] += e
        return out

    now = bucketed(await _hourly(conn, sel))
    before = bucketed(await _hourly(conn, sel.shifted(-7)))
    week = timedelta(days=7)
    return [
        FootfallBucket(bucket_start=t, entries=n, previous_week=before.get(t - week))
        for t, n in sorted(now.items())
    ]


async def occupancy(conn: AsyncConnection[Any], sel: Selection) -> list[OccupancyHour]:
    return [
        OccupancyHour(hour_start=t, entries=e, occupancy=occ / 3600.0)
        for t, (e, occ) in sorted((await _hourly(conn, sel)).items())
    ]


async def heatmap(conn: AsyncConnection[Any], sel: Selection) -> list[HeatCell]:
    """Weekday x hour: mean entries per day of that weekday, and conversion."""
    got = await rows(
        conn,
        "SELECT extract(isodow FROM day)::int - 1, hour, count(DISTINCT day)::int, "
        "sum(entries)::int, sum(buying_trips)::int FROM fact_hour "
        f"WHERE {_WHERE} GROUP BY 1, 2 ORDER BY 1, 2",
        sel,
    )
    cal: dict[int, int] = defaultdict(int)
    d = sel.first
    while d <= sel.last:
        cal[d.weekday()] += 1
        d += timedelta(days=1)
    return [
        HeatCell(
            weekday=wd,
            hour=h,
            days=cal[wd],
            entries_per_day=e / cal[wd] if cal[wd] else 0.0,
            conversion=b / e if e else None,
        )
        for wd, h, _, e, b in got
    ]


async def dwell(conn: AsyncConnection[Any], sel: Selection) -> list[ZoneDwell]:
    floor = FLOOR_ZONE_SQL
    hists = await histograms(conn, "fact_zone_dwell", "zone", sel, floor_sql=floor)
    base_sel = Selection(
        sel.store_id,
        sel.first - timedelta(days=BASELINE_DAYS),
        sel.first - timedelta(days=1),
        sel.tz,
        sel.segments,
        sel.floor,
    )
    base = await histograms(conn, "fact_zone_dwell", "zone", base_sel, floor_sql=floor)
    sums = {
        z: (int(n), float(s))
        for z, n, s in await rows(
            conn,
            f"SELECT zone, sum(visits), sum(dwell_s) FROM fact_zone WHERE {_WHERE} "
            f"AND {FLOOR_ZONE_SQL.format(col='zone')} GROUP BY zone",
            sel,
        )
    }
    kinds = dict(
        await (
            await conn.execute("SELECT code, kind FROM zone WHERE store_id = %s", (sel.store_id,))
        ).fetchall()
    )
    medians = {z: quantiles(h) for z, h in hists.items()}
    by_kind: dict[str, list[float]] = defaultdict(list)
    for z, (m, _) in medians.items():
        if m is not None:
            by_kind[kinds.get(z, "")].append(m)
    out = []
    for z in sorted(hists):
        med, p90 = medians[z]
        if med is None or p90 is None:
            continue
        n, s = sums.get(z, (0, 0.0))
        typical = histogram.percentile(base.get(z, {}), 0.5)
        if typical is None and by_kind.get(kinds.get(z, "")):
            typical = median(by_kind[kinds.get(z, "")])
        out.append(
            ZoneDwell(
                zone=z,
                visits=n,
                median_s=med,
                p90_s=p90,
                mean_s=s / n if n else 0.0,
                typical_median_s=typical,
                holding_power=med / typical if typical else None,
            )
        )
    return out


async def dwell_distribution(
    conn: AsyncConnection[Any], sel: Selection, zones: list[str] | None
) -> list[DwellBin]:
    hists = await histograms(conn, "fact_zone_dwell", "zone", sel, floor_sql=FLOOR_ZONE_SQL)
    out = []
    for z in sorted(hists):
        if zones and z not in zones:
            continue
        for b in sorted(hists[z]):
            lo, hi = histogram.bin_bounds(b)
            out.append(DwellBin(zone=z, low_s=lo, high_s=hi, visits=hists[z][b]))
    return out


async def zone_visits(conn: AsyncConnection[Any], sel: Selection) -> list[ZoneVisits]:
    """Visits and visitors (distinct tags per day, summed over the days) per zone."""
    got = await rows(
        conn,
        f"SELECT zone, sum(visits)::int, sum(visitors)::int FROM fact_zone WHERE {_WHERE} "
        f"AND {FLOOR_ZONE_SQL.format(col='zone')} GROUP BY zone ORDER BY zone",
        sel,
    )
    return [ZoneVisits(zone=z, visits=n, visitors=u) for z, n, u in got]


async def zone_footfall(
    conn: AsyncConnection[Any], sel: Selection, bucket: Literal["day", "week"]
) -> list[ZoneFootfall]:
    """Entries (zone visits) per zone and local day or week (weeks start on Monday)."""
    got = await rows(
        conn,
        "SELECT zone, day, sum(visits)::int FROM fact_zone "
        f"WHERE {_WHERE} AND {FLOOR_ZONE_SQL.format(col='zone')} GROUP BY zone, day",
        sel,
    )
    out: dict[tuple[str, date], int] = defaultdict(int)
    for zone, day, n in got:
        key = day - timedelta(days=day.weekday()) if bucket == "week" else day
        out[(zone, key)] += n
    return [ZoneFootfall(zone=z, bucket_start=d, entries=n) for (z, d), n in sorted(out.items())]
