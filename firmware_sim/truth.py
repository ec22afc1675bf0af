"""Ground truth on disk: JSON Lines, one folder per run.

``visits.jsonl`` (shoppers' true zone visits), ``staff_visits.jsonl``, ``purchases.jsonl`` and
``trips.jsonl`` (one line per shopper stay: the ordered zone sequence). Times are epoch seconds.
Files are appended to, so a live run can write its truth as it goes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from firmware_sim.model import TruePurchase, TrueVisit
from storeflow.wire import TagKind

logger = logging.getLogger(__name__)

VISITS = "visits.jsonl"
STAFF_VISITS = "staff_visits.jsonl"
PURCHASES = "purchases.jsonl"
TRIPS = "trips.jsonl"


@dataclass(frozen=True, slots=True)
class TrueTrip:
    """One shopper's stay: ``zones`` in the order walked, from ``start`` to ``end``.

    ``member`` is the member number for a member card (the card's GID-96 serial), else None.
    """

    shopper_id: int
    epc: str
    tag_kind: TagKind
    start: float
    end: float
    zones: tuple[str, ...]
    member: int | None = None


@dataclass(slots=True)
class Truth:
    """Everything the simulator knows about a period."""

    visits: list[TrueVisit] = field(default_factory=list)
    purchases: list[TruePurchase] = field(default_factory=list)
    staff_visits: list[TrueVisit] = field(default_factory=list)
    trips: list[TrueTrip] = field(default_factory=list)


def _dump(obj: Any) -> str:
    return json.dumps(asdict(obj), separators=(",", ":"))


def _append(path: Path, lines: Iterable[str]) -> int:
    n = 0
    with path.open("a", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
            n += 1
    return n


def append_truth(
    folder: Path,
    visits: Iterable[TrueVisit] = (),
    purchases: Iterable[TruePurchase] = (),
    *,
    staff_visits: Iterable[TrueVisit] = (),
    trips: Iterable[TrueTrip] = (),
) -> None:
    """Append records to the truth files in ``folder`` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = _append(folder / VISITS, map(_dump, visits))
    n += _append(folder / PURCHASES, map(_dump, purchases))
    n += _append(folder / STAFF_VISITS, map(_dump, staff_visits))
    n += _append(folder / TRIPS, map(_dump, trips))
    logger.debug("appended %d truth records to %s", n, folder)


def write_truth(folder: Path, truth: Truth) -> None:
    """Write ``truth`` to ``folder``, replacing truth files already there."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (VISITS, STAFF_VISITS, PURCHASES, TRIPS):
        (folder / name).unlink(missing_ok=True)
    append_truth(
        folder,
        truth.visits,
        truth.purchases,
        staff_visits=truth.staff_visits,
        trips=truth.trips,
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_truth_visits(folder: Path) -> list[TrueVisit]:
    return [TrueVisit(**d) for d in _lines(folder / VISITS)]


def read_truth_staff_visits(folder: Path) -> list[TrueVisit]:
    return [TrueVisit(**d) for d in _lines(folder / STAFF_VISITS)]


def read_truth_purchases(folder: Path) -> list[TruePurchase]:
    return [TruePurchase(**d) for d in _lines(folder / PURCHASES)]


def read_truth_trips(folder: Path) -> list[TrueTrip]:
    return [
        TrueTrip(
            shopper_id=int(d["shopper_id"]),
            epc=str(d["epc"]),
            tag_kind=TagKind(d["tag_kind"]),
            start=float(d["start"]),
            end=float(d["end"]),
            zones=tuple(d["zones"]),
            member=None if d.get("member") is None else int(d["member"]),
        )
        for d in _lines(folder / TRIPS)
    ]


def read_truth(folder: Path) -> Truth:
    """Everything in a truth folder (missing files read as empty)."""
    return Truth(
        visits=read_truth_visits(folder),
        purchases=read_truth_purchases(folder),
        staff_visits=read_truth_staff_visits(folder),
        trips=read_truth_trips(folder),
    )
