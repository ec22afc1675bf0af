"""The store layout: floors, zones, counters, readers and which antenna covers which zone.

One YAML file per store describes it (see ``firmware_sim/stores/demo.yaml``). The server imports
it into its layout tables, the edge agent takes its antenna->zone map from it, and the simulator
places shoppers and antennas on it. Layouts change: an antenna mapping may carry ``valid_from`` /
``valid_to`` so before/after analyses can use both versions.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from storeflow.models import Frozen
from storeflow.yamlconf import load_yaml


class ZoneKind(StrEnum):
    ENTRANCE = "entrance"
    AISLE = "aisle"
    COUNTER = "counter"
    CHECKOUT = "checkout"
    EXIT = "exit"


Point = tuple[float, float]


class Store(Frozen):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    timezone: str = "UTC"
    # what the store should take per m² of a counter per month (rent plus commission); a
    # counter whose terms are known and take less is told to review its contract
    take_target_per_m2: float | None = Field(default=None, gt=0)


class Floor(Frozen):
    id: str
    name: str
    width_m: float = Field(gt=0)
    height_m: float = Field(gt=0)


class Zone(Frozen):
    code: str = Field(min_length=1, max_length=64)
    name: str
    kind: ZoneKind
    floor: str
    polygon: list[Point] = Field(min_length=3)
    adjacent: list[str] = Field(default_factory=list)

    @property
    def area_m2(self) -> float:
        """Polygon area by the shoelace formula."""
        pts = self.polygon
        twice = sum(
            pts[i][0] * pts[(i + 1) % len(pts)][1] - pts[(i + 1) % len(pts)][0] * pts[i][1]
            for i in range(len(pts))
        )
        return abs(twice) / 2.0

    @property
    def centroid(self) -> Point:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return (sum(xs) / len(xs), sum(ys) / len(ys))


class Counter(Frozen):
    """A concession or brand counter (专柜) occupying one zone, and optionally its terms with
    the store: a fixed rent per m² per month and/or a commission (the store's share of the
    counter's sales, 0.25 = 25 %)."""

    code: str
    name: str
    brand: str
    category: str
    zone: str
    area_m2: float = Field(gt=0)
    rent_per_m2: float | None = Field(default=None, ge=0, description="per m² per month")
    commission_rate: float | None = Field(default=None, description="0.25 = 25 % of sales")

    @field_validator("commission_rate")
    @classmethod
    def _a_share(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v < 1:
            raise ValueError(f"{v:g} is not a share of the sales: write 25 % as 0.25")
        return v


class Antenna(Frozen):
    port: int = Field(ge=1, le=64)
    zone: str
    position: Point
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


class Reader(Frozen):
    id: str = Field(min_length=1, max_length=64)
    protocol: Literal["r2000", "impinj_iot", "zebra_iot", "llrp"]
    floor: str
    antennas: list[Antenna] = Field(min_length=1)


class StoreLayout(Frozen):
    store: Store
    floors: list[Floor] = Field(min_length=1)
    zones: list[Zone] = Field(min_length=1)
    counters: list[Counter] = Field(default_factory=list)
    readers: list[Reader] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> StoreLayout:
        floors = {f.id for f in self.floors}
        codes = [z.code for z in self.zones]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"zone codes must be unique, repeated: {sorted(dupes)}")
        zones = set(codes)
        for z in self.zones:
            if z.floor not in floors:
                raise ValueError(f"zone {z.code!r} is on unknown floor {z.floor!r}")
            unknown = set(z.adjacent) - zones
            if unknown:
                raise ValueError(f"zone {z.code!r} is adjacent to unknown zones {sorted(unknown)}")
        for c in self.counters:
            if c.zone not in zones:
                raise ValueError(f"counter {c.code!r} is in unknown zone {c.zone!r}")
        for r in self.readers:
            if r.floor not in floors:
                raise ValueError(f"reader {r.id!r} is on unknown floor {r.floor!r}")
            for a in r.antennas:
                if a.zone not in zones:
                    raise ValueError(f"reader {r.id!r} antenna {a.port} covers unknown {a.zone!r}")
        return self

    def zone(self, code: str) -> Zone:
        for z in self.zones:
            if z.code == code:
                return z
        raise KeyError(code)

    def adjacency(self) -> dict[str, set[str]]:
        """Undirected zone adjacency (an edge listed on either side counts)."""
        graph: dict[str, set[str]] = {z.code: set() for z in self.zones}
        for z in self.zones:
            for other in z.adjacent:
                graph[z.code].add(other)
                graph[other].add(z.code)
        return graph

    def antenna_zones(self, at: datetime | None = None) -> dict[tuple[str, int], str]:
        """(reader id, antenna port) -> zone code, for the mapping valid at ``at``."""
        out: dict[tuple[str, int], str] = {}
        for r in self.readers:
            for a in r.antennas:
                if at is not None:
                    if a.valid_from is not None and at < a.valid_from:
                        continue
                    if a.valid_to is not None and at >= a.valid_to:
                        continue
                out[(r.id, a.port)] = a.zone
        return out


def load_layout(path: Path | str) -> StoreLayout:
    """Read a store layout YAML; errors name the file, line and key."""
    return load_yaml(path, StoreLayout)
