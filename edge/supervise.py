"""Supervision of the edge agent's background threads: a crash is logged, counted and restarted.

One bad message, a full disk or a bug must never stop a thread for good while the health report
still says ok. :class:`Supervisor` runs every edge thread (and guards the callbacks that run on
threads the edge does not own, such as paho's network thread): an exception is logged with its
traceback, counted by thread name, and the body runs again after a short, growing pause.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RESTART_INITIAL_S = 0.1
RESTART_MAX_S = 10.0


class Supervisor:
    """Starts supervised threads and counts their crashes (``restarts``) by name."""

    def __init__(
        self, *, initial_delay_s: float = RESTART_INITIAL_S, max_delay_s: float = RESTART_MAX_S
    ) -> None:
        self.initial_delay_s = initial_delay_s
        self.max_delay_s = max_delay_s
        self._lock = threading.Lock()
        self._restarts: dict[str, int] = {}

    def restarts(self) -> dict[str, int]:
        """Crashes so far, by thread or callback name (each one was followed by a restart)."""
        with self._lock:
            return dict(self._restarts)

    def crashed(self, name: str) -> None:
        """Count one crash of ``name`` and log it with the exception being handled."""
        with self._lock:
            self._restarts[name] = self._restarts.get(name, 0) + 1
            n = self._restarts[name]
        logger.exception("%s crashed (crash %d); restarting it", name, n)

    def run(self, name: str, body: Callable[[], None], stop: threading.Event) -> None:
        """Run ``body`` until it returns or ``stop`` is set, restarting it after each crash."""
        delay = 0.0
        while not stop.is_set():
            try:
                body()
                return
            except Exception:
                self.crashed(name)
            delay = self.initial_delay_s if delay <= 0 else min(delay * 2, self.max_delay_s)
            stop.wait(delay)

    def start(self, name: str, body: Callable[[], None], stop: threading.Event) -> threading.Thread:
        """A started daemon thread running ``body`` under :meth:`run`."""
        thread = threading.Thread(target=self.run, args=(name, body, stop), name=name, daemon=True)
        thread.start()
        return thread

    def guard(self, name: str, fn: Callable[P, R], default: R) -> Callable[P, R]:
        """``fn`` wrapped so an exception is counted and logged and ``default`` returned.

        For callbacks that run on threads owned by a library (a crash there would kill it).
        """

        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception:
                self.crashed(name)
                return default

        return guarded
