"""Alerts for store IT, as a pure function of a device snapshot and explicit thresholds.

Each alert names its subject (an edge, or an edge's reader), a severity, since when it holds
(as far back as the heartbeats kept for trends show), and says what is wrong in plain words."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storeflow.api.devices import Alert, Severity, StoreDevices
from storeflow.wire import Heartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertLimits:
    clock_offset_s: float = 5.0  # a reader's clock this far off the edge's
    edge_lag_s: float = 300.0  # a heartbeat waited this long in the outbox before upload
    outbox_growth_beats: int = 4  # the outbox grew at each of this many heartbeats in a row
    unknown_tags_per_hour: int = 50  # new unknown tags in the last hour (and 3x the usual)


def _since(
    recent: Sequence[Heartbeat], holds: Callable[[Heartbeat], bool], default: datetime
) -> datetime:
    """The oldest heartbeat of the newest run of heartbeats (newest first) where ``holds``."""
    since = default
    for b in recent:
        if not holds(b):
            break
        since = b.sent_at
    return since


def _growing(recent: Sequence[Heartbeat], beats: int) -> datetime | None:
    """When the outbox began growing at every heartbeat, if it grew at the last ``beats``."""
    run = 0
    since: datetime | None = None
    for newer, older in zip(recent, recent[1:], strict=False):
        if newer.outbox_depth <= older.outbox_depth:
            break
        run += 1
        since = older.sent_at
    return since if run >= beats else None


def device_alerts(
    devices: StoreDevices,
    recent: dict[str, list[Heartbeat]],
    limits: AlertLimits,
    *,
    new_unknown_tags: int = 0,
    usual_unknown_tags: float = 0.0,
    unknown_since: datetime | None = None,
) -> list[Alert]:
    """Every alert for the store, most severe first. ``recent``: per device, its heartbeats
    newest first; ``new_unknown_tags``: unknown tags first seen in the last hour, against the
    ``usual_unknown_tags`` per hour."""
    out: list[Alert] = []
    interval = devices.heartbeat_interval_s

    def add(kind: str, severity: Severity, subject: str, since: datetime, text: str) -> None:
        out.append(
            Alert(
                key=f"{kind}:{subject}",
                kind=kind,
                severity=severity,
                subject=subject,
                since=since,
                text=text,
            )
        )

    for d in devices.devices:
        beats = recent.get(d.device_id, [])
        e = d.device_id
        if d.status == "silent":
            add(
                "edge_silent",
                "critical",
                e,
                d.last_seen,
                f"Edge {e} has sent nothing for {_ago(d.age_s)} (a heartbeat is due every "
                f"{interval:g} s). Check its power and network.",
            )
            continue  # what it said last is old news
        if d.status == "late":
            add(
                "edge_late",
                "warning",
                e,
                d.last_seen,
                f"Edge {e}'s heartbeat is overdue ({_ago(d.age_s)} since the last).",
            )
        if d.outbox_held or (d.outbox_refused_writes and _refusing(beats)):
            add(
                "outbox_refusing",
                "critical",
                e,
                _since(beats, lambda b: b.outbox_held > 0, d.last_seen),
                f"Edge {e} cannot write to its outbox on disk ({d.outbox_held} events held in "
                f"memory, {d.outbox_refused_writes} writes refused). Check its disk.",
            )
        grow = _growing(beats, limits.outbox_growth_beats)
        if grow is not None:
            add(
                "outbox_growing",
                "warning",
                e,
                grow,
                f"Edge {e}'s outbox keeps growing ({d.outbox_depth} events waiting): it sends "
                "less than it collects. Check its connection to the server.",
            )
        if d.dead_letters:
            add(
                "dead_letters",
                "warning",
                e,
                _since(beats, lambda b: b.dead_letters > 0, d.last_seen),
                f"Edge {e} set aside {d.dead_letters} events the server would not take "
                "(dead letters). They are not counted until someone looks at them.",
            )
        if d.lag_s is not None and d.lag_s > limits.edge_lag_s:
            add(
                "edge_lag",
                "warning",
                e,
                d.last_seen,
                f"Edge {e}'s data reaches the server {_ago(d.lag_s)} late.",
            )
    for r in devices.readers:
        subject = f"{r.device_id}/{r.reader_id}"
        if r.state == "silent":
            add(
                "reader_silent",
                "critical",
                subject,
                r.last_seen,
                f"Reader {r.reader_id} on edge {r.device_id} has not been reported since "
                f"{r.last_seen:%Y-%m-%d %H:%M:%S} UTC.",
            )
        elif r.state == "disconnected":
            add(
                "reader_disconnected",
                "critical",
                subject,
                r.connected_since,
                f"Reader {r.reader_id} on edge {r.device_id} is disconnected since "
                f"{r.connected_since:%Y-%m-%d %H:%M:%S} UTC. Check its cable and power.",
            )
        elif r.state == "errors":
            add(
                "reader_errors",
                "warning",
                subject,
                r.last_seen,
                f"Reader {r.reader_id} on edge {r.device_id}: {r.error_rate:.0%} of its frames "
                "could not be decoded. Check the cable and the reader's settings.",
            )
        if r.clock_offset_s is not None and abs(r.clock_offset_s) > limits.clock_offset_s:
            add(
                "clock_offset",
                "warning",
                subject,
                r.last_seen,
                f"Reader {r.reader_id}'s clock is {abs(r.clock_offset_s):.0f} s off its edge's.",
            )
    if (
        unknown_since is not None
        and new_unknown_tags >= limits.unknown_tags_per_hour
        and new_unknown_tags >= 3 * usual_unknown_tags
    ):
        add(
            "unknown_tags",
            "info",
            devices.store_id,
            unknown_since,
            f"{new_unknown_tags} tags the store does not know appeared in the last hour "
            f"(usually {usual_unknown_tags:.0f}). See the unknown tags list to register them.",
        )
    rank = {"critical": 0, "warning": 1, "info": 2}
    out.sort(key=lambda a: (rank[a.severity], a.since, a.key))
    return out


def _refusing(beats: Sequence[Heartbeat]) -> bool:
    """Writes were refused since the heartbeat before (the counter is cumulative)."""
    return len(beats) >= 2 and beats[0].outbox_refused_writes > beats[1].outbox_refused_writes


def _ago(seconds: float) -> str:
    s = max(seconds, 0.0)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
