"""The machine's speed for pure Python, measured beside a benchmark in the same run.

Machines of one kind differ: on one day the same 2-core machine ran the edge benchmark at
709,785 reads per CPU second, on another at 369,055, with no change to the code, and a plain
Python loop took twice as long. A committed baseline of reads per second then fails ``make
bench`` on a slow machine and hides a regression on a fast one. :func:`calibration_per_s` times a
fixed piece of the kind of work the edge does — slicing bytes, unpacking fields, hashing keys
into a dict, float arithmetic — so a benchmark can report its figure per unit of this machine's
speed (``reads_per_s / calibration_per_s``), which holds from one machine to another where the
raw figure does not.
"""

from __future__ import annotations

import struct
import time

_DATA = bytes(range(256)) * 64  # 16 KiB
_FIELDS = struct.Struct("<HHI")
LOOPS = 200_000  # one pass: ~0.1–0.2 s of CPU on this project's machines


def _work(loops: int) -> float:
    counts: dict[bytes, float] = {}
    total = 0.0
    for i in range(loops):
        at = (i * 37) & 0x3FF0
        key = _DATA[at : at + 4]
        first, second, third = _FIELDS.unpack_from(_DATA, at)
        counts[key] = counts.get(key, 0.0) + first * 0.5 - second / 3.0
        total += third % 97
    return total + len(counts)


def calibration_per_s(*, loops: int = LOOPS, repeat: int = 3) -> float:
    """Loops of the fixed work per CPU second of this process: the best of ``repeat`` passes
    (a pass that lost time to a busy machine counts less)."""
    best = 0.0
    for _ in range(max(1, repeat)):
        c0 = time.process_time()
        _work(loops)
        cpu = time.process_time() - c0
        if cpu > 0:
            best = max(best, loops / cpu)
    return best
