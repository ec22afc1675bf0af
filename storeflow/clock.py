"""Clocks. Production runs on the system clock; the demo runs simulated time faster than real time.

Both the simulator and the edge agent build the same :class:`ScaledClock` from the same three
numbers, so a read stamped by the edge on receipt lands at the simulated time it was emitted.
"""

from __future__ import annotations

import os
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


class FileClock:
    """Simulated time that another process sets: the number in a small text file.

    A benchmark that drives the simulated store in lock-step with an edge agent process writes
    the time with :func:`set_file_clock` (an atomic replace), and the agent reads it on every
    :meth:`now`, so the agent stamps each read with the simulated time at which it was sent,
    however late the agent gets to read it. Until the file exists the time is 0.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def now(self) -> float:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0.0
        try:
            return float(os.read(fd, 64))
        finally:
            os.close(fd)


def set_file_clock(path: str | os.PathLike[str], now: float) -> None:
    """Set the time a :class:`FileClock` on ``path`` reads (atomically: never half written)."""
    target = os.fspath(path)
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(repr(float(now)))
    os.replace(tmp, target)
