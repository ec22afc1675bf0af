"""Daily facts (migration 0011): mark the store-local days new data touches, re-compute them.

Writers call :func:`mark_dirty` with the times of what they stored (visits, trips, sales);
readers call :func:`ensure_fresh` for the days they read, which re-computes a day that is dirty
and was last computed more than ``staleness_s`` ago; :func:`refresh_dirty` runs in the server
in the background so readers rarely wait. One day is re-computed from the base tables in one
transaction: delete its facts, insert them again (the SQL below), so a re-run is harmless.

Attribution: a zone visit counts on the day it was entered, a trip on the day it started (with
everything it did, also after midnight), a sale on the day it was paid. ``segment`` is the
member's tier for member-card tags and ``non-member`` for carts and baskets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from psycopg import AsyncConnection

from server import hll
from server.analysis.paths import RouteGraph, path_efficiency
from server.histogram import BIN_SQL
from server.queries.layout import load_layout
from server.timescale import raw_horizon
from storeflow.api.analytics import VISITOR_MIN_DWELL_S
from storeflow.wire import SHOPPER_TAG_VALUES

logger = logging.getLogger(__name__)

SHOPPER = list(SHOPPER_TAG_VALUES)
NON_MEMBER = "non-member"
ALL_SEGMENTS = "*"  # fact_shoppers only: every segment together

FACT_TABLES = (
    "fact_hour",
    "fact_shoppers",
    "fact_zone",
    "fact_zone_dwell",
    "fact_counter",
    "fact_counter_dwell",
    "fact_path",
    "fact_transition",
    "fact_efficiency",
)


@dataclass(frozen=True, slots=True)
class DayBounds:
    day: date
    lo: datetime
    hi: datetime


def day_bounds(day: date, tz: str) -> DayBounds:
    """The store-local day ``day`` as a UTC-aware half-open range."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return DayBounds(day, lo.astimezone(UTC), hi.astimezone(UTC))


async def store_timezone(conn: AsyncConnection[Any], store_id: str) -> str:
    cur = await conn.execute("SELECT timezone FROM store WHERE id = %s", (store_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else "UTC"


async def mark_dirty(conn: AsyncConnection[Any], store_id: str, times: Iterable[datetime]) -> None:
    """Record that data dated ``times`` arrived: their local days need their facts again."""
    stamps = sorted(set(times))
    if not stamps:
        return
    await conn.execute(
        "INSERT INTO rollup_day AS r (store_id, day, dirty_since) "
        "SELECT %(s)s, d, now() FROM (SELECT DISTINCT (t AT TIME ZONE coalesce("
        "(SELECT timezone FROM store WHERE id = %(s)s), 'UTC'))::date AS d "
        "FROM unnest(%(t)b::timestamptz[]) AS t) x ORDER BY d "
        "ON CONFLICT (store_id, day) DO UPDATE SET version = r.version + 1, "
        "dirty_since = coalesce(r.dirty_since, now())",
        {"s": store_id, "t": stamps},
    )


async def mark_range_dirty(conn: AsyncConnection[Any], store_id: str) -> int:
    """Mark every day with visits or sales (after a bulk load straight into the tables)."""
    tz = await store_timezone(conn, store_id)
    cur = await conn.execute(
        "INSERT INTO rollup_day AS r (store_id, day, dirty_since) "
        "SELECT %(s)s, d, now() FROM ("
        "SELECT DISTINCT (enter_at AT TIME ZONE %(tz)s)::date AS d FROM zone_visit "
        "WHERE store_id = %(s)s UNION "
        "SELECT DISTINCT (at AT TIME ZONE %(tz)s)::date FROM purchase WHERE store_id = %(s)s"
        ") x ORDER BY d "
        "ON CONFLICT (store_id, day) DO UPDATE SET version = r.version + 1, "
        "dirty_since = coalesce(r.dirty_since, now())",
        {"s": store_id, "tz": tz},
    )
    return cur.rowcount


# --------------------------------------------------------------------------- the facts of a day

# A sale line's units net of returns (docs/metrics.md#atv-and-upt): its quantity times the share
# of its value not returned (a line without value counts whole). ``pl`` is the purchase line.
NET_UNITS_SQL = (
    "pl.quantity * CASE WHEN pl.amount > 0 THEN greatest(pl.amount - (SELECT coalesce("
    "sum(x.amount), 0) FROM purchase_return r JOIN purchase_return_line x "
    "ON x.return_pk = r.id WHERE r.purchase_id = pl.purchase_id AND x.line_no = pl.line_no), 0) "
    "/ pl.amount ELSE 1 END"
)

_SEGMENTS = """
CREATE TEMP TABLE r_seg ON COMMIT DROP AS
SELECT e.epc, coalesce((
    SELECT coalesce(s.tier, m.tier) FROM card c JOIN member m ON m.id = c.member_id
    LEFT JOIN member s ON s.id = m.merged_into
    WHERE c.epc = e.epc ORDER BY (c.status = 'active') DESC, c.issued_at DESC LIMIT 1
), %(nonmember)s) AS seg
FROM (
    SELECT epc FROM zone_visit WHERE store_id = %(s)s AND enter_at >= %(lo)s
        AND enter_at < %(hi)s AND tag_kind = ANY(%(shopper)s)
    UNION
    SELECT epc FROM trip WHERE store_id = %(s)s AND start_at >= %(lo)s AND start_at < %(hi)s
) e
"""

_TRIPS = """
CREATE TEMP TABLE r_trip ON COMMIT DROP AS
SELECT t.trip_id, t.epc, t.start_at, t.end_at, t.zones, r.seg,
       EXISTS (SELECT 1 FROM purchase p WHERE p.trip_id = t.trip_id) AS bought
FROM trip t JOIN r_seg r USING (epc)
WHERE t.store_id = %(s)s AND t.start_at >= %(lo)s AND t.start_at < %(hi)s
"""

# Visitor trips of each counter: total dwell in its zone >= the threshold.
_COUNTER_VISITS = """
CREATE TEMP TABLE r_cv ON COMMIT DROP AS
SELECT t.trip_id, t.seg, c.code AS counter, sum(v.dwell_s) AS dwell_s,
       EXISTS (SELECT 1 FROM purchase p JOIN purchase_line pl ON pl.purchase_id = p.id
               WHERE p.trip_id = t.trip_id AND pl.counter = c.code) AS bought
FROM r_trip t
JOIN zone_visit v ON v.store_id = %(s)s AND v.epc = t.epc
     AND v.enter_at >= t.start_at AND v.enter_at <= t.end_at
     -- the day's visits (and the night after, for trips past midnight): an index range
     AND v.enter_at >= %(lo)s AND v.enter_at < %(hi)s + interval '1 day'
JOIN counter c ON c.store_id = %(s)s AND c.zone_code = v.zone
GROUP BY t.trip_id, t.seg, c.code
HAVING sum(v.dwell_s) >= %(min_dwell)s
"""

_HOUR = """
INSERT INTO fact_hour (store_id, day, hour, segment, entries, buying_trips, sales, transactions,
                       occupancy_s, duration_s, zones, units)
SELECT %(s)s, %(d)s, h, seg, sum(e), sum(b), sum(sa), sum(tx), sum(occ), sum(dur), sum(zn),
       sum(un)
FROM (
    SELECT extract(hour FROM start_at AT TIME ZONE %(tz)s)::int AS h, seg, count(*) AS e,
           count(*) FILTER (WHERE bought) AS b, 0 AS sa, 0 AS tx, 0 AS occ,
           sum(extract(epoch FROM end_at - start_at)) AS dur, sum(cardinality(zones)) AS zn,
           0 AS un
    FROM r_trip GROUP BY 1, 2
    UNION ALL
    SELECT extract(hour FROM p.at AT TIME ZONE %(tz)s)::int, coalesce(m.tier, %(nonmember)s),
           0, 0, sum(p.total - rt.amount), count(*) FILTER (WHERE p.total - rt.amount > 0),
           0, 0, 0, sum(un.units)
    FROM purchase p LEFT JOIN member m ON m.id = p.member_id
    CROSS JOIN LATERAL (SELECT coalesce(sum(r.amount), 0) AS amount FROM purchase_return r
                        WHERE r.purchase_id = p.id) rt
    CROSS JOIN LATERAL (SELECT coalesce(sum(NET_UNITS), 0) AS units
                        FROM purchase_line pl WHERE pl.purchase_id = p.id) un
    WHERE p.store_id = %(s)s AND p.at >= %(lo)s AND p.at < %(hi)s GROUP BY 1, 2
    UNION ALL
    SELECT extract(hour FROM g AT TIME ZONE %(tz)s)::int, t.seg, 0, 0, 0, 0,
           sum(extract(epoch FROM least(t.end_at, g + interval '1 hour')
                                  - greatest(t.start_at, g))),
           0, 0, 0
    FROM r_trip t,
         generate_series(date_bin('1 hour', t.start_at, %(lo)s::timestamptz), t.end_at,
                         interval '1 hour') AS g
    WHERE g < t.end_at GROUP BY 1, 2
) x
GROUP BY h, seg
""".replace("NET_UNITS", NET_UNITS_SQL)

_ZONE = """
INSERT INTO fact_zone (store_id, day, zone, segment, visits, visitors, dwell_s)
SELECT %(s)s, %(d)s, v.zone, r.seg, count(*), count(DISTINCT v.epc), sum(v.dwell_s)
FROM zone_visit v JOIN r_seg r USING (epc)
WHERE v.store_id = %(s)s AND v.enter_at >= %(lo)s AND v.enter_at < %(hi)s
  AND v.tag_kind = ANY(%(shopper)s)
GROUP BY v.zone, r.seg
"""

_ZONE_DWELL = f"""
INSERT INTO fact_zone_dwell (store_id, day, zone, segment, bin, n)
SELECT %(s)s, %(d)s, v.zone, r.seg, {BIN_SQL.format(x="v.dwell_s")} AS b, count(*)
FROM zone_visit v JOIN r_seg r USING (epc)
WHERE v.store_id = %(s)s AND v.enter_at >= %(lo)s AND v.enter_at < %(hi)s
  AND v.tag_kind = ANY(%(shopper)s)
GROUP BY v.zone, r.seg, b
"""

_COUNTER = """
INSERT INTO fact_counter (store_id, day, counter, segment, visitors, buyers, sales, transactions,
                          units)
SELECT %(s)s, %(d)s, counter, seg, sum(vi), sum(bu), sum(sa), sum(tx), sum(un)
FROM (
    SELECT counter, seg, count(*) AS vi, count(*) FILTER (WHERE bought) AS bu,
           0 AS sa, 0 AS tx, 0 AS un
    FROM r_cv GROUP BY 1, 2
    UNION ALL
    SELECT pl.counter, coalesce(m.tier, %(nonmember)s), 0, 0, sum(pl.amount - rl.amount),
           count(DISTINCT p.id) FILTER (WHERE pl.amount - rl.amount > 0),
           sum(NET_UNITS)
    FROM purchase p JOIN purchase_line pl ON pl.purchase_id = p.id
    CROSS JOIN LATERAL (SELECT coalesce(sum(x.amount), 0) AS amount
                        FROM purchase_return r JOIN purchase_return_line x ON x.return_pk = r.id
                        WHERE r.purchase_id = p.id AND x.line_no = pl.line_no) rl
    LEFT JOIN member m ON m.id = p.member_id
    WHERE p.store_id = %(s)s AND p.at >= %(lo)s AND p.at < %(hi)s AND pl.counter IS NOT NULL
    GROUP BY 1, 2
) x
GROUP BY counter, seg
""".replace("NET_UNITS", NET_UNITS_SQL)

_COUNTER_DWELL = f"""
INSERT INTO fact_counter_dwell (store_id, day, counter, segment, bin, n)
SELECT %(s)s, %(d)s, counter, seg, {BIN_SQL.format(x="dwell_s")} AS b, count(*)
FROM r_cv GROUP BY counter, seg, b
"""

_PATH = """
INSERT INTO fact_path (store_id, day, segment, path, trips)
SELECT %(s)s, %(d)s, seg, zones, count(*) FROM r_trip GROUP BY seg, zones
"""

_TRANSITION = """
INSERT INTO fact_transition (store_id, day, segment, source, target, n)
SELECT %(s)s, %(d)s, seg, zones[i], zones[i + 1], count(*)
FROM r_trip, generate_subscripts(zones, 1) AS i
WHERE i < cardinality(zones)
GROUP BY seg, zones[i], zones[i + 1]
"""

_DROP = "DROP TABLE IF EXISTS r_cv, r_trip, r_seg"


async def _shoppers(conn: AsyncConnection[Any], params: dict[str, Any]) -> None:
    """A HyperLogLog sketch of the day's distinct shopper tags per segment (server/hll.py)."""
    cur = await conn.execute("SELECT seg, epc FROM r_trip")
    tags: dict[str, set[str]] = {}
    trips: dict[str, int] = {}
    for seg, epc in await cur.fetchall():
        for key in (seg, ALL_SEGMENTS):  # one row for everyone: the common, unfiltered read
            tags.setdefault(key, set()).add(epc)
            trips[key] = trips.get(key, 0) + 1
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO fact_shoppers (store_id, day, segment, trips, sketch) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(params["s"], params["d"], seg, trips[seg], hll.sketch(t)) for seg, t in tags.items()],
        )


async def _efficiency(
    conn: AsyncConnection[Any], params: dict[str, Any], graph: RouteGraph
) -> None:
    cur = await conn.execute("SELECT trip_id, zones, seg, bought FROM r_trip")
    trips = pd.DataFrame(await cur.fetchall(), columns=["trip_id", "zones", "seg", "bought"])
    if trips.empty:
        return
    cur = await conn.execute(
        "SELECT p.trip_id, pl.counter, p.at FROM purchase p "
        "JOIN purchase_line pl ON pl.purchase_id = p.id "
        "WHERE p.trip_id IN (SELECT trip_id FROM r_trip) AND pl.counter IS NOT NULL"
    )
    purchases = pd.DataFrame(await cur.fetchall(), columns=["trip_id", "counter", "at"])
    eff = path_efficiency(trips, purchases, graph)
    eff["seg"] = trips["seg"].to_numpy()
    eff["buying"] = trips["bought"].to_numpy(dtype=bool)
    eff = eff[eff["efficiency"].notna()]
    rows = (
        eff.groupby(["seg", "buying"])
        .agg(
            trips=("trip_id", "size"),
            efficiency=("efficiency", "sum"),
            walked=("walked", "sum"),
            shortest=("shortest", "sum"),
            order_deviation=("order_deviation", "sum"),
            travel_deviation=("travel_deviation", "sum"),
        )
        .reset_index()
    )
    values = [
        (params["s"], params["d"], str(seg), bool(buying), int(n), *map(float, sums))
        for (seg, buying), n, *sums in zip(
            rows[["seg", "buying"]].itertuples(index=False, name=None),
            rows["trips"].tolist(),
            *(rows[k].tolist() for k in _EFF_SUMS),
            strict=True,
        )
    ]
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO fact_efficiency (store_id, day, segment, buying, trips, efficiency, "
            "walked, shortest, order_deviation, travel_deviation) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            values,
        )


_EFF_SUMS = ("efficiency", "walked", "shortest", "order_deviation", "travel_deviation")


async def refresh_day(
    conn: AsyncConnection[Any], store_id: str, day: date, *, tz: str, graph: RouteGraph | None
) -> None:
    """Re-compute every fact of one store-local day (inside the caller's transaction)."""
    b = day_bounds(day, tz)
    params: dict[str, Any] = {
        "s": store_id,
        "d": day,
        "lo": b.lo,
        "hi": b.hi,
        "tz": tz,
        "shopper": SHOPPER,
        "nonmember": NON_MEMBER,
        "min_dwell": VISITOR_MIN_DWELL_S,
    }
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rollup|{store_id}|{day.isoformat()}",)
    )
    horizon = await raw_horizon(conn)
    if horizon is not None and b.lo < horizon:
        # The raw visits and trips of this day may be dropped by retention: its facts are final,
        # re-computing them would zero them.
        await conn.execute(
            "UPDATE rollup_day SET dirty_since = NULL WHERE store_id = %s AND day = %s",
            (store_id, day),
        )
        logger.warning(
            "facts of %s %s kept: raw data before %s may be dropped", store_id, day, horizon
        )
        return
    cur = await conn.execute(
        "SELECT version FROM rollup_day WHERE store_id = %s AND day = %s", (store_id, day)
    )
    row = await cur.fetchone()
    version = row[0] if row else None
    for table in FACT_TABLES:
        await conn.execute(
            f"DELETE FROM {table} WHERE store_id = %s AND day = %s",
            (store_id, day),
        )
    await conn.execute(_DROP)
    for sql in (_SEGMENTS, _TRIPS):
        await conn.execute(sql, params)
    await conn.execute("ANALYZE r_seg, r_trip")
    for sql in (_COUNTER_VISITS, _HOUR, _ZONE, _ZONE_DWELL, _COUNTER):
        await conn.execute(sql, params)
    for sql in (_COUNTER_DWELL, _PATH, _TRANSITION):
        await conn.execute(sql, params)
    await _shoppers(conn, params)
    if graph is not None:
        await _efficiency(conn, params, graph)
    await conn.execute(_DROP)
    await conn.execute(
        "INSERT INTO rollup_day AS r (store_id, day, dirty_since, refreshed_at) "
        "VALUES (%s, %s, NULL, now()) ON CONFLICT (store_id, day) DO UPDATE SET "
        "refreshed_at = now(), dirty_since = CASE WHEN r.version = %s THEN NULL "
        "ELSE r.dirty_since END",
        (store_id, day, version),
    )


async def route_graph(conn: AsyncConnection[Any], store_id: str) -> RouteGraph | None:
    """The store's route graph from its current layout (built per call: well under a
    millisecond; its cache of shortest tours lives as long as the caller keeps the graph)."""
    layout = await load_layout(conn, store_id)
    return None if layout is None else RouteGraph.from_layout(layout)


async def refresh_days(conn: AsyncConnection[Any], store_id: str, days: Sequence[date]) -> None:
    """Re-compute ``days`` of one store (each in the caller's transaction)."""
    if not days:
        return
    tz = await store_timezone(conn, store_id)
    graph = await route_graph(conn, store_id)
    t0 = time.perf_counter()
    for day in days:
        await refresh_day(conn, store_id, day, tz=tz, graph=graph)
    logger.info(
        "facts of %s day(s) of %s re-computed in %.2f s",
        len(days),
        store_id,
        time.perf_counter() - t0,
    )


async def stale_days(
    conn: AsyncConnection[Any],
    store_id: str,
    first: date | None,
    last: date | None,
    *,
    staleness_s: float,
) -> list[date]:
    cur = await conn.execute(
        "SELECT day FROM rollup_day WHERE store_id = %s AND dirty_since IS NOT NULL "
        "AND (%s::date IS NULL OR day >= %s) AND (%s::date IS NULL OR day <= %s) "
        "AND (refreshed_at IS NULL OR refreshed_at <= now() - make_interval(secs => %s)) "
        "ORDER BY day DESC",
        (store_id, first, first, last, last, staleness_s),
    )
    return [r[0] for r in await cur.fetchall()]


async def ensure_fresh(
    conn: AsyncConnection[Any], store_id: str, first: date, last: date, *, staleness_s: float
) -> None:
    """Re-compute the dirty days in ``[first, last]`` not re-computed in ``staleness_s``."""
    days = await stale_days(conn, store_id, first, last, staleness_s=staleness_s)
    await refresh_days(conn, store_id, days)


async def refresh_dirty(conn: AsyncConnection[Any], *, max_days: int = 7) -> int:
    """Re-compute up to ``max_days`` dirty days (newest first) of every store; commits each."""
    cur = await conn.execute(
        "SELECT store_id, day FROM rollup_day WHERE dirty_since IS NOT NULL "
        "ORDER BY day DESC LIMIT %s",
        (max_days,),
    )
    todo = await cur.fetchall()
    by_store: dict[str, list[date]] = {}
    for store_id, day in todo:
        by_store.setdefault(store_id, []).append(day)
    for store_id, days in by_store.items():
        tz = await store_timezone(conn, store_id)
        graph = await route_graph(conn, store_id)  # one graph (and tour cache) per batch
        for day in days:
            await refresh_day(conn, store_id, day, tz=tz, graph=graph)
            await conn.commit()
    return len(todo)
