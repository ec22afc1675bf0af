"""Re-assemble the trips of tags whose visits just arrived (set-based, one store at a time)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from psycopg import AsyncConnection

from server.trips import VisitRow, assemble_trips


class NewVisit(Protocol):
    """A visit to add to a rebuild (a staged ingest row has these fields)."""

    @property
    def epc(self) -> str: ...
    @property
    def tag_kind(self) -> str: ...
    @property
    def zone(self) -> str: ...
    @property
    def enter_at(self) -> datetime: ...
    @property
    def exit_at(self) -> datetime: ...


@dataclass(slots=True)
class TripRebuild:
    """The trips of some tags of one store, being rebuilt: the store's trip assembly is locked,
    their trips from each tag's bound on are deleted, and the visits from there read (:meth:`add`
    takes more). :meth:`rows` assembles the trips."""

    store_id: str
    gap_s: float
    zone_kinds: dict[str, str]
    visits: dict[str, list[VisitRow]] = field(default_factory=dict)
    kinds: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # the latest visit's
    event_ids: set[uuid.UUID] = field(default_factory=set)  # of the visits read

    def add(self, epc: str, kind: str, zone: str, enter_at: datetime, exit_at: datetime) -> None:
        self.visits.setdefault(epc, []).append(_new_tuple(VisitRow, (zone, enter_at, exit_at)))
        latest = self.kinds.get(epc)
        if latest is None or enter_at >= latest[0]:
            self.kinds[epc] = (enter_at, kind)

    def add_all(self, visits: Iterable[NewVisit]) -> None:
        """:meth:`add` for each visit, in order (a batch's visits, in one loop)."""
        by_tag, kinds = self.visits, self.kinds
        for v in visits:
            epc, enter_at = v.epc, v.enter_at
            row = _new_tuple(VisitRow, (v.zone, enter_at, v.exit_at))
            rows = by_tag.get(epc)
            if rows is None:
                by_tag[epc] = [row]
            else:
                rows.append(row)
            latest = kinds.get(epc)
            if latest is None or enter_at >= latest[0]:
                kinds[epc] = (enter_at, v.tag_kind)

    def rows(self) -> list[tuple[object, ...]]:
        """The ``trip`` rows of the tags' visits."""
        rows: dict[tuple[str, datetime], tuple[object, ...]] = {}
        store_id, zk, gap_s = self.store_id, self.zone_kinds, self.gap_s
        for epc, visits in self.visits.items():
            kind = self.kinds[epc][1]
            for t in assemble_trips(visits, store_id=store_id, epc=epc, zone_kinds=zk, gap_s=gap_s):
                # two trips of a tag starting at one instant make one row: the first one's id,
                # the last one's end and path (what upserting them one after the other gives)
                key = (epc, t.start_at)
                first_id = rows[key][0] if key in rows else t.trip_id
                rows[key] = (
                    first_id,
                    store_id,
                    epc,
                    kind,
                    t.start_at,
                    t.end_at,
                    text_array_literal(t.zones),
                    t.visit_count,
                )
        return list(rows.values())


_new_tuple = tuple.__new__  # VisitRow(...) without the keyword handling, for every visit


async def begin_rebuild(
    conn: AsyncConnection[Any],
    *,
    store_id: str,
    earliest: Mapping[str, datetime],
    gap_s: float,
    event_ids: bool = False,
) -> TripRebuild:
    """Lock the store's trip assembly, delete the trips of the tags in ``earliest`` (epc -> its
    earliest new visit) from their bounds on, and read the tags' visits stored from there (with
    ``event_ids``, note the ids of the visits read)."""
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
    span_row = await span_cur.fetchone()
    span: timedelta = timedelta(0) if span_row is None else span_row[0]
    rebuild = TripRebuild(
        store_id=store_id, gap_s=gap_s, zone_kinds=dict(await zones_cur.fetchall())
    )
    if not earliest:
        return rebuild
    epcs = list(earliest)
    lows = [earliest[e] - timedelta(seconds=gap_s) for e in epcs]
    # A trip still open at ``low`` started at most the store's longest trip before it: that bound
    # (and the batch-wide constant ``floor``, which lets the planner skip whole chunks) reads only
    # the recent part of ``trip``; the answer is the same as without them. Every tag's bound
    # (its low, or the start of its trip still open then) is at or after ``floor``.
    floor = min(lows) - span
    # bounds -> the trips from there deleted, the visits from there read; one statement
    ids = "v.event_id" if event_ids else "NULL::uuid"
    cur = await conn.execute(
        "WITH b AS (SELECT a.epc, LEAST(a.low + make_interval(secs => %(gap)s), "
        "min(t.start_at)) AS low "
        "FROM unnest(%(epcs)b::text[], %(lows)b::timestamptz[]) AS a(epc, low) "
        "LEFT JOIN trip t ON t.store_id = %(s)s AND t.epc = a.epc AND t.end_at >= a.low "
        "AND t.start_at >= a.low - %(span)s::interval AND t.start_at >= %(floor)s::timestamptz "
        "GROUP BY a.epc, a.low), "
        "gone AS (DELETE FROM trip USING b WHERE trip.store_id = %(s)s AND trip.epc = b.epc "
        "AND trip.start_at >= b.low AND trip.start_at >= %(floor)s::timestamptz) "
        f"SELECT v.epc, v.tag_kind, v.zone, v.enter_at, v.exit_at, {ids} FROM zone_visit v "
        "JOIN b ON v.store_id = %(s)s AND v.epc = b.epc AND v.enter_at >= b.low "
        "WHERE v.enter_at >= %(floor)s::timestamptz "
        "ORDER BY v.epc, v.enter_at",
        {"gap": gap_s, "epcs": epcs, "lows": lows, "s": store_id, "span": span, "floor": floor},
        binary=True,
    )
    add, seen = rebuild.add, rebuild.event_ids
    for epc, kind, zone, enter_at, exit_at, event_id in await cur.fetchall():
        add(epc, kind, zone, enter_at, exit_at)
        if event_id is not None:
            seen.add(event_id)
    return rebuild


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
    rebuild = await begin_rebuild(conn, store_id=store_id, earliest=earliest, gap_s=gap_s)
    return await store_trips(conn, rebuild.rows())


_TRIP_COLUMNS = "trip_id, store_id, epc, tag_kind, start_at, end_at, zones, visit_count"
# one array per column, in binary; zones as array literals (text), made text[] in the insert:
# formatting the literal costs a third of what dumping an array of arrays does
_TRIP_ARRAYS = (
    "%b::uuid[]",
    "%b::text[]",
    "%b::text[]",
    "%b::text[]",
    "%b::timestamptz[]",
    "%b::timestamptz[]",
    "%b::text[]",
    "%b::int4[]",
)


def text_array_literal(items: Sequence[str]) -> str:
    """A PostgreSQL array literal of ``items``, every element quoted (so any text survives)."""
    if not items:
        return "{}"
    text = "".join(items)
    if "\\" in text or '"' in text:
        items = [s.replace("\\", "\\\\").replace('"', '\\"') for s in items]
    return '{"' + '","'.join(items) + '"}'


async def store_trips(conn: AsyncConnection[Any], rows: list[tuple[object, ...]]) -> int:
    """Insert the trips (a trip already stored with the same start gets the new end and path),
    in one statement."""
    if not rows:
        return 0
    await conn.execute(
        f"INSERT INTO trip ({_TRIP_COLUMNS}) SELECT trip_id, store_id, epc, tag_kind, start_at, "
        f"end_at, zones::text[], visit_count FROM unnest({', '.join(_TRIP_ARRAYS)}) "
        f"AS r({_TRIP_COLUMNS}) "
        "ON CONFLICT (store_id, epc, start_at) DO UPDATE SET end_at = EXCLUDED.end_at, "
        "zones = EXCLUDED.zones, visit_count = EXCLUDED.visit_count",
        [list(column) for column in zip(*rows, strict=True)],
    )
    return len(rows)
