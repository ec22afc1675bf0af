"""The gate every tag read passes before the tracker: values checked where they enter the edge.

Decoders are lenient about layout (vendors vary), so a read can still carry a value no event may
hold: an RSSI of NaN or 1e999, an EPC the wire schema rejects, an antenna number with 400 digits,
a reader clock decades off. Such a value would otherwise reach the outbox, fail there and stop
everything behind it. :class:`ReadGate` drops the read (or only its reader timestamp), counting
each by reason for the health report.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable

from edge.reads import TagRead

logger = logging.getLogger(__name__)

EPC_PATTERN = re.compile(r"[0-9A-F]{8,64}")  # the wire schema's EPC rule, whole 16-bit words
RSSI_MIN_DBM = -150.0
RSSI_MAX_DBM = 30.0
ANTENNA_MAX = 64
EARLIEST_TS = 946_684_800.0  # 2000-01-01: no host clock or reader clock is before this
LATEST_TS = 4_102_444_800.0  # 2100-01-01
MAX_READER_SKEW_S = 86_400.0  # a reader clock further off than a day is not corrected, ignored


def reject_reason(read: TagRead) -> str | None:
    """Why ``read`` cannot enter the edge (None: it can)."""
    epc = read.epc
    if not isinstance(epc, str) or len(epc) % 4 or not EPC_PATTERN.fullmatch(epc):
        return "epc"
    antenna = read.antenna
    if not isinstance(antenna, int) or not 1 <= antenna <= ANTENNA_MAX:
        return "antenna"
    rssi = read.rssi_dbm
    if not isinstance(rssi, float | int) or not RSSI_MIN_DBM <= rssi <= RSSI_MAX_DBM:
        return "rssi"  # NaN fails both comparisons
    host_ts = read.host_ts
    if not isinstance(host_ts, float | int) or not EARLIEST_TS <= host_ts <= LATEST_TS:
        return "host_time"
    return None


def reader_time_ok(read: TagRead) -> bool:
    """Whether the reader's own timestamp is usable (absent counts as usable)."""
    ts = read.reader_ts
    if ts is None:
        return True
    return (
        isinstance(ts, float | int)
        and math.isfinite(ts)
        and abs(ts - read.host_ts) <= (MAX_READER_SKEW_S)
    )


class ReadGate:
    """Thread-safe filter in front of the tracker; ``rejected`` counts by reason.

    Reasons: ``epc``, ``antenna``, ``rssi``, ``host_time`` (read dropped) and ``reader_time``
    (the reader's timestamp was absurd: dropped, the read kept on host time).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rejected: dict[str, int] = {}

    def rejected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._rejected)

    def admit(self, reads: Iterable[TagRead]) -> list[TagRead]:
        out: list[TagRead] = []
        for read in reads:
            reason = reject_reason(read)
            if reason is None and not reader_time_ok(read):
                read = TagRead(read.reader_id, read.antenna, read.epc, read.rssi_dbm, read.host_ts)
                self._count("reader_time", read)
            if reason is not None:
                self._count(reason, read)
                continue
            out.append(read)
        return out

    def _count(self, reason: str, read: TagRead) -> None:
        with self._lock:
            n = self._rejected[reason] = self._rejected.get(reason, 0) + 1
        if n == 1 or n % 1000 == 0:
            logger.warning(
                "reader %s: rejected a read with a bad %s (%d so far), EPC %.40s",
                read.reader_id,
                reason,
                n,
                read.epc if isinstance(read.epc, str) else "?",
            )
