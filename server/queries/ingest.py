"""Ingest: a batch of wire events into the database, idempotently, zone visits through COPY."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.queries.credentials import Principal
from server.queries.devices import record_heartbeat
from server.queries.tags import classify_visits
from server.queries.trips import rebuild_trips
from server.rollup import mark_dirty
from storeflow.wire import (
    SHOPPER_TAG_KINDS,
    CardScan,
    Heartbeat,
    IngestBatch,
    IngestResult,
    ZoneVisit,
)

logger = logging.getLogger(__name__)

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging_visit (
    event_id uuid, store_id text, zone text, epc text, tag_kind text,
    enter_at timestamptz, exit_at timestamptz, reads integer, mean_rssi_dbm real,
    reader_id text, device_id text
) ON COMMIT DELETE ROWS
"""

VISIT_COLUMNS = (
    "event_id, store_id, zone, epc, tag_kind, enter_at, exit_at, reads, mean_rssi_dbm, "
    "reader_id, device_id"
)


def visit_row(v: ZoneVisit, *, device_id: str) -> tuple[object, ...]:
    """A zone visit as a ``zone_visit`` row, in the order of :data:`VISIT_COLUMNS`."""
    return (
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


async def ingest_batch(
    conn: AsyncConnection[Any], *, principal: Principal, batch: IngestBatch, trip_gap_s: float
) -> IngestResult:
    visits: list[ZoneVisit] = []
    beats: list[Heartbeat] = []
    scans: list[CardScan] = []
    rejected = 0
    for event in batch.events:
        if principal.store_id is not None and event.store_id != principal.store_id:
            rejected += 1
        elif isinstance(event, ZoneVisit):
            if event.exit_at < event.enter_at:
                rejected += 1
            else:
                visits.append(event)
        elif isinstance(event, Heartbeat):
            beats.append(event)
        elif isinstance(event, CardScan):
            scans.append(event)
        # raw reads are accepted and not stored (short-retention raw storage is optional)
    accepted = duplicates = 0
    if visits:
        visits = await classify_visits(conn, visits)
        a, d = await _insert_visits(conn, visits, device_id=batch.device_id, gap_s=trip_gap_s)
        accepted += a
        duplicates += d
    for beat in beats:
        await record_heartbeat(conn, beat, uploaded_at=batch.sent_at)
        accepted += 1
    for scan in scans:
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
    return IngestResult(accepted=accepted, duplicates=duplicates, rejected=rejected)


async def _insert_visits(
    conn: AsyncConnection[Any], visits: list[ZoneVisit], *, device_id: str, gap_s: float
) -> tuple[int, int]:
    await conn.execute(_STAGING)
    async with conn.cursor() as cur:
        async with cur.copy(f"COPY staging_visit ({VISIT_COLUMNS}) FROM STDIN") as copy:
            for v in visits:
                await copy.write_row(visit_row(v, device_id=device_id))
        await cur.execute(
            f"INSERT INTO zone_visit ({VISIT_COLUMNS}) SELECT {VISIT_COLUMNS} FROM staging_visit "
            "ON CONFLICT DO NOTHING RETURNING store_id, epc, tag_kind, enter_at"
        )
        inserted = await cur.fetchall()
    earliest: dict[str, dict[str, datetime]] = {}
    shopper = {k.value for k in SHOPPER_TAG_KINDS}
    for store_id, epc, kind, enter_at in inserted:
        if kind not in shopper:
            continue
        per_store = earliest.setdefault(store_id, {})
        if epc not in per_store or enter_at < per_store[epc]:
            per_store[epc] = enter_at
    for store_id, tags in earliest.items():
        await rebuild_trips(conn, store_id=store_id, earliest=tags, gap_s=gap_s)
        # a visit shortly after midnight may belong to a trip that started the day before
        lows = [t - timedelta(seconds=gap_s) for t in tags.values()]
        await mark_dirty(conn, store_id, [*tags.values(), *lows])
    return len(inserted), len(visits) - len(inserted)
