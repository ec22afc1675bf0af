"""The chain view: every store's figures for one period side by side, and one concession (a
counter brand) across the stores that host it, read from the daily facts (server/rollup.py).

A period is whole local days ``[first, last]``; each store's facts are dated by its own local
day, so "Monday" is each store's own Monday. The definitions are the single-store ones
(server/queries/analytics.py, server/queries/counters.py), summed per store and day into
``chain_store_day``/``chain_counter_day`` (migration 0050) as the facts are re-computed:
entries = trips starting; conversion = trips with a linked sale / entries; sales per visitor =
sales / entries; ATV = sales / transactions; member share = entries with a member card /
entries (segment other than ``non-member``); data health = days with entries or sales / days
in the period, and the newest edge heartbeat. Ranking puts missing values (no entries) last
whatever the order.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from psycopg import AsyncConnection

from server.errors import InvalidRequest
from server.queries.facts import DEFAULT_DAYS
from server.rollup import NON_MEMBER, refresh_days
from storeflow.api.chain import (
    ChainStore,
    ChainStores,
    Concession,
    ConcessionComparison,
    ConcessionMetric,
    ConcessionStore,
    Order,
    StoreLinks,
    StoreMetric,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def params(self) -> dict[str, Any]:
        return {"d0": self.first, "d1": self.last}


async def period(
    conn: AsyncConnection[Any], start: date | None, end: date | None, *, staleness_s: float
) -> Period:
    """``start`` .. the day before ``end`` (default: up to the chain's latest day with data,
    ``DEFAULT_DAYS`` days); the facts of those days are brought up to date first."""
    if end is None:
        cur = await conn.execute("SELECT max(day) FROM rollup_day")
        row = await cur.fetchone()
        latest = row[0] if row and row[0] is not None else date.today()
        last: date = latest
    else:
        last = end - timedelta(days=1)
    first = start if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidRequest("end must be after start")
    got = Period(first, last)
    await ensure_fresh_chain(conn, got, staleness_s=staleness_s)
    return got


async def ensure_fresh_chain(conn: AsyncConnection[Any], p: Period, *, staleness_s: float) -> None:
    """Re-compute every store's dirty days of the period (one look-up for the whole chain;
    the server's background refresh normally leaves nothing to do)."""
    cur = await conn.execute(
        "SELECT store_id, day FROM rollup_day WHERE dirty_since IS NOT NULL "
        "AND day BETWEEN %(d0)s AND %(d1)s "
        "AND (refreshed_at IS NULL OR refreshed_at <= now() - make_interval(secs => %(st)s)) "
        "ORDER BY store_id, day DESC",
        {**p.params(), "st": staleness_s},
    )
    todo: dict[str, list[date]] = defaultdict(list)
    for store_id, day in await cur.fetchall():
        todo[store_id].append(day)
    for store_id, days in todo.items():
        await refresh_days(conn, store_id, days)
    await sync_days(conn, p)


_STALE = """
SELECT r.store_id, r.day, r.refreshed_at FROM rollup_day r
LEFT JOIN chain_store_day c ON c.store_id = r.store_id AND c.day = r.day
WHERE r.day BETWEEN %(d0)s AND %(d1)s AND r.refreshed_at IS NOT NULL
  AND c.source_refreshed_at IS DISTINCT FROM r.refreshed_at
"""
_GONE = """
DELETE FROM chain_store_day c WHERE c.day BETWEEN %(d0)s AND %(d1)s AND NOT EXISTS
    (SELECT 1 FROM rollup_day r WHERE r.store_id = c.store_id AND r.day = c.day
     AND r.refreshed_at IS NOT NULL)
"""
_PUT_STORE_DAYS = """
INSERT INTO chain_store_day AS c (store_id, day, source_refreshed_at, entries, buying_trips,
    sales, transactions, duration_s, member_entries, zone_visits, zone_dwell_s)
SELECT x.s, x.d, x.r, coalesce(h.e, 0), coalesce(h.b, 0), coalesce(h.sa, 0), coalesce(h.tx, 0),
       coalesce(h.dur, 0), coalesce(h.mem, 0), coalesce(z.v, 0), coalesce(z.dw, 0)
FROM unnest(%(s)s::text[], %(d)s::date[], %(r)s::timestamptz[]) AS x (s, d, r)
LEFT JOIN LATERAL (
    SELECT sum(entries) AS e, sum(buying_trips) AS b, sum(sales) AS sa, sum(transactions) AS tx,
           sum(duration_s) AS dur, sum(entries) FILTER (WHERE segment <> %(nonmember)s) AS mem
    FROM fact_hour WHERE store_id = x.s AND day = x.d
) h ON true
LEFT JOIN LATERAL (
    SELECT sum(visits) AS v, sum(dwell_s) AS dw FROM fact_zone WHERE store_id = x.s AND day = x.d
) z ON true
ON CONFLICT (store_id, day) DO UPDATE SET source_refreshed_at = excluded.source_refreshed_at,
    entries = excluded.entries, buying_trips = excluded.buying_trips, sales = excluded.sales,
    transactions = excluded.transactions, duration_s = excluded.duration_s,
    member_entries = excluded.member_entries, zone_visits = excluded.zone_visits,
    zone_dwell_s = excluded.zone_dwell_s
"""
_DROP_COUNTER_DAYS = """
DELETE FROM chain_counter_day WHERE (store_id, day) IN
    (SELECT * FROM unnest(%(s)s::text[], %(d)s::date[]))
"""
_PUT_COUNTER_DAYS = """
INSERT INTO chain_counter_day AS c (store_id, day, counter, visitors, buyers, sales, transactions)
SELECT f.store_id, f.day, f.counter, sum(f.visitors), sum(f.buyers), sum(f.sales),
       sum(f.transactions)
FROM unnest(%(s)s::text[], %(d)s::date[]) AS x (s, d)
JOIN fact_counter f ON f.store_id = x.s AND f.day = x.d
GROUP BY f.store_id, f.day, f.counter
ON CONFLICT (store_id, day, counter) DO UPDATE SET visitors = excluded.visitors,
    buyers = excluded.buyers, sales = excluded.sales, transactions = excluded.transactions
"""


async def sync_days(conn: AsyncConnection[Any], p: Period) -> int:
    """Bring the chain's per-store days of the period in line with the daily facts: the days
    re-computed since they were summed, and none for a day that has no facts any more."""
    await conn.execute(_GONE, p.params())
    cur = await conn.execute(_STALE, p.params())
    stale = await cur.fetchall()
    if stale:
        args = {
            "s": [r[0] for r in stale],
            "d": [r[1] for r in stale],
            "r": [r[2] for r in stale],
            "nonmember": NON_MEMBER,
        }
        await conn.execute(_PUT_STORE_DAYS, args)
        await conn.execute(_DROP_COUNTER_DAYS, args)
        await conn.execute(_PUT_COUNTER_DAYS, args)
        logger.info("chain: %s store-day(s) summed again", len(stale))
    return len(stale)


def links(store_id: str, p: Period) -> StoreLinks:
    q = f"start={p.first.isoformat()}&end={(p.last + timedelta(days=1)).isoformat()}"
    base = f"/stores/{store_id}/analytics"
    return StoreLinks(
        summary=f"{base}/summary?{q}",
        footfall=f"{base}/footfall?{q}&bucket=day",
        counters=f"{base}/counters?{q}",
        dwell=f"{base}/dwell?{q}",
        layout=f"/stores/{store_id}/layout",
    )


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


T = TypeVar("T")


def ranked(items: Sequence[T], key: Callable[[T], float | int | None], order: Order) -> list[T]:
    """``items`` by ``key`` (``desc``: largest first), missing values last, ties by position."""
    present = [x for x in items if key(x) is not None]
    missing = [x for x in items if key(x) is None]

    def value(x: T) -> float:
        v = key(x)
        assert v is not None
        return float(v)

    present.sort(key=value, reverse=order == "desc")
    return present + missing


_STORES = """
SELECT s.id, s.name, s.timezone,
       coalesce(c.entries, 0), coalesce(c.buying, 0), coalesce(c.sales, 0), coalesce(c.tx, 0),
       coalesce(c.duration, 0), coalesce(c.members, 0), coalesce(c.days, 0),
       coalesce(c.visits, 0), coalesce(c.dwell, 0), hb.last
FROM store s
LEFT JOIN (
    SELECT store_id, sum(entries) AS entries, sum(buying_trips) AS buying, sum(sales) AS sales,
           sum(transactions) AS tx, sum(duration_s) AS duration, sum(member_entries) AS members,
           count(*) FILTER (WHERE entries > 0 OR transactions > 0) AS days,
           sum(zone_visits) AS visits, sum(zone_dwell_s) AS dwell
    FROM chain_store_day WHERE day BETWEEN %(d0)s AND %(d1)s GROUP BY store_id
) c ON c.store_id = s.id
LEFT JOIN (
    SELECT store_id, max(received_at) AS last FROM device_heartbeat GROUP BY store_id
) hb ON hb.store_id = s.id
ORDER BY s.id
"""


async def stores(
    conn: AsyncConnection[Any], p: Period, *, rank_by: StoreMetric, order: Order
) -> ChainStores:
    cur = await conn.execute(_STORES, {**p.params(), "nonmember": NON_MEMBER})
    rows: list[ChainStore] = []
    for sid, name, tz, e, b, sales, tx, dur, mem, days, visits, dwell, hb in await cur.fetchall():
        e, b, tx, mem, days, visits = int(e), int(b), int(tx), int(mem), int(days), int(visits)
        sales = float(sales)
        rows.append(
            ChainStore(
                rank=0,
                store_id=sid,
                name=name,
                timezone=tz,
                entries=e,
                buying_trips=b,
                conversion=_ratio(b, e),
                sales=sales,
                transactions=tx,
                sales_per_visitor=_ratio(sales, e),
                atv=_ratio(sales, tx),
                mean_trip_s=_ratio(float(dur), e),
                mean_dwell_s=_ratio(float(dwell), visits),
                member_entries=mem,
                member_share=_ratio(mem, e),
                days_with_data=days,
                days_in_period=p.days,
                coverage=days / p.days,
                last_heartbeat=hb,
                links=links(sid, p),
            )
        )
    out = ranked(rows, lambda r: getattr(r, rank_by), order)
    return ChainStores(
        first=p.first,
        last=p.last,
        days=p.days,
        rank_by=rank_by,
        order=order,
        stores=[r.model_copy(update={"rank": i}) for i, r in enumerate(out, start=1)],
    )


async def concessions(conn: AsyncConnection[Any]) -> list[Concession]:
    """Every brand with a counter in some store, with the stores that host it."""
    cur = await conn.execute(
        "SELECT brand, array_agg(DISTINCT name ORDER BY name), min(category), "
        "count(DISTINCT store_id)::int FROM counter GROUP BY brand "
        "ORDER BY count(DISTINCT store_id) DESC, brand"
    )
    return [
        Concession(brand=b, names=list(n), category=c, stores=s)
        for b, n, c, s in await cur.fetchall()
    ]


_CONCESSION = """
WITH hosts AS (
    SELECT c.store_id, s.name AS store_name, c.code, c.name, c.area_m2
    FROM counter c JOIN store s ON s.id = c.store_id
    WHERE lower(c.brand) = lower(%(brand)s)
)
SELECT h.store_id, h.store_name, h.code, h.name, h.area_m2,
       coalesce(f.visitors, 0), coalesce(f.buyers, 0), coalesce(f.sales, 0), coalesce(f.tx, 0),
       coalesce(e.entries, 0)
FROM hosts h
LEFT JOIN LATERAL (
    SELECT sum(visitors) AS visitors, sum(buyers) AS buyers, sum(sales) AS sales,
           sum(transactions) AS tx
    FROM chain_counter_day
    WHERE store_id = h.store_id AND day BETWEEN %(d0)s AND %(d1)s AND counter = h.code
) f ON true
LEFT JOIN LATERAL (
    SELECT sum(entries) AS entries FROM chain_store_day
    WHERE store_id = h.store_id AND day BETWEEN %(d0)s AND %(d1)s
) e ON true
ORDER BY h.store_id, h.code
"""


async def concession(
    conn: AsyncConnection[Any],
    p: Period,
    brand: str,
    *,
    rank_by: ConcessionMetric,
    order: Order,
) -> ConcessionComparison | None:
    """The brand's counters in every store that hosts one (None: no store does)."""
    cur = await conn.execute(_CONCESSION, {**p.params(), "brand": brand})
    got = await cur.fetchall()
    if not got:
        return None
    rows: list[ConcessionStore] = []
    for sid, sname, code, name, area, vis, buy, sales, tx, entries in got:
        vis, buy, tx, sales, area = int(vis), int(buy), int(tx), float(sales), float(area)
        rows.append(
            ConcessionStore(
                rank=0,
                store_id=sid,
                store_name=sname,
                counter=code,
                name=name,
                area_m2=area,
                visitors=vis,
                exposure=_ratio(vis, int(entries)),
                buyers=buy,
                conversion=_ratio(buy, vis),
                sales=sales,
                transactions=tx,
                sales_per_visitor=_ratio(sales, vis),
                atv=_ratio(sales, tx),
                sales_per_m2=_ratio(sales, area),
                links=links(sid, p),
            )
        )
    out = ranked(rows, lambda r: getattr(r, rank_by), order)
    return ConcessionComparison(
        brand=brand,
        first=p.first,
        last=p.last,
        days=p.days,
        rank_by=rank_by,
        order=order,
        stores=[r.model_copy(update={"rank": i}) for i, r in enumerate(out, start=1)],
    )
