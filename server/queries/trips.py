"""Re-assemble the trips of tags whose visits just arrived (set-based, one store at a time)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.trips import VisitRow, assemble_trips


async def zone_kinds(conn: AsyncConnection[Any], store_id: str) -> dict[str, str]:
    cur = await conn.execute("SELECT code, kind FROM zone WHERE store_id = %s", (store_id,))
    return dict(await cur.fetchall())


async def max_trip_span(conn: AsyncConnection[Any], store_id: str) -> timedelta:
    """The longest trip the store has had (kept by a trigger on ``trip``, migration 0110)."""
    cur = await conn.execute("SELECT max_span FROM trip_span WHERE store_id = %s", (store_id,))
    row = await cur.fetchone()
    return timedelta(0) if row is None else row[0]


async def rebuild_trips(
    conn: AsyncConnection[Any],
    *,
    store_id: str,
    earliest: Mapping[str, datetime],
    gap_s: float,
) -> int:
    """Rebuild the trips of each tag in ``earliest`` (epc -> its earliest new visit)."""
    if not earliest:
        return 0
    # Serialise trip assembly per store: two batches for one tag must not interleave.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"trips|{store_id}",))
    epcs = list(earliest)
    lows = [earliest[e] - timedelta(seconds=gap_s) for e in epcs]
    # A trip still open at ``low`` started at most the store's longest trip before it: that bound
    # (and the batch-wide constants, which let the planner skip whole chunks) reads only the
    # recent part of ``trip``; the answer is the same as without them.
    span = await max_trip_span(conn, store_id)
    oldest = min(lows)
    cur = await conn.execute(
        "SELECT a.epc, LEAST(a.low + make_interval(secs => %s), min(t.start_at)) "
        "FROM unnest(%s::text[], %s::timestamptz[]) AS a(epc, low) "
        "LEFT JOIN trip t ON t.store_id = %s AND t.epc = a.epc AND t.end_at >= a.low "
        "AND t.start_at >= a.low - %s::interval AND t.start_at >= %s::timestamptz "
        "GROUP BY a.epc, a.low",
        (gap_s, epcs, lows, store_id, span, oldest - span),
    )
    bounds: dict[str, datetime] = dict(await cur.fetchall())
    b_epcs = list(bounds)
    b_lows = [bounds[e] for e in b_epcs]
    floor = min(b_lows)
    await conn.execute(
        "DELETE FROM trip USING unnest(%s::text[], %s::timestamptz[]) AS b(epc, low) "
        "WHERE trip.store_id = %s AND trip.epc = b.epc AND trip.start_at >= b.low "
        "AND trip.start_at >= %s::timestamptz",
        (b_epcs, b_lows, store_id, floor),
    )
    cur = await conn.execute(
        "SELECT v.epc, v.tag_kind, v.zone, v.enter_at, v.exit_at FROM zone_visit v "
        "JOIN unnest(%s::text[], %s::timestamptz[]) AS b(epc, low) "
        "ON v.store_id = %s AND v.epc = b.epc AND v.enter_at >= b.low "
        "WHERE v.enter_at >= %s::timestamptz "
        "ORDER BY v.epc, v.enter_at",
        (b_epcs, b_lows, store_id, floor),
    )
    per_tag: dict[str, list[VisitRow]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for epc, kind, zone, enter_at, exit_at in await cur.fetchall():
        per_tag[epc].append(VisitRow(zone, enter_at, exit_at))
        kinds[epc] = kind
    zk = await zone_kinds(conn, store_id)
    rows = []
    for epc, visits in per_tag.items():
        for t in assemble_trips(visits, store_id=store_id, epc=epc, zone_kinds=zk, gap_s=gap_s):
            rows.append(
                (
                    t.trip_id,
                    store_id,
                    epc,
                    kinds[epc],
                    t.start_at,
                    t.end_at,
                    list(t.zones),
                    t.visit_count,
                )
            )
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO trip (trip_id, store_id, epc, tag_kind, start_at, end_at, zones, "
            "visit_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (store_id, epc, start_at) DO UPDATE SET end_at = EXCLUDED.end_at, "
            "zones = EXCLUDED.zones, visit_count = EXCLUDED.visit_count",
            rows,
        )
    return len(rows)
