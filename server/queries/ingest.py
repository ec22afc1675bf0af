"""Ingest: a batch of wire events into the database, idempotently, zone visits through COPY.

Two encodings arrive: the JSON batch (:class:`~storeflow.wire.IngestBatch`, one object per event,
for any client) and the edge's columnar one (:class:`~storeflow.columns.ColumnarBatch`). Both take
the same steps: the row checks (:mod:`server.ingest_checks`, one definition each), tag
classification (:func:`server.queries.tags.classify_visits`), tracking consent on the batch's
distinct tags (:func:`server.privacy.tracking.tracking_renames`), the insert, and the trip
rebuild of the tags concerned.

The insert is idempotent (an event stored before is counted as a duplicate, never stored twice)
and optimistic: a batch sent for the first time is COPYed straight into ``zone_visit`` in a
savepoint; when the table's key refuses a visit (a retry of a batch stored before, whole or in
part), the savepoint is rolled back and the batch goes through a staging table and
``INSERT ... ON CONFLICT DO NOTHING``."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from server.errors import InvalidRequest
from server.ingest_checks import (
    TimeWindow,
    WireEvent,
    has_nul,
    row_problem,
    scope_problem,
    visit_problem,
    visits_pass,
)
from server.privacy.keys import PrivacyKeys
from server.privacy.tracking import tracking_renames
from server.queries.credentials import Principal
from server.queries.devices import record_heartbeat
from server.queries.staged import StagedVisit
from server.queries.tags import classify_visits
from server.queries.trips import TripRebuild, begin_rebuild, rebuild_trips, store_trips
from server.rollup import mark_dirty
from storeflow.columns import ColumnarBatch
from storeflow.wire import (
    SHOPPER_TAG_VALUES,
    CardScan,
    Heartbeat,
    IngestBatch,
    IngestResult,
    RowProblem,
    TagKind,
    ZoneVisit,
)

logger = logging.getLogger(__name__)

# the staging table of a batch with visits stored before (see _insert_visits)
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging_visit (
    event_id uuid, store_id text, zone text, epc text, tag_kind text,
    enter_at timestamptz, exit_at timestamptz, reads integer, mean_rssi_dbm real,
    reader_id text, device_id text
) ON COMMIT DELETE ROWS
"""
# the types of a StagedVisit's fields in the binary COPY: those of zone_visit's columns (a real
# for mean_rssi_dbm, rounded to the nearest as PostgreSQL's cast does; the row checks refuse a
# value out of its range)
_VISIT_TYPES = (
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "int4",
    "float4",
    "text",
    "text",
)

VISIT_COLUMNS = ", ".join(StagedVisit._fields)
_VISIT_KIND: str = ZoneVisit.model_fields["kind"].default
_KIND_VALUES = {k: k.value for k in TagKind}
_SHOPPER_VALUES = frozenset(SHOPPER_TAG_VALUES)
_new_tuple = tuple.__new__


def visit_row(v: ZoneVisit, *, device_id: str) -> StagedVisit:
    """A zone visit as a ``zone_visit`` row, in the order of :data:`VISIT_COLUMNS`."""
    return StagedVisit(
        v.event_id,
        v.store_id,
        v.zone,
        v.epc,
        v.tag_kind.value,
        v.enter_at,
        v.exit_at,
        v.reads,
        v.mean_rssi_dbm,
        v.reader_id,
        device_id,
    )


# -- sorting a batch into rows ----------------------------------------------------------------


@dataclass(slots=True)
class _Rows:
    """A batch sorted: visits to stage, heartbeats and card scans to store, rejected rows."""

    visits: list[StagedVisit] = field(default_factory=list)
    beats: list[Heartbeat] = field(default_factory=list)
    scans: list[CardScan] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def take(
        self,
        events: Iterable[WireEvent],
        *,
        first_index: int,
        device_id: str,
        principal: Principal,
        window: TimeWindow,
    ) -> None:
        for index, event in enumerate(events, first_index):
            why = row_problem(event, principal=principal, window=window)
            if why is not None:
                self.problems.append(RowProblem(index=index, event_id=event.event_id, reason=why))
            elif isinstance(event, ZoneVisit):
                self.visits.append(visit_row(event, device_id=device_id))
            elif isinstance(event, Heartbeat):
                self.beats.append(event)
            elif isinstance(event, CardScan):
                self.scans.append(event)
            # raw reads are accepted and not stored (short-retention raw storage is optional)


def _check_device(device_id: str) -> None:
    if has_nul(device_id):
        raise InvalidRequest("device_id holds a NUL character")


async def ingest_batch(
    conn: AsyncConnection[Any],
    *,
    principal: Principal,
    batch: IngestBatch,
    trip_gap_s: float,
    privacy: PrivacyKeys | None = None,
    window: TimeWindow,
) -> IngestResult:
    """Store a JSON batch (see the module's docstring)."""
    _check_device(batch.device_id)
    rows = _Rows()
    rows.take(
        batch.events,
        first_index=0,
        device_id=batch.device_id,
        principal=principal,
        window=window,
    )
    return await _store(conn, rows, sent_at=batch.sent_at, gap_s=trip_gap_s, privacy=privacy)


async def ingest_columns(
    conn: AsyncConnection[Any],
    *,
    principal: Principal,
    batch: ColumnarBatch,
    trip_gap_s: float,
    privacy: PrivacyKeys | None = None,
    window: TimeWindow,
) -> IngestResult:
    """Store a columnar batch: the same checks and steps as :func:`ingest_batch`, from the
    columns, without a model object per visit: a column at a time when every visit passes
    (:func:`~server.ingest_checks.visits_pass`), else row by row, for each problem's reason."""
    _check_device(batch.device_id)
    device_id = batch.device_id
    rows = _Rows()
    cols = batch.visits
    scope = {  # the scope check depends on the store only
        store_id: scope_problem(principal, store_id=store_id, kind=_VISIT_KIND)
        for store_id in set(cols.store_id)
    }
    columns = (
        cols.event_id,
        cols.store_id,
        cols.zone,
        cols.epc,
        map(_KIND_VALUES.__getitem__, cols.tag_kind),
        cols.enter_at,
        cols.exit_at,
        cols.reads,
        cols.mean_rssi_dbm,
        cols.reader_id,
        repeat(device_id),  # endless: zip stops with the columns (of one length, VisitColumns)
    )
    if not any(scope.values()) and visits_pass(
        texts=(cols.store_id, cols.zone, cols.epc, cols.reader_id),
        enter_at=cols.enter_at,
        exit_at=cols.exit_at,
        mean_rssi_dbm=cols.mean_rssi_dbm,
        window=window,
    ):  # every visit passes: the rows in one go, in C (StagedVisit(...) without keywords)
        rows.visits = list(map(_new_tuple, repeat(StagedVisit), zip(*columns, strict=False)))
    else:
        for index, row in enumerate(zip(*columns, strict=False)):
            why = scope[row[1]] or visit_problem(
                texts=(row[1], row[2], row[3], row[9]),
                enter_at=row[5],
                exit_at=row[6],
                mean_rssi_dbm=row[8],
                window=window,
            )
            if why is None:
                rows.visits.append(_new_tuple(StagedVisit, row))
            else:
                rows.problems.append(RowProblem(index=index, event_id=row[0], reason=why))
    rows.take(
        batch.events,
        first_index=len(cols),
        device_id=device_id,
        principal=principal,
        window=window,
    )
    return await _store(conn, rows, sent_at=batch.sent_at, gap_s=trip_gap_s, privacy=privacy)


# -- storing ----------------------------------------------------------------------------------


async def _store(
    conn: AsyncConnection[Any],
    rows: _Rows,
    *,
    sent_at: datetime,
    gap_s: float,
    privacy: PrivacyKeys | None,
) -> IngestResult:
    accepted = duplicates = 0
    if rows.visits:
        visits = await classify_visits(conn, rows.visits)
        a, d = await _insert_visits(conn, visits, gap_s=gap_s, privacy=privacy)
        accepted += a
        duplicates += d
    for beat in rows.beats:
        await record_heartbeat(conn, beat, uploaded_at=sent_at)
        accepted += 1
    for scan in rows.scans:
        cur = await conn.execute(
            "INSERT INTO card_scan (event_id, store_id, register_id, card_number, scanned_at, "
            "scanner) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                scan.event_id,
                scan.store_id,
                scan.register_id,
                scan.card_number,
                scan.scanned_at,
                scan.scanner,
            ),
        )
        if cur.rowcount:
            accepted += 1
            await conn.execute("SELECT pg_notify('card_scan', %s)", (scan.model_dump_json(),))
        else:
            duplicates += 1
    return IngestResult(
        accepted=accepted,
        duplicates=duplicates,
        rejected=len(rows.problems),
        problems=rows.problems,
    )


async def _insert_visits(
    conn: AsyncConnection[Any],
    visits: Sequence[StagedVisit],
    *,
    gap_s: float,
    privacy: PrivacyKeys | None,
) -> tuple[int, int]:
    # member cards without tracking consent go in under a pseudonym (server/privacy/)
    renames = await tracking_renames(conn, {v.epc for v in visits}, privacy or PrivacyKeys())
    rows = [v._replace(epc=renames[v.epc]) if v.epc in renames else v for v in visits]
    # The trips are prepared while the visits go in: the trip assembly of the stores is locked,
    # the trips of the tags from their bounds deleted and what was stored of them read before
    # the insert; the trips of the stored and the new visits are assembled in a worker thread
    # while the database takes the visits, and kept if the insert took exactly the visits
    # expected (a visit stored before is not taken again); otherwise they are rebuilt from what
    # is stored, as a rebuild after the insert does.
    shoppers = _earliest(
        (v.store_id, v.epc, v.enter_at) for v in rows if v.tag_kind in _SHOPPER_VALUES
    )
    rebuilds = {
        store_id: await begin_rebuild(
            conn, store_id=store_id, earliest=tags, gap_s=gap_s, event_ids=True
        )
        for store_id, tags in shoppers.items()
    }
    retried = _read_back(rebuilds, rows)
    assembling = asyncio.ensure_future(asyncio.to_thread(_assemble, rebuilds, shoppers, rows))
    try:
        # A batch sent for the first time goes straight into zone_visit; one with a visit
        # stored before (a retry: read back by the trip rebuild, or refused by the table's key)
        # through a staging table and an insert that skips what is stored. Either way, nothing
        # is stored twice.
        if not retried and await _copy_new(conn, rows):
            earliest = shoppers
            taken = Counter(map(_STORE_AND_TAG, rows))
        else:
            inserted = await _insert_skipping_stored(conn, rows)
            earliest = _earliest((s, e, t) for s, e, shopper, t, _ in inserted if shopper)
            taken = Counter()
            for store_id, epc, _, _, n in inserted:
                taken[(store_id, epc)] += n
    finally:
        await asyncio.wait([assembling])  # the thread's objects are the caller's again
    expected, trips = assembling.result()
    kept = {
        store_id
        for store_id, tags in shoppers.items()
        if all(taken[(store_id, e)] == expected.get((store_id, e), 0) for e in tags)
    }
    for store_id, tags in shoppers.items():
        if store_id not in kept:  # trips deleted from the bounds of ``tags``: rebuild from there
            await rebuild_trips(conn, store_id=store_id, earliest=tags, gap_s=gap_s)
    async with conn.pipeline():  # the trips and the days' marks in one round trip
        for store_id in kept:
            await store_trips(conn, trips[store_id])
        for store_id, tags in earliest.items():
            # a visit shortly after midnight may belong to a trip that started the day before
            lows = [t - timedelta(seconds=gap_s) for t in tags.values()]
            await mark_dirty(conn, store_id, [*tags.values(), *lows])
    stored = sum(taken.values())
    return stored, len(visits) - stored


_STORE_AND_TAG = itemgetter(1, 3)  # (StagedVisit.store_id, StagedVisit.epc), read in C


async def _copy_new(conn: AsyncConnection[Any], rows: Sequence[StagedVisit]) -> bool:
    """COPY the visits straight into ``zone_visit``; False, and nothing stored, when the
    table's key refuses one (stored before, or twice in the batch)."""
    await conn.execute("SAVEPOINT new_visits")
    try:
        async with (
            conn.cursor() as cur,
            cur.copy(f"COPY zone_visit ({VISIT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(_VISIT_TYPES)
            for v in rows:
                await copy.write_row(v)
    except UniqueViolation:
        await conn.execute("ROLLBACK TO SAVEPOINT new_visits")
        return False
    return True


async def _insert_skipping_stored(
    conn: AsyncConnection[Any], rows: Sequence[StagedVisit]
) -> list[tuple[str, str, bool, datetime, int]]:
    """COPY the visits to a staging table and insert those not stored yet; per stored tag: its
    store, the tag, shopper or not, its earliest new visit, how many went in."""
    await conn.execute(_STAGING)
    async with conn.cursor() as cur:
        async with cur.copy(
            f"COPY staging_visit ({VISIT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_VISIT_TYPES)
            for v in rows:
                await copy.write_row(v)
        await cur.execute(
            f"WITH ins AS (INSERT INTO zone_visit ({VISIT_COLUMNS}) "
            f"SELECT {VISIT_COLUMNS} FROM staging_visit ON CONFLICT DO NOTHING "
            "RETURNING store_id, epc, tag_kind, enter_at) "
            "SELECT store_id, epc, tag_kind = ANY(%s), min(enter_at), count(*) FROM ins "
            "GROUP BY 1, 2, 3",
            (list(SHOPPER_TAG_VALUES),),
        )
        return list(await cur.fetchall())


def _read_back(rebuilds: Mapping[str, TripRebuild], rows: Sequence[StagedVisit]) -> bool:
    """Whether a visit of the batch was read back as stored already by the trip rebuilds."""
    seen = {s: r.event_ids for s, r in rebuilds.items() if r.event_ids}
    return bool(seen) and any(v.event_id in seen[v.store_id] for v in rows if v.store_id in seen)


def _assemble(
    rebuilds: Mapping[str, TripRebuild],
    shoppers: Mapping[str, Mapping[str, datetime]],
    rows: Sequence[StagedVisit],
) -> tuple[Counter[tuple[str, str]], dict[str, list[tuple[object, ...]]]]:
    """The trips of the batch's shopper tags from what the rebuilds read and the batch's visits
    not read among them: (how many visits each tag got, the trip rows per store)."""
    expected = _add_new_visits(rebuilds, shoppers, rows)
    return expected, {store_id: r.rows() for store_id, r in rebuilds.items()}


def _earliest(rows: Iterable[tuple[str, str, datetime]]) -> dict[str, dict[str, datetime]]:
    """Per store, per tag: the earliest of the times."""
    out: dict[str, dict[str, datetime]] = {}
    for store_id, epc, at in rows:
        per_store = out.setdefault(store_id, {})
        if epc not in per_store or at < per_store[epc]:
            per_store[epc] = at
    return out


def _add_new_visits(
    rebuilds: Mapping[str, TripRebuild],
    shoppers: Mapping[str, Mapping[str, datetime]],
    rows: Sequence[StagedVisit],
) -> Counter[tuple[str, str]]:
    """Add the batch's visits of the tags being rebuilt (any kind, not read as stored already)
    to their rebuilds; how many each tag got."""
    added: Counter[tuple[str, str]] = Counter()
    for store_id, rebuild in rebuilds.items():
        tags, seen = shoppers[store_id], rebuild.event_ids
        new = [
            v
            for v in rows
            if v.store_id == store_id and v.epc in tags and not (seen and v.event_id in seen)
        ]
        rebuild.add_all(new)
        added.update(map(_STORE_AND_TAG, new))
    return added
