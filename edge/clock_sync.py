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
    _offset: float | None = field(default=None, init=False)  # the max of ``_maxima``, kept

    def observe(self, *, reader_ts: float, host_ts: float) -> None:
        self.correct(reader_ts, host_ts)

    def correct(self, reader_ts: float, host_ts: float) -> float:
        """Take the sample of one read and return its time on the host clock: :meth:`observe`
        then :meth:`to_host`, in one call (the tracker makes it for every read)."""
        sample = reader_ts - host_ts
        start = host_ts - host_ts % self.bucket_s
        maxima = self._maxima
        if maxima and maxima[-1][0] == start:
            # The newest bucket again: nothing can have aged out since it was opened.
            if sample > maxima[-1][1]:
                maxima[-1] = (start, sample)
                if self._offset is None or sample > self._offset:
                    self._offset = sample
        else:
            maxima.append((start, sample))
            while maxima and maxima[0][0] <= start - self.bucket_s * self.buckets:
                maxima.popleft()
            self._offset = max(m for _, m in maxima) if maxima else None
        off = self._offset
        return reader_ts if off is None else reader_ts - off

    @property
    def offset_s(self) -> float | None:
        return self._offset

    def to_host(self, reader_ts: float) -> float:
        """The host-clock time of a reader timestamp (unchanged until a sample was seen)."""
        off = self._offset
        return reader_ts if off is None else reader_ts - off
