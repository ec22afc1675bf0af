"""In-process token buckets, one per key (a credential, a client address): pure, clock passed in.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; taking from an empty
bucket is refused with the seconds until the next token. Buckets idle long enough to be full
again are forgotten, so the table stays as small as the set of recently active keys.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, key: str, now: float) -> _Bucket:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            b = self._buckets[key] = _Bucket(tokens=float(self.burst), at=now)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
            b.at = now
        return b

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:  # still full of active keys: drop the oldest
            oldest = sorted(self._buckets.items(), key=lambda kv: kv[1].at)
            for key, _ in oldest[: len(oldest) // 2]:
                del self._buckets[key]

    def take(self, key: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds to wait (nothing is taken)."""
        now = self._clock()
        b = self._bucket(key, now)
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.rate

    def blocked(self, key: str) -> float:
        """The seconds until ``key`` may take again (0.0: it may now); takes nothing."""
        now = self._clock()
        b = self._buckets.get(key)
        if b is None:
            return 0.0
        tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
