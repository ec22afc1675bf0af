"""Clocks. Production runs on the system clock; the demo runs simulated time faster than real time.

Both the simulator and the edge agent build the same :class:`ScaledClock` from the same three
numbers, so a read stamped by the edge on receipt lands at the simulated time it was emitted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


@dataclass(frozen=True, slots=True)
class ScaledClock:
    """Simulated time: ``sim_epoch + (wall - wall_start) * scale``."""

    sim_epoch: float
    wall_start: float
    scale: float = 1.0

    def now(self) -> float:
        return self.sim_epoch + (time.time() - self.wall_start) * self.scale

    def wall_delay(self, sim_seconds: float) -> float:
        """Wall-clock seconds that ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.scale
