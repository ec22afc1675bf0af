"""Waiting on the thing itself: a condition polled until a deadline, a sink of reads that can be
waited on. Tests use these instead of sleeping and hoping something has happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edge.reads import TagRead

POLL_S = 0.02


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL_S)
    return predicate()


class Collector:
    """A reads callback that keeps the reads and lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.reads: list[TagRead] = []
        self._cond = threading.Condition()

    def __call__(self, reads: list[TagRead]) -> None:
        with self._cond:
            self.reads.extend(reads)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[TagRead]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.reads) >= count, timeout)
            return list(self.reads)
