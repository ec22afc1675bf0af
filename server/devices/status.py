"""Status from heartbeats, as pure functions of explicit times.

An edge beats every ``interval`` seconds. Its status by the age of its last heartbeat:
**ok** up to 1.5 intervals (a beat may arrive a little late), **silent** from ``missed``
intervals on, **late** in between. A reader's state is its own age's status (measured against
its edge's newest heartbeat, so an edge that stops reporting a reader silences that reader
while the edge itself stays ok), then what the heartbeat says: not connected, or too many frames
it could not decode.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from storeflow.api.devices import DeviceStatus, ReaderState

logger = logging.getLogger(__name__)

OK_FACTOR = 1.5  # a beat up to half an interval overdue is still ok
ERROR_RATE_LIMIT = 0.05  # more bad frames than this share of all frames: state "errors"


def device_status(last_seen: datetime, now: datetime, interval: float, missed: int) -> DeviceStatus:
    """ok, late or silent by the age of the last heartbeat (a future ``last_seen`` is ok)."""
    if interval <= 0 or missed < 1:
        raise ValueError("interval must be positive and missed at least 1")
    age = (now - last_seen).total_seconds()
    if age >= missed * interval:
        return "silent"
    if age > OK_FACTOR * interval:
        return "late"
    return "ok"


def error_rate(frames_ok: int, frames_bad: int, errors: Mapping[str, int]) -> float:
    """Bad frames as a share of all frames (the larger of the bad-frame counter and the sum of
    errors by reason, which older edges do not send)."""
    bad = max(frames_bad, sum(errors.values()))
    total = frames_ok + bad
    return bad / total if total else 0.0


def reader_state(
    *,
    reader_seen: datetime,
    edge_seen: datetime,
    edge_status: DeviceStatus,
    interval: float,
    missed: int,
    connected: bool,
    rate: float,
) -> ReaderState:
    """A reader's state: silent with its edge, silent or late when its edge's newer
    heartbeats stopped reporting it (by ``edge_seen``), else disconnected, errors or ok by what
    the last heartbeat said of it."""
    if edge_status == "silent":
        return "silent"
    own = device_status(reader_seen, edge_seen, interval, missed)
    if own != "ok":
        return own
    if not connected:
        return "disconnected"
    if rate > ERROR_RATE_LIMIT:
        return "errors"
    return "ok"
