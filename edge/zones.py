"""Which zone an antenna covers, and when (layouts change: mappings have validity periods)."""

from __future__ import annotations

from dataclasses import dataclass

from storeflow.layout import StoreLayout


@dataclass(frozen=True, slots=True)
class _Span:
    zone: str
    start: float  # epoch seconds, -inf when open
    end: float  # epoch seconds, +inf when open


class AntennaMap:
    """Callable ``(reader_id, antenna, t) -> zone | None`` built from a store layout."""

    def __init__(self, spans: dict[tuple[str, int], list[_Span]]) -> None:
        self._spans = spans
        # Fast path: antennas with a single, open-ended mapping.
        self.fixed: dict[tuple[str, int], str] = {
            key: s[0].zone
            for key, s in spans.items()
            if len(s) == 1 and s[0].start == float("-inf") and s[0].end == float("inf")
        }

    @classmethod
    def from_layout(cls, layout: StoreLayout) -> AntennaMap:
        spans: dict[tuple[str, int], list[_Span]] = {}
        for reader in layout.readers:
            for ant in reader.antennas:
                start = ant.valid_from.timestamp() if ant.valid_from else float("-inf")
                end = ant.valid_to.timestamp() if ant.valid_to else float("inf")
                spans.setdefault((reader.id, ant.port), []).append(_Span(ant.zone, start, end))
        return cls(spans)

    def __call__(self, reader_id: str, antenna: int, t: float) -> str | None:
        key = (reader_id, antenna)
        zone = self.fixed.get(key)
        if zone is not None:
            return zone
        for span in self._spans.get(key, ()):
            if span.start <= t < span.end:
                return span.zone
        return None

    def readers(self) -> set[str]:
        return {r for r, _ in self._spans}
