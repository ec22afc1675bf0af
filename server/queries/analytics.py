"""Planner analytics over zone visits and trips. Portable SQL (``date_bin``, not ``time_bucket``).

Definitions (METRICS.md): footfall = trips starting in a period; dwell = exit - enter of a zone
visit; visitors = distinct tags. Only shopper tags (member cards, carts, baskets) count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from psycopg import AsyncConnection
from pydantic import BaseModel

SHOPPER = ("member_card", "cart", "basket")


class Period(BaseModel):
    start: datetime
    end: datetime


class Summary(BaseModel):
    start: datetime
    end: datetime
    visits: int
    trips: int
    shoppers: int
    first_at: datetime | None
    last_at: datetime | None
    median_dwell_s: float | None


class FootfallBucket(BaseModel):
    bucket_start: datetime
    entries: int


class ZoneDwell(BaseModel):
    zone: str
    visits: int
    median_s: float
    p90_s: float
    mean_s: float


class ZoneVisits(BaseModel):
    zone: str
    visits: int
    visitors: int


async def resolve_period(
    conn: AsyncConnection[Any], store_id: str, start: datetime | None, end: datetime | None
) -> Period:
    """Default: the 7 days ending at the store's latest visit (or now, for an empty store)."""
    if end is None:
        cur = await conn.execute(
            "SELECT max(enter_at) FROM zone_visit WHERE store_id = %s", (store_id,)
        )
        row = await cur.fetchone()
        latest = row[0] if row and row[0] is not None else datetime.now().astimezone()
        end = latest + timedelta(seconds=1)
    if start is None:
        start = end - timedelta(days=7)
    return Period(start=start, end=end)


async def summary(conn: AsyncConnection[Any], store_id: str, p: Period) -> Summary:
    cur = await conn.execute(
        "SELECT count(*), count(DISTINCT epc), min(enter_at), max(exit_at), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY dwell_s) FROM zone_visit "
        "WHERE store_id = %s AND enter_at >= %s AND enter_at < %s AND tag_kind = ANY(%s)",
        (store_id, p.start, p.end, list(SHOPPER)),
    )
    visits, shoppers, first_at, last_at, med = await cur.fetchone() or (0, 0, None, None, None)
    cur = await conn.execute(
        "SELECT count(*) FROM trip WHERE store_id = %s AND start_at >= %s AND start_at < %s",
        (store_id, p.start, p.end),
    )
    trips_row = await cur.fetchone()
    return Summary(
        start=p.start,
        end=p.end,
        visits=visits,
        trips=trips_row[0] if trips_row else 0,
        shoppers=shoppers,
        first_at=first_at,
        last_at=last_at,
        median_dwell_s=med,
    )


async def footfall(
    conn: AsyncConnection[Any], store_id: str, p: Period, bucket: Literal["hour", "day"]
) -> list[FootfallBucket]:
    cur = await conn.execute(
        "SELECT date_bin(%s::interval, start_at, TIMESTAMPTZ '2000-01-03 00:00+00') AS b, "
        "count(*) FROM trip WHERE store_id = %s AND start_at >= %s AND start_at < %s "
        "GROUP BY b ORDER BY b",
        (f"1 {bucket}", store_id, p.start, p.end),
    )
    return [FootfallBucket(bucket_start=b, entries=n) for b, n in await cur.fetchall()]


async def dwell(conn: AsyncConnection[Any], store_id: str, p: Period) -> list[ZoneDwell]:
    cur = await conn.execute(
        "SELECT zone, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY dwell_s), "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY dwell_s), avg(dwell_s) FROM zone_visit "
        "WHERE store_id = %s AND enter_at >= %s AND enter_at < %s AND tag_kind = ANY(%s) "
        "GROUP BY zone ORDER BY zone",
        (store_id, p.start, p.end, list(SHOPPER)),
    )
    return [
        ZoneDwell(zone=z, visits=n, median_s=med, p90_s=p90, mean_s=mean)
        for z, n, med, p90, mean in await cur.fetchall()
    ]


async def zone_visits(conn: AsyncConnection[Any], store_id: str, p: Period) -> list[ZoneVisits]:
    cur = await conn.execute(
        "SELECT zone, count(*), count(DISTINCT epc) FROM zone_visit "
        "WHERE store_id = %s AND enter_at >= %s AND enter_at < %s AND tag_kind = ANY(%s) "
        "GROUP BY zone ORDER BY zone",
        (store_id, p.start, p.end, list(SHOPPER)),
    )
    return [ZoneVisits(zone=z, visits=n, visitors=u) for z, n, u in await cur.fetchall()]
