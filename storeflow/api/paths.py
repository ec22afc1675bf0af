"""``/stores/{store_id}/analytics/paths``: common paths, transitions, path efficiency."""

from __future__ import annotations

from storeflow.api.base import ApiModel


class PathCount(ApiModel):
    path: list[str]
    trips: int
    share: float


class Transition(ApiModel):
    source: str
    target: str
    count: int
    probability: float


class Efficiency(ApiModel):
    """Path efficiency (Hui, Fader & Bradlow 2009) over trips with a defined value."""

    trips: int
    mean_efficiency: float | None
    walked_m: float | None  # mean per trip
    shortest_m: float | None
    order_deviation_m: float | None
    travel_deviation_m: float | None


class Paths(ApiModel):
    trips: int
    top_paths: list[PathCount]
    transitions: list[Transition]
    mean_zones: float | None = None
    mean_duration_s: float | None = None
    efficiency_buyers: Efficiency | None = None
    efficiency_all: Efficiency | None = None
