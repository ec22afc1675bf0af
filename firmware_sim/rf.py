"""The radio world: true visits in, the reads fixed readers would report out.

Model, per visit of a tag in zone Z from ``enter`` to ``exit`` (dwell D):

* Standing point: the tag is at one random point P of Z's polygon for the visit.
* Own antenna(s): every antenna mapped to Z at the visit's start (``valid_from``/``valid_to``
  honoured) reports the tag as a Poisson process at ``read_rate_hz`` (readers are set to report
  a tag at most about that often), thinned by ``miss_rate``: N ~ Poisson(rate x (1 - miss) x D)
  reads at uniform times in [enter, exit).
* RSSI: ``-40 dBm - 20 log10(d)`` with d the distance from P to the antenna in metres (at
  least 1 m), plus Gaussian noise of sd ``rssi_noise_db``; clipped to [-100, -20] dBm and
  rounded to 0.1 dB.
* Cross-reads: antennas of the zones adjacent to Z see the tag too, in total
  ``cross_read_rate`` times as often as the own antenna (spread evenly over them), with RSSI
  from their own distance to P, ``cross_read_penalty_db`` (+-2 dB) weaker.
* Reader clocks: each reader's clock is off by a fixed offset (uniform within
  +-``clock_offset_s``) and drifts (uniform within +-``clock_drift_ppm``):
  ``reader_t = t + offset + drift x (t - epoch)``. ``t`` stays the true time.
* Disconnects: each reader drops out as a Poisson process of ``disconnects_per_hour``, each
  outage exponentially long with mean ``disconnect_s``; reads during an outage are lost.

Reads come out in time order. Visits must arrive sorted by ``enter``; reads are drawn per visit
with numpy, kept in a pending buffer, and released (sorted) up to the next visit's ``enter``
once the buffer spans ``window_s`` — no later visit can add a read before that — so weeks of
history stream in bounded memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.model import SimRead, TrueVisit
from firmware_sim.scenario import RfProfile
from storeflow.layout import Point, StoreLayout

logger = logging.getLogger(__name__)

WINDOW_S = 600.0
RSSI_AT_1M_DBM = -40.0
PATH_LOSS_EXPONENT = 2.0
RSSI_MIN_DBM, RSSI_MAX_DBM = -100.0, -20.0
CROSS_PENALTY_SPREAD_DB = 2.0


@dataclass(frozen=True, slots=True)
class ReaderClock:
    """A reader's own clock: ``offset_s`` off at ``epoch``, running ``drift`` (ratio) fast."""

    offset_s: float = 0.0
    drift: float = 0.0
    epoch: float = 0.0

    def reader_time(self, t: float) -> float:
        return t + self.offset_s + self.drift * (t - self.epoch)


def draw_reader_clocks(
    layout: StoreLayout, rf: RfProfile, rng: np.random.Generator, *, epoch: float
) -> dict[str, ReaderClock]:
    """A clock per reader with offset and drift drawn uniformly within the profile's limits."""
    out: dict[str, ReaderClock] = {}
    for r in layout.readers:
        offset = float(rng.uniform(-rf.clock_offset_s, rf.clock_offset_s))
        drift = float(rng.uniform(-rf.clock_drift_ppm, rf.clock_drift_ppm)) * 1e-6
        out[r.id] = ReaderClock(offset_s=offset, drift=drift, epoch=epoch)
    return out


def rssi_at(distance_m: float) -> float:
    """Mean RSSI in dBm of a tag ``distance_m`` from an antenna (free-space-like fall-off)."""
    return RSSI_AT_1M_DBM - 10.0 * PATH_LOSS_EXPONENT * math.log10(max(distance_m, 1.0))


def point_in_polygon(x: float, y: float, polygon: list[Point]) -> bool:
    """Even-odd rule."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def sample_point(polygon: list[Point], rng: np.random.Generator) -> Point:
    """A uniform random point inside ``polygon`` (rejection sampling in its bounding box; the
    vertex mean if that keeps missing, e.g. for a sliver)."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    for _ in range(20):
        x, y = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        if point_in_polygon(x, y, polygon):
            return (x, y)
    return (sum(xs) / len(xs), sum(ys) / len(ys))


@dataclass(frozen=True, slots=True)
class _Antenna:
    index: int
    reader: int  # index into the reader ids
    port: int
    x: float
    y: float
    valid_from: float
    valid_to: float

    def active(self, t: float) -> bool:
        return self.valid_from <= t < self.valid_to


class _Geometry:
    """Antennas, zone polygons and neighbours of a layout, indexed for per-visit use."""

    def __init__(self, layout: StoreLayout) -> None:
        self.reader_ids = [r.id for r in layout.readers]
        self.antennas: list[_Antenna] = []
        self.own: dict[str, list[_Antenna]] = {z.code: [] for z in layout.zones}
        for ri, r in enumerate(layout.readers):
            for a in r.antennas:
                ant = _Antenna(
                    index=len(self.antennas),
                    reader=ri,
                    port=a.port,
                    x=a.position[0],
                    y=a.position[1],
                    valid_from=a.valid_from.timestamp() if a.valid_from else -math.inf,
                    valid_to=a.valid_to.timestamp() if a.valid_to else math.inf,
                )
                self.antennas.append(ant)
                self.own[a.zone].append(ant)
        self.polygons = {z.code: z.polygon for z in layout.zones}
        adj = layout.adjacency()
        self.cross: dict[str, list[_Antenna]] = {
            z: [a for n in sorted(adj[z]) for a in self.own[n]] for z in adj
        }
        self.antenna_reader = np.array([a.reader for a in self.antennas], dtype=np.int64)
        self.antenna_port_array = np.array([a.port for a in self.antennas], dtype=np.int64)


_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)


def _visit_reads(
    v: TrueVisit, geo: _Geometry, rf: RfProfile, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, antenna indexes, rssi) of one visit, unsorted."""
    dur = v.exit - v.enter
    own = [a for a in geo.own.get(v.zone, ()) if a.active(v.enter)]
    cross: list[_Antenna] = []
    if rf.cross_read_rate > 0:
        cross = [a for a in geo.cross.get(v.zone, ()) if a.active(v.enter)]
    ants = own + cross
    if dur <= 0 or not ants:
        return _EMPTY_F, _EMPTY_I, _EMPTY_F
    keep = 1.0 - rf.miss_rate
    rates = [rf.read_rate_hz * keep] * len(own)
    if cross:
        per_cross = rf.read_rate_hz * keep * rf.cross_read_rate * max(len(own), 1) / len(cross)
        rates += [per_cross] * len(cross)
    px, py = sample_point(geo.polygons[v.zone], rng)
    counts = rng.poisson(np.asarray(rates) * dur)
    total = int(counts.sum())
    if total == 0:
        return _EMPTY_F, _EMPTY_I, _EMPTY_F
    mean = np.array([rssi_at(math.hypot(px - a.x, py - a.y)) for a in ants])
    mean[len(own) :] -= rf.cross_read_penalty_db
    which = np.repeat(np.arange(len(ants)), counts)
    times = v.enter + rng.random(total) * dur
    rssi = mean[which]
    if rf.rssi_noise_db > 0:
        rssi = rssi + rng.normal(0.0, rf.rssi_noise_db, total)
    n_cross = int(counts[len(own) :].sum())
    if n_cross:
        is_cross = which >= len(own)
        rssi[is_cross] += rng.uniform(-CROSS_PENALTY_SPREAD_DB, CROSS_PENALTY_SPREAD_DB, n_cross)
    index = np.array([a.index for a in ants], dtype=np.int64)[which]
    return times, index, np.clip(rssi, RSSI_MIN_DBM, RSSI_MAX_DBM)


class _Outages:
    """Per reader, outage intervals drawn as time goes on (a Poisson process of starts)."""

    def __init__(self, readers: int, rf: RfProfile, rng: np.random.Generator) -> None:
        self.rf = rf
        self.rng = rng
        self.next_start: list[float | None] = [None] * readers
        self.intervals: list[list[tuple[float, float]]] = [[] for _ in range(readers)]

    def keep_mask(self, reader: np.ndarray, t: np.ndarray) -> np.ndarray:
        """False for reads (sorted ``t``) that fall in an outage of their reader."""
        keep = np.ones(len(t), dtype=bool)
        rate = self.rf.disconnects_per_hour
        if rate <= 0 or len(t) == 0:
            return keep
        lo, hi = float(t[0]), float(t[-1])
        mean_gap = 3600.0 / rate
        for r in range(len(self.next_start)):
            start = self.next_start[r]
            if start is None:
                start = lo + float(self.rng.exponential(mean_gap))
            while start <= hi:
                length = float(self.rng.exponential(self.rf.disconnect_s))
                self.intervals[r].append((start, start + length))
                logger.debug("reader #%d down for %.1f s at %.0f", r, length, start)
                start += length + float(self.rng.exponential(mean_gap))
            self.next_start[r] = start
            self.intervals[r] = [iv for iv in self.intervals[r] if iv[1] > lo]
            if self.intervals[r]:
                mine = reader == r
                for s, e in self.intervals[r]:
                    keep &= ~(mine & (t >= s) & (t < e))
        return keep


class _Buffer:
    """Reads drawn but not yet released, as numpy chunks."""

    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.a: list[np.ndarray] = []
        self.r: list[np.ndarray] = []
        self.e: list[np.ndarray] = []

    def add(self, t: np.ndarray, a: np.ndarray, r: np.ndarray, e: np.ndarray) -> None:
        self.t.append(t)
        self.a.append(a)
        self.r.append(r)
        self.e.append(e)

    def take_before(self, upto: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Remove and return the reads before ``upto``, sorted by time."""
        if not self.t:
            return _EMPTY_F, _EMPTY_I, _EMPTY_F, _EMPTY_I
        t = np.concatenate(self.t)
        a = np.concatenate(self.a)
        r = np.concatenate(self.r)
        e = np.concatenate(self.e)
        order = np.argsort(t, kind="stable")
        t, a, r, e = t[order], a[order], r[order], e[order]
        cut = int(np.searchsorted(t, upto, side="left"))
        self.t, self.a, self.r, self.e = [], [], [], []
        if cut < len(t):
            self.add(t[cut:], a[cut:], r[cut:], e[cut:])
        return t[:cut], a[:cut], r[:cut], e[:cut]


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """Reads in time order as columns, one row per read: what :func:`generate_reads` yields one
    :class:`SimRead` at a time, without an object per read (the back-fill encodes them for the
    readers' wire formats a block at a time).

    ``reader`` indexes ``reader_ids``; ``epc`` indexes ``epcs``, a list that only grows over
    one stream (an index keeps its EPC)."""

    t: np.ndarray  # float64, true simulated time
    reader: np.ndarray  # int64
    antenna: np.ndarray  # int64, the antenna port
    epc: np.ndarray  # int64
    rssi_dbm: np.ndarray  # float64, rounded to 0.1 dB
    reader_t: np.ndarray  # float64, the same instants on the reader's clock
    reader_ids: Sequence[str]
    epcs: Sequence[str]

    def __len__(self) -> int:
        return len(self.t)

    def reads(self) -> Iterator[SimRead]:
        """The block's reads as :class:`SimRead` records."""
        ids, epcs = self.reader_ids, self.epcs
        for ts, ri, port, ei, rs, rt in zip(
            self.t.tolist(),
            self.reader.tolist(),
            self.antenna.tolist(),
            self.epc.tolist(),
            self.rssi_dbm.tolist(),
            self.reader_t.tolist(),
            strict=True,
        ):
            yield SimRead(
                t=ts, reader_id=ids[ri], antenna=port, epc=epcs[ei], rssi_dbm=rs, reader_t=rt
            )


def generate_reads(
    visits: Iterable[TrueVisit],
    layout: StoreLayout,
    rf: RfProfile,
    rng: np.random.Generator,
    reader_clock: Mapping[str, ReaderClock],
    *,
    window_s: float = WINDOW_S,
) -> Iterator[SimRead]:
    """Reads of ``visits`` (sorted by ``enter``) in time order; see the module docstring.

    A reader missing from ``reader_clock`` keeps true time."""
    for block in generate_read_blocks(visits, layout, rf, rng, reader_clock, window_s=window_s):
        yield from block.reads()


def generate_read_blocks(
    visits: Iterable[TrueVisit],
    layout: StoreLayout,
    rf: RfProfile,
    rng: np.random.Generator,
    reader_clock: Mapping[str, ReaderClock],
    *,
    window_s: float = WINDOW_S,
) -> Iterator[ReadBlock]:
    """The reads of :func:`generate_reads` (the same ones, drawn alike), as blocks of columns
    that follow each other in time."""
    geo = _Geometry(layout)
    outages = _Outages(len(geo.reader_ids), rf, rng)
    clocks = _Clocks([reader_clock.get(rid, ReaderClock()) for rid in geo.reader_ids])
    buf = _Buffer()
    epcs: list[str] = []
    epc_index: dict[str, int] = {}
    buffered_from: float | None = None
    last_enter = -math.inf
    for v in visits:
        if v.enter < last_enter:
            raise ValueError("visits must be sorted by enter time")
        last_enter = v.enter
        if buffered_from is not None and v.enter >= buffered_from + window_s:
            block = _block(*buf.take_before(v.enter), geo, clocks, epcs, outages)
            if block is not None:
                yield block
            buffered_from = v.enter
        t, a, r = _visit_reads(v, geo, rf, rng)
        if len(t) == 0:
            continue
        if buffered_from is None:
            buffered_from = v.enter
        idx = epc_index.get(v.epc)
        if idx is None:
            idx = epc_index[v.epc] = len(epcs)
            epcs.append(v.epc)
        buf.add(t, a, r, np.full(len(t), idx, dtype=np.int64))
    block = _block(*buf.take_before(math.inf), geo, clocks, epcs, outages)
    if block is not None:
        yield block


class _Clocks:
    """The readers' clocks as arrays, for a block of reads at once."""

    def __init__(self, clocks: list[ReaderClock]) -> None:
        self.offset = np.array([c.offset_s for c in clocks], dtype=np.float64)
        self.drift = np.array([c.drift for c in clocks], dtype=np.float64)
        self.epoch = np.array([c.epoch for c in clocks], dtype=np.float64)

    def reader_time(self, reader: np.ndarray, t: np.ndarray) -> np.ndarray:
        """:meth:`ReaderClock.reader_time` of each read (the same operations, in order)."""
        out: np.ndarray = t + self.offset[reader] + self.drift[reader] * (t - self.epoch[reader])
        return out


def _block(
    t: np.ndarray,
    a: np.ndarray,
    r: np.ndarray,
    e: np.ndarray,
    geo: _Geometry,
    clocks: _Clocks,
    epcs: list[str],
    outages: _Outages,
) -> ReadBlock | None:
    """The block of sorted arrays, less the reads lost to reader outages (None: no reads)."""
    if len(t) == 0:
        return None
    readers = geo.antenna_reader[a]
    keep = outages.keep_mask(readers, t)
    if not keep.any():
        return None
    t, a, readers = t[keep], a[keep], readers[keep]
    return ReadBlock(
        t=t,
        reader=readers,
        antenna=geo.antenna_port_array[a],
        epc=e[keep],
        rssi_dbm=np.round(r[keep], 1),
        reader_t=clocks.reader_time(readers, t),
        reader_ids=geo.reader_ids,
        epcs=epcs,
    )


class RadioWorld:
    """A layout's readers under one RF profile, with clocks drawn from ``seed``.

    Successive :meth:`reads` calls continue one random stream (use one instance per run)."""

    def __init__(self, layout: StoreLayout, rf: RfProfile, *, seed: int, epoch: float) -> None:
        self.layout = layout
        self.rf = rf
        self.epoch = epoch
        self.readers = [r.id for r in layout.readers]
        self.clocks = draw_reader_clocks(layout, rf, np.random.default_rng([seed, 7]), epoch=epoch)
        self.offsets = np.array([self.clocks[r].offset_s for r in self.readers])
        self.drifts = np.array([self.clocks[r].drift for r in self.readers])
        self._rng = np.random.default_rng([seed, 3])

    def reads(self, visits: Iterable[TrueVisit]) -> Iterator[SimRead]:
        """Reads of ``visits`` (sorted by enter time), in time order."""
        return generate_reads(visits, self.layout, self.rf, self._rng, self.clocks)

    def read_blocks(self, visits: Iterable[TrueVisit]) -> Iterator[ReadBlock]:
        """The same reads as :meth:`reads`, as blocks of columns."""
        return generate_read_blocks(visits, self.layout, self.rf, self._rng, self.clocks)
