"""Plain records the simulator passes around: simulated reads and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimRead:
    """A read the simulated reader reports. ``t`` is true simulated time (epoch seconds);
    ``reader_t`` is the same instant on the reader's own (offset, drifting) clock."""

    t: float
    reader_id: str
    antenna: int
    epc: str
    rssi_dbm: float
    reader_t: float


@dataclass(frozen=True, slots=True)
class TrueVisit:
    """Where a tag really was: zone ``zone`` from ``enter`` to ``exit`` (epoch seconds)."""

    shopper_id: int
    epc: str
    zone: str
    enter: float
    exit: float


@dataclass(frozen=True, slots=True)
class TruePurchase:
    """A purchase the simulated shopper made at a counter before checking out."""

    shopper_id: int
    epc: str
    counter: str
    amount: float
    at: float
