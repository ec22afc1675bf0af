"""Re-assemble the trips of tags whose visits just arrived (set-based, one store at a time)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.trips import VisitRow, assemble_trips


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
    async with conn.pipeline():  # one round trip, in this order
        # Serialise trip assembly per store: two batches for one tag must not interleave.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"trips|{store_id}",))
        # The longest trip the store has had (kept by a trigger on ``trip``, migration 0110).
        span_cur = await conn.execute(
            "SELECT max_span FROM trip_span WHERE store_id = %s", (store_id,)
        )
        zones_cur = await conn.execute(
            "SELECT code, kind FROM zone WHERE store_id = %s", (store_id,)
        )
        await conn.execute(_TRIP_STAGING)
    span_row = await span_cur.fetchone()
    span: timedelta = timedelta(0) if span_row is None else span_row[0]
    zk: dict[str, str] = dict(await zones_cur.fetchall())
    epcs = list(earliest)
    lows = [earliest[e] - timedelta(seconds=gap_s) for e in epcs]
    # A trip still open at ``low`` started at most the store's longest trip before it: that bound
    # (and the batch-wide constant ``floor``, which lets the planner skip whole chunks) reads only
    # the recent part of ``trip``; the answer is the same as without them. Every tag's bound
    # (its low, or the start of its trip still open then) is at or after ``floor``.
    floor = min(lows) - span
    # bounds -> the trips from there deleted, the visits from there read; one statement
    cur = await conn.execute(
        "WITH b AS (SELECT a.epc, LEAST(a.low + make_interval(secs => %(gap)s), "
        "min(t.start_at)) AS low "
        "FROM unnest(%(epcs)b::text[], %(lows)b::timestamptz[]) AS a(epc, low) "
        "LEFT JOIN trip t ON t.store_id = %(s)s AND t.epc = a.epc AND t.end_at >= a.low "
        "AND t.start_at >= a.low - %(span)s::interval AND t.start_at >= %(floor)s::timestamptz "
        "GROUP BY a.epc, a.low), "
        "gone AS (DELETE FROM trip USING b WHERE trip.store_id = %(s)s AND trip.epc = b.epc "
        "AND trip.start_at >= b.low AND trip.start_at >= %(floor)s::timestamptz) "
        "SELECT v.epc, v.tag_kind, v.zone, v.enter_at, v.exit_at FROM zone_visit v "
        "JOIN b ON v.store_id = %(s)s AND v.epc = b.epc AND v.enter_at >= b.low "
        "WHERE v.enter_at >= %(floor)s::timestamptz "
        "ORDER BY v.epc, v.enter_at",
        {"gap": gap_s, "epcs": epcs, "lows": lows, "s": store_id, "span": span, "floor": floor},
        binary=True,
    )
    per_tag: dict[str, list[VisitRow]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for epc, kind, zone, enter_at, exit_at in await cur.fetchall():
        per_tag[epc].append(VisitRow(zone, enter_at, exit_at))
        kinds[epc] = kind
    rows: dict[tuple[str, datetime], tuple[object, ...]] = {}
    for epc, visits in per_tag.items():
        for t in assemble_trips(visits, store_id=store_id, epc=epc, zone_kinds=zk, gap_s=gap_s):
            # two trips of a tag starting at one instant make one row: the first one's id, the
            # last one's end and path (what upserting them one after the other gives)
            key = (epc, t.start_at)
            first_id = rows[key][0] if key in rows else t.trip_id
            rows[key] = (
                first_id,
                store_id,
                epc,
                kinds[epc],
                t.start_at,
                t.end_at,
                text_array_literal(t.zones),
                t.visit_count,
            )
    await _upsert(conn, list(rows.values()))
    return len(rows)


_TRIP_COLUMNS = "trip_id, store_id, epc, tag_kind, start_at, end_at, zones, visit_count"
# zones travel as an array literal (text) and become text[] in the insert: formatting the literal
# costs a third of what the binary array dumper does
_TRIP_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging_trip (
    trip_id uuid, store_id text, epc text, tag_kind text, start_at timestamptz,
    end_at timestamptz, zones text, visit_count integer
) ON COMMIT DELETE ROWS
"""
_TRIP_TYPES = ("uuid", "text", "text", "text", "timestamptz", "timestamptz", "text", "int4")


def text_array_literal(items: Sequence[str]) -> str:
    """A PostgreSQL array literal of ``items``, every element quoted (so any text survives)."""
    quoted = (s.replace("\\", "\\\\").replace('"', '\\"') for s in items)
    return "{" + ",".join(f'"{q}"' for q in quoted) + "}"


async def _upsert(conn: AsyncConnection[Any], rows: list[tuple[object, ...]]) -> None:
    """Insert the trips (a trip already stored with the same start gets the new end and path),
    in one statement from a binary COPY to ``staging_trip``."""
    if not rows:
        return
    async with conn.cursor() as cur:
        async with cur.copy(
            f"COPY staging_trip ({_TRIP_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_TRIP_TYPES)
            for row in rows:
                await copy.write_row(row)
        # the staged rows leave staging as they go in (a transaction may rebuild again)
        await cur.execute(
            f"WITH staged AS (DELETE FROM staging_trip RETURNING {_TRIP_COLUMNS}) "
            f"INSERT INTO trip ({_TRIP_COLUMNS}) SELECT trip_id, store_id, epc, tag_kind, "
            "start_at, end_at, zones::text[], visit_count FROM staged "
            "ON CONFLICT (store_id, epc, start_at) DO UPDATE SET end_at = EXCLUDED.end_at, "
            "zones = EXCLUDED.zones, visit_count = EXCLUDED.visit_count"
        )
