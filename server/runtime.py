"""The server process's Python runtime: how often the cyclic garbage collector runs.

An ingest batch of 5,000 zone visits allocates some 20,000 container objects (rows, ids,
trips) that reference counting frees on its own. With Python's default threshold (a collection
every 700 net allocations) the cyclic collector ran about 30 times per batch and took a quarter
of the server's CPU in ``storeflow bench ingest``; from 50,000 it runs a few times per batch.
Garbage in reference cycles then waits a little longer (tens of thousands of objects, a few MB).
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

GC_FIRST_THRESHOLD = 50_000


def tune_gc() -> None:
    """Raise the collector's first threshold to :data:`GC_FIRST_THRESHOLD` (never lower it)."""
    first, second, third = gc.get_threshold()
    if 0 < first < GC_FIRST_THRESHOLD:
        gc.set_threshold(GC_FIRST_THRESHOLD, second, third)
        logger.debug("garbage collector threshold %s -> %s", first, GC_FIRST_THRESHOLD)
