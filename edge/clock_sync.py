"""Reader clock correction: map a reader's own timestamps onto the host clock.

Reader clocks are often seconds off and drift. Every read that carries a reader timestamp gives
one sample ``reader_ts - host_ts = offset - delay`` where ``delay >= 0`` is the transport delay.
The largest sample over a recent window is therefore the best estimate of the offset (the read
that travelled fastest); a sliding window lets the estimate follow drift and clock jumps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class OffsetEstimator:
    """Windowed-maximum estimate of ``reader clock - host clock`` for one reader."""

    bucket_s: float = 10.0
    buckets: int = 6
    _maxima: deque[tuple[float, float]] = field(default_factory=deque)  # (bucket start, max)

    def observe(self, *, reader_ts: float, host_ts: float) -> None:
        sample = reader_ts - host_ts
        start = host_ts - host_ts % self.bucket_s
        if self._maxima and self._maxima[-1][0] == start:
            if sample > self._maxima[-1][1]:
                self._maxima[-1] = (start, sample)
        else:
            self._maxima.append((start, sample))
        while self._maxima and self._maxima[0][0] <= start - self.bucket_s * self.buckets:
            self._maxima.popleft()

    @property
    def offset_s(self) -> float | None:
        if not self._maxima:
            return None
        return max(m for _, m in self._maxima)

    def to_host(self, reader_ts: float) -> float:
        """The host-clock time of a reader timestamp (unchanged until a sample was seen)."""
        off = self.offset_s
        return reader_ts if off is None else reader_ts - off
