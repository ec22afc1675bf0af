"""Device health of a store: edges and readers with their status, alerts, data completeness.

``GET /stores/{id}/devices``, ``GET /stores/{id}/alerts`` and ``GET /stores/{id}/completeness``
(planner or admin). An edge's status comes from the age of its last heartbeat (by the edge's own
``sent_at``): **ok**, **late** (a beat overdue), **silent** (the configured number of beats
missed). A reader's state adds what the heartbeat says of it: **disconnected**, **errors** (many
frames it could not decode), or its own silence when the edge stops reporting it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from storeflow.api.base import ApiModel

DeviceStatus = Literal["ok", "late", "silent"]
ReaderState = Literal["ok", "errors", "disconnected", "late", "silent"]
Severity = Literal["critical", "warning", "info"]


class ReaderView(ApiModel):
    device_id: str
    reader_id: str
    state: ReaderState
    connected: bool
    connected_since: datetime  # when the connected flag last changed
    last_seen: datetime  # sent_at of the newest heartbeat that reported this reader
    reads_total: int
    frames_ok: int
    frames_bad: int
    bytes_skipped: int
    reconnects: int
    errors: dict[str, int]
    error_rate: float  # bad frames / all frames, 0 when none
    goods_reads: int
    clock_offset_s: float | None
    last_read_at: datetime | None


class DeviceView(ApiModel):
    device_id: str
    store_id: str
    status: DeviceStatus
    last_seen: datetime  # sent_at of its newest heartbeat
    age_s: float
    reported_status: str  # what the edge says of itself: ok or degraded
    problems: list[str]
    outbox_depth: int
    outbox_bytes: int
    outbox_held: int
    outbox_refused_writes: int
    outbox_dropped: dict[str, int]
    dead_letters: int
    rejected: dict[str, int]
    thread_restarts: dict[str, int]
    lag_s: float | None  # how long its newest heartbeat waited in the outbox before upload


class StoreDevices(ApiModel):
    store_id: str
    at: datetime
    heartbeat_interval_s: float
    missed_beats: int
    devices: list[DeviceView]
    readers: list[ReaderView]


class Alert(ApiModel):
    key: str  # stable per problem and subject: kind:device[:reader]
    kind: str
    severity: Severity
    subject: str  # the edge or reader concerned
    since: datetime
    text: str  # in plain words


class StoreAlerts(ApiModel):
    store_id: str
    at: datetime
    alerts: list[Alert]


class CompletenessHour(ApiModel):
    """One store-hour: readers that reported being connected, reads and visits stored, against
    the usual for that weekday and hour (the median of the same hour of the 4 weeks before)."""

    hour: datetime
    readers_up: int
    readers_known: int
    reads: int
    visits: int
    usual_reads: float | None
    usual_visits: float | None
    visits_ratio: float | None
    complete: bool
    note: str
