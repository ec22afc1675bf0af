"""Device health in the database: heartbeats recorded in the edge's own time order, the store's
devices and readers with their status, and data completeness per store-hour.

A heartbeat updates ``device_heartbeat`` and ``reader_health`` only when its ``sent_at`` is newer
than what is stored: an old heartbeat replayed from an outbox never overwrites a newer state.
Each heartbeat is also kept in ``heartbeat_log`` for :data:`LOG_KEEP` (trends and "since when"),
and counted once into ``reader_hour`` (readers up per hour)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from server.devices.status import device_status, error_rate, reader_state
from storeflow.api.devices import CompletenessHour, DeviceView, ReaderView, StoreDevices
from storeflow.wire import Heartbeat

logger = logging.getLogger(__name__)

LOG_KEEP = timedelta(days=2)
TREND_WINDOW = timedelta(hours=1)  # heartbeats read for alerts (trends, since when)

_UPSERT_DEVICE = """
INSERT INTO device_heartbeat
    (device_id, store_id, sent_at, outbox_depth, readers, beat, uploaded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (device_id) DO UPDATE SET
    store_id = EXCLUDED.store_id, sent_at = EXCLUDED.sent_at, received_at = now(),
    outbox_depth = EXCLUDED.outbox_depth, readers = EXCLUDED.readers, beat = EXCLUDED.beat,
    uploaded_at = EXCLUDED.uploaded_at
WHERE EXCLUDED.sent_at > device_heartbeat.sent_at
"""

_UPSERT_READER = """
INSERT INTO reader_health AS r
    (store_id, device_id, reader_id, sent_at, connected, connected_since, reads_total, frames_ok,
     frames_bad, bytes_skipped, reconnects, errors, goods_reads, clock_offset_s, last_read_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (device_id, reader_id) DO UPDATE SET
    store_id = EXCLUDED.store_id, sent_at = EXCLUDED.sent_at, connected = EXCLUDED.connected,
    connected_since = CASE WHEN r.connected = EXCLUDED.connected THEN r.connected_since
                           ELSE EXCLUDED.sent_at END,
    reads_total = EXCLUDED.reads_total, frames_ok = EXCLUDED.frames_ok,
    frames_bad = EXCLUDED.frames_bad, bytes_skipped = EXCLUDED.bytes_skipped,
    reconnects = EXCLUDED.reconnects, errors = EXCLUDED.errors,
    goods_reads = EXCLUDED.goods_reads, clock_offset_s = EXCLUDED.clock_offset_s,
    last_read_at = EXCLUDED.last_read_at
WHERE EXCLUDED.sent_at > r.sent_at
"""

_COUNT_HOUR = """
INSERT INTO reader_hour (store_id, hour, device_id, reader_id, beats, connected_beats)
VALUES (%s, date_trunc('hour', %s::timestamptz), %s, %s, 1, %s)
ON CONFLICT (store_id, hour, device_id, reader_id) DO UPDATE SET
    beats = reader_hour.beats + 1,
    connected_beats = reader_hour.connected_beats + EXCLUDED.connected_beats
"""


async def record_heartbeat(
    conn: AsyncConnection[Any], beat: Heartbeat, *, uploaded_at: datetime
) -> None:
    """Store one heartbeat (``uploaded_at``: the ``sent_at`` of the batch that carried it)."""
    readers = {k: v.model_dump(mode="json") for k, v in beat.readers.items()}
    await conn.execute(
        _UPSERT_DEVICE,
        (
            beat.device_id,
            beat.store_id,
            beat.sent_at,
            beat.outbox_depth,
            Jsonb(readers),
            Jsonb(beat.model_dump(mode="json")),
            uploaded_at,
        ),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            _UPSERT_READER,
            [
                (
                    beat.store_id,
                    beat.device_id,
                    rid,
                    beat.sent_at,
                    r.connected,
                    beat.sent_at,
                    r.reads_total,
                    r.frames_ok,
                    r.frames_bad,
                    r.bytes_skipped,
                    r.reconnects,
                    Jsonb(r.errors),
                    r.goods_reads,
                    r.clock_offset_s,
                    r.last_read_at,
                )
                for rid, r in beat.readers.items()
            ],
        )
    cur2 = await conn.execute(
        "INSERT INTO heartbeat_log (device_id, store_id, sent_at, beat) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (beat.device_id, beat.store_id, beat.sent_at, Jsonb(beat.model_dump(mode="json"))),
    )
    if cur2.rowcount:  # a heartbeat seen before is not counted twice
        async with conn.cursor() as cur:
            await cur.executemany(
                _COUNT_HOUR,
                [
                    (beat.store_id, beat.sent_at, beat.device_id, rid, int(r.connected))
                    for rid, r in beat.readers.items()
                ],
            )
    await conn.execute(
        "DELETE FROM heartbeat_log WHERE device_id = %s AND sent_at < %s",
        (beat.device_id, beat.sent_at - LOG_KEEP),
    )


@dataclass(frozen=True)
class DeviceSnapshot:
    """What the database holds of a store's devices at one moment."""

    store_id: str
    beats: dict[str, Heartbeat]  # newest heartbeat per device
    uploaded_at: dict[str, datetime | None]
    readers: list[dict[str, Any]]  # reader_health rows
    recent: dict[str, list[Heartbeat]]  # per device, newest first, within TREND_WINDOW


async def load_snapshot(conn: AsyncConnection[Any], store_id: str, at: datetime) -> DeviceSnapshot:
    rows = await (
        await conn.execute(
            "SELECT device_id, beat, uploaded_at, store_id, sent_at, outbox_depth, readers "
            "FROM device_heartbeat WHERE store_id = %s ORDER BY device_id",
            (store_id,),
        )
    ).fetchall()
    beats: dict[str, Heartbeat] = {}
    uploaded: dict[str, datetime | None] = {}
    for device_id, beat, uploaded_at, sid, sent_at, depth, readers in rows:
        if not beat:  # stored before the whole heartbeat was kept
            beat = {
                "kind": "heartbeat",
                "event_id": "00000000-0000-0000-0000-000000000000",
                "store_id": sid,
                "device_id": device_id,
                "sent_at": sent_at.isoformat(),
                "outbox_depth": depth,
                "readers": readers,
            }
        beats[device_id] = Heartbeat.model_validate(beat)
        uploaded[device_id] = uploaded_at
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT device_id, reader_id, sent_at, connected, connected_since, reads_total, "
            "frames_ok, frames_bad, bytes_skipped, reconnects, errors, goods_reads, "
            "clock_offset_s, last_read_at FROM reader_health WHERE store_id = %s "
            "ORDER BY device_id, reader_id",
            (store_id,),
        )
        names = [d.name for d in cur.description or []]
        readers_rows = [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
    log = await (
        await conn.execute(
            "SELECT device_id, beat FROM heartbeat_log WHERE store_id = %s "
            "AND sent_at > %s AND sent_at <= %s ORDER BY device_id, sent_at DESC",
            (store_id, at - TREND_WINDOW, at),
        )
    ).fetchall()
    recent: dict[str, list[Heartbeat]] = {}
    for device_id, beat in log:
        recent.setdefault(device_id, []).append(Heartbeat.model_validate(beat))
    return DeviceSnapshot(store_id, beats, uploaded, readers_rows, recent)


def store_devices(
    snap: DeviceSnapshot, *, at: datetime, interval: float, missed: int
) -> StoreDevices:
    """The store's edges and readers with their status at ``at``."""
    devices: list[DeviceView] = []
    for device_id, b in snap.beats.items():
        up = snap.uploaded_at.get(device_id)
        devices.append(
            DeviceView(
                device_id=device_id,
                store_id=b.store_id,
                status=device_status(b.sent_at, at, interval, missed),
                last_seen=b.sent_at,
                age_s=(at - b.sent_at).total_seconds(),
                reported_status=b.status,
                problems=b.problems,
                outbox_depth=b.outbox_depth,
                outbox_bytes=b.outbox_bytes,
                outbox_held=b.outbox_held,
                outbox_refused_writes=b.outbox_refused_writes,
                outbox_dropped=b.outbox_dropped,
                dead_letters=b.dead_letters,
                rejected=b.rejected,
                thread_restarts=b.thread_restarts,
                lag_s=(up - b.sent_at).total_seconds() if up is not None else None,
            )
        )
    status = {d.device_id: d for d in devices}
    readers: list[ReaderView] = []
    for r in snap.readers:
        edge = status.get(r["device_id"])
        rate = error_rate(r["frames_ok"], r["frames_bad"], r["errors"])
        state = reader_state(
            reader_seen=r["sent_at"],
            edge_seen=edge.last_seen if edge else r["sent_at"],
            edge_status=edge.status if edge else "silent",
            interval=interval,
            missed=missed,
            connected=r["connected"],
            rate=rate,
        )
        readers.append(
            ReaderView(
                device_id=r["device_id"],
                reader_id=r["reader_id"],
                state=state,
                connected=r["connected"],
                connected_since=r["connected_since"],
                last_seen=r["sent_at"],
                reads_total=r["reads_total"],
                frames_ok=r["frames_ok"],
                frames_bad=r["frames_bad"],
                bytes_skipped=r["bytes_skipped"],
                reconnects=r["reconnects"],
                errors=r["errors"],
                error_rate=rate,
                goods_reads=r["goods_reads"],
                clock_offset_s=r["clock_offset_s"],
                last_read_at=r["last_read_at"],
            )
        )
    return StoreDevices(
        store_id=snap.store_id,
        at=at,
        heartbeat_interval_s=interval,
        missed_beats=missed,
        devices=devices,
        readers=readers,
    )


_COMPLETENESS = """
WITH hours AS (
    SELECT generate_series(date_trunc('hour', %(start)s::timestamptz),
                           %(end)s::timestamptz - interval '1 microsecond',
                           interval '1 hour') AS hour
), first_visit AS (
    SELECT date_trunc('hour', min(enter_at)) AS at FROM zone_visit WHERE store_id = %(store)s
), obs AS (
    SELECT date_trunc('hour', enter_at) AS hour, count(*) AS visits, sum(reads) AS reads
    FROM zone_visit
    WHERE store_id = %(store)s AND enter_at >= %(start)s::timestamptz - interval '28 days'
      AND enter_at < %(end)s
    GROUP BY 1
), up AS (
    SELECT hour, count(*) FILTER (WHERE connected_beats > 0) AS up
    FROM reader_hour
    WHERE store_id = %(store)s AND hour >= date_trunc('hour', %(start)s::timestamptz)
      AND hour < %(end)s
    GROUP BY 1
)
SELECT h.hour, coalesce(up.up, 0)::int,
       (SELECT count(*) FROM reader_health WHERE store_id = %(store)s)::int,
       coalesce(o.reads, 0)::bigint, coalesce(o.visits, 0)::bigint,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(p.reads, 0))
          FROM generate_series(1, 4) AS w(n)
          LEFT JOIN obs p ON p.hour = h.hour - w.n * interval '7 days'
          WHERE h.hour - w.n * interval '7 days' >= (SELECT at FROM first_visit)),
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(p.visits, 0))
          FROM generate_series(1, 4) AS w(n)
          LEFT JOIN obs p ON p.hour = h.hour - w.n * interval '7 days'
          WHERE h.hour - w.n * interval '7 days' >= (SELECT at FROM first_visit))
FROM hours h LEFT JOIN obs o ON o.hour = h.hour LEFT JOIN up ON up.hour = h.hour
ORDER BY h.hour
"""

LOW_SHARE = 0.5  # visits below half the usual for the hour: incomplete


def completeness_verdict(
    *, readers_up: int, readers_known: int, visits: int, usual_visits: float | None
) -> tuple[bool, float | None, str]:
    """Whether an hour's data looks complete, its visits against the usual, and why not."""
    ratio = visits / usual_visits if usual_visits else None
    notes = []
    if readers_up < readers_known:
        notes.append(f"{readers_known - readers_up} of {readers_known} readers not connected")
    if ratio is not None and ratio < LOW_SHARE:
        notes.append(f"visits {ratio:.0%} of the usual for this hour")
    if usual_visits is None:
        notes.append("no usual yet (fewer than one earlier week)")
    complete = readers_up >= readers_known and (ratio is None or ratio >= LOW_SHARE)
    return complete, ratio, "; ".join(notes) or "complete"


async def completeness(
    conn: AsyncConnection[Any], store_id: str, start: datetime, end: datetime
) -> list[CompletenessHour]:
    """Per hour in [start, end): readers up, reads and visits against the median of the same
    weekday-hour over the 4 weeks before (weeks before the store's first visit left out)."""
    rows = await (
        await conn.execute(_COMPLETENESS, {"store": store_id, "start": start, "end": end})
    ).fetchall()
    out = []
    for hour, up, known, reads, visits, usual_reads, usual_visits in rows:
        complete, ratio, note = completeness_verdict(
            readers_up=up, readers_known=known, visits=visits, usual_visits=usual_visits
        )
        out.append(
            CompletenessHour(
                hour=hour,
                readers_up=up,
                readers_known=known,
                reads=reads,
                visits=visits,
                usual_reads=usual_reads,
                usual_visits=usual_visits,
                visits_ratio=ratio,
                complete=complete,
                note=note,
            )
        )
    return out


async def unknown_tag_counts(
    conn: AsyncConnection[Any], store_id: str, at: datetime
) -> tuple[int, float, datetime | None]:
    """Unknown tags first seen in the hour before ``at``, the usual per hour over the week
    before that, and when the newest ones began."""
    row = await (
        await conn.execute(
            "SELECT count(*) FILTER (WHERE first_seen > %(at)s - interval '1 hour'), "
            "count(*) FILTER (WHERE first_seen <= %(at)s - interval '1 hour'), "
            "min(first_seen) FILTER (WHERE first_seen > %(at)s - interval '1 hour') "
            "FROM unknown_tag WHERE store_id = %(store)s "
            "AND first_seen > %(at)s - interval '169 hours' AND first_seen <= %(at)s",
            {"store": store_id, "at": at},
        )
    ).fetchone()
    if row is None:
        return 0, 0.0, None
    return int(row[0]), int(row[1]) / 168.0, row[2]
