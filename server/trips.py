"""Trip assembly: one tag's zone visits -> trips (a shopper's stay, entrance to exit). Pure.

A new trip starts when
* the gap between the previous visit's exit and this visit's enter exceeds ``gap_s``
  (default 30 min, like web sessions), or
* the previous visit was in an ``exit`` zone, or
* this visit is at an ``entrance`` after the trip already reached the ``checkout`` or ``exit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from storeflow.wire import EVENT_NAMESPACE


class VisitRow(NamedTuple):
    zone: str
    enter_at: datetime
    exit_at: datetime


@dataclass(frozen=True, slots=True)
class TripRow:
    trip_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    zones: tuple[str, ...]  # the path, consecutive repeats of one zone collapsed
    visit_count: int


def trip_id(*, store_id: str, epc: str, start_at: datetime) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"trip|{store_id}|{epc}|{start_at.isoformat()}")


def assemble_trips(
    visits: Sequence[VisitRow],
    *,
    store_id: str,
    epc: str,
    zone_kinds: Mapping[str, str],
    gap_s: float = 1800.0,
) -> list[TripRow]:
    groups: list[list[VisitRow]] = []
    ends: list[datetime] = []  # per group: the latest exit of its visits
    reached_end = False
    prev_kind = ""
    for v in sorted(visits, key=_ENTER_AT):
        kind = zone_kinds.get(v.zone, "aisle")
        if groups:
            gap = (v.enter_at - ends[-1]).total_seconds()
            new = (
                gap > gap_s
                or prev_kind == "exit"
                or (kind == "entrance" and reached_end and prev_kind != "entrance")
            )
        else:
            new = True
        if new:
            groups.append([v])
            ends.append(v.exit_at)
            reached_end = False
        else:
            groups[-1].append(v)
            if v.exit_at > ends[-1]:
                ends[-1] = v.exit_at
        if kind in ("checkout", "exit"):
            reached_end = True
        prev_kind = kind
    return [_trip(g, end, store_id=store_id, epc=epc) for g, end in zip(groups, ends, strict=True)]


_ENTER_AT = itemgetter(1)  # VisitRow.enter_at, read in C


def _trip(group: list[VisitRow], end: datetime, *, store_id: str, epc: str) -> TripRow:
    path: list[str] = []
    for v in group:
        if not path or path[-1] != v.zone:
            path.append(v.zone)
    start = group[0].enter_at
    return TripRow(
        trip_id=trip_id(store_id=store_id, epc=epc, start_at=start),
        start_at=start,
        end_at=end,
        zones=tuple(path),
        visit_count=len(group),
    )
