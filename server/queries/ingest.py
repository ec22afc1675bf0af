"""Ingest: a batch of wire events into the database, idempotently, zone visits through COPY."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel

from server.auth import REGISTER_SCOPED, Role
from server.errors import InvalidRequest
from server.privacy.keys import PrivacyKeys
from server.privacy.tracking import apply_to_staged
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
    RawRead,
    RowProblem,
    ZoneVisit,
)

WireEvent = RawRead | ZoneVisit | Heartbeat | CardScan

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


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Event times the server accepts: from ``max_age`` before its clock to ``max_ahead``
    after (a reader clock set to year 1 or 2099 is a fault, not a visit)."""

    now: datetime
    max_age: timedelta
    max_ahead: timedelta

    def problem(self, at: datetime) -> str | None:
        if at < self.now - self.max_age:
            return f"dated {at.isoformat()}: older than the server accepts"
        if at > self.now + self.max_ahead:
            return f"dated {at.isoformat()}: later than the server's clock allows"
        return None


def _times(event: WireEvent) -> tuple[datetime, ...]:
    if isinstance(event, ZoneVisit):
        return (event.enter_at, event.exit_at)
    if isinstance(event, Heartbeat):
        return (event.sent_at,)
    if isinstance(event, CardScan):
        return (event.scanned_at,)
    return (event.read_at,)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, BaseModel):
        return _has_nul(value.model_dump())
    return False


def row_problem(event: WireEvent, *, principal: Principal, window: TimeWindow) -> str | None:
    """Why this event of a batch cannot be stored, or None: the store and register scope of the
    credential, who may send card scans (a till's credential, never an edge device), times
    within the window, and text PostgreSQL can hold."""
    if principal.store_id is not None and event.store_id != principal.store_id:
        return f"store {event.store_id!r} is not this credential's"
    at_register = principal.role in REGISTER_SCOPED
    if isinstance(event, CardScan):
        if not at_register and principal.role is not Role.ADMIN:
            return "card scans are accepted from a register's credential only"
        if principal.register_id is not None and event.register_id != principal.register_id:
            return f"register {event.register_id!r} is not this credential's"
    elif at_register:
        return f"a register's credential sends card scans only, not {event.kind}"
    for at in _times(event):
        if (why := window.problem(at)) is not None:
            return why
    if isinstance(event, ZoneVisit) and event.exit_at < event.enter_at:
        return "exit_at is before enter_at"
    if _has_nul(event):
        return "a text field holds a NUL character"
    return None


async def ingest_batch(
    conn: AsyncConnection[Any],
    *,
    principal: Principal,
    batch: IngestBatch,
    trip_gap_s: float,
    privacy: PrivacyKeys | None = None,
    window: TimeWindow,
) -> IngestResult:
    visits: list[ZoneVisit] = []
    beats: list[Heartbeat] = []
    scans: list[CardScan] = []
    problems: list[RowProblem] = []
    if _has_nul(batch.device_id):
        raise InvalidRequest("device_id holds a NUL character")
    for index, event in enumerate(batch.events):
        why = row_problem(event, principal=principal, window=window)
        if why is not None:
            problems.append(RowProblem(index=index, event_id=event.event_id, reason=why))
        elif isinstance(event, ZoneVisit):
            visits.append(event)
        elif isinstance(event, Heartbeat):
            beats.append(event)
        elif isinstance(event, CardScan):
            scans.append(event)
        # raw reads are accepted and not stored (short-retention raw storage is optional)
    rejected = len(problems)
    accepted = duplicates = 0
    if visits:
        visits = await classify_visits(conn, visits)
        a, d = await _insert_visits(
            conn, visits, device_id=batch.device_id, gap_s=trip_gap_s, privacy=privacy
        )
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
    return IngestResult(
        accepted=accepted, duplicates=duplicates, rejected=rejected, problems=problems
    )


async def _insert_visits(
    conn: AsyncConnection[Any],
    visits: list[ZoneVisit],
    *,
    device_id: str,
    gap_s: float,
    privacy: PrivacyKeys | None,
) -> tuple[int, int]:
    await conn.execute(_STAGING)
    async with conn.cursor() as cur:
        async with cur.copy(f"COPY staging_visit ({VISIT_COLUMNS}) FROM STDIN") as copy:
            for v in visits:
                await copy.write_row(visit_row(v, device_id=device_id))
        # member cards without tracking consent go in under a pseudonym (server/privacy/)
        await apply_to_staged(conn, privacy or PrivacyKeys())
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
