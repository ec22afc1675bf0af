"""The radio world: true visits in, the reads fixed readers would report out.

Model, per visit of a tag in zone Z (covered by one antenna A_Z):
* The reader reports the tag as a Poisson process at ``read_rate_hz`` while it is in Z; each
  report is lost with probability ``miss_rate``.
* RSSI falls with distance: ``-40 dBm - 20 log10(distance to A_Z in metres)`` from a random
  standing point in Z, plus Gaussian noise (``rssi_noise_db``).
* Cross-reads: antennas of the zones adjacent to Z also see the tag, ``cross_read_rate`` times as
  often in total, ``cross_read_penalty_db`` weaker.
* Each reader's clock is off by a fixed offset (uniform within +-``clock_offset_s``) and drifts
  (``clock_drift_ppm``): ``reader_t = t + offset + drift * (t - epoch)``.
* Readers drop out (``disconnects_per_hour``, exponential outages of mean ``disconnect_s``):
  reads during an outage are lost.
Reads come out in time order, generated in windows so that weeks of history stream in bounded
memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.model import SimRead, TrueVisit
from firmware_sim.scenario import RfProfile
from storeflow.layout import StoreLayout

WINDOW_S = 600.0


@dataclass(frozen=True)
class _Antenna:
    reader: int  # index into reader ids
    port: int
    x: float
    y: float


class RadioWorld:
    def __init__(self, layout: StoreLayout, rf: RfProfile, *, seed: int, epoch: float) -> None:
        self.rf = rf
        self.epoch = epoch
        self.readers = [r.id for r in layout.readers]
        rng = np.random.default_rng([seed, 7])
        self.offsets = rng.uniform(-rf.clock_offset_s, rf.clock_offset_s, len(self.readers))
        self.drifts = rng.uniform(-rf.clock_drift_ppm, rf.clock_drift_ppm, len(self.readers)) * 1e-6
        self.antenna: dict[str, _Antenna] = {}
        for ri, r in enumerate(layout.readers):
            for a in r.antennas:
                if a.valid_from is None and a.valid_to is None:
                    self.antenna[a.zone] = _Antenna(ri, a.port, a.position[0], a.position[1])
        self.bbox = {}
        for z in layout.zones:
            xs = [p[0] for p in z.polygon]
            ys = [p[1] for p in z.polygon]
            self.bbox[z.code] = (min(xs), max(xs), min(ys), max(ys))
        adj = layout.adjacency()
        self.neighbours = {z: sorted(n for n in adj[z] if n in self.antenna) for z in adj}
        self._outages: dict[int, list[tuple[float, float]]] = {}
        self._seed = seed

    def outages(self, reader: int, start: float, end: float) -> list[tuple[float, float]]:
        """Outage intervals of a reader in [start, end) (deterministic per hour)."""
        rf = self.rf
        if rf.disconnects_per_hour <= 0:
            return []
        out = []
        hour = math.floor(start / 3600)
        while hour * 3600 < end:
            rng = np.random.default_rng([self._seed, 11, reader, hour])
            for _ in range(int(rng.poisson(rf.disconnects_per_hour))):
                s = hour * 3600 + float(rng.uniform(0, 3600))
                out.append((s, s + float(rng.exponential(rf.disconnect_s))))
            hour += 1
        return out

    def visit_reads(
        self, v: TrueVisit, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(times, antenna keys, rssi, is_cross) for one visit."""
        rf = self.rf
        ant = self.antenna.get(v.zone)
        dur = max(v.exit - v.enter, 0.0)
        if ant is None or dur <= 0:
            empty = np.empty(0)
            return empty, empty, empty, empty
        x0, x1, y0, y1 = self.bbox[v.zone]
        px, py = rng.uniform(x0, x1), rng.uniform(y0, y1)
        dist = max(1.0, math.hypot(px - ant.x, py - ant.y))
        base = -40.0 - 20.0 * math.log10(dist)
        n = int(rng.poisson(rf.read_rate_hz * dur * (1 - rf.miss_rate)))
        times = [rng.uniform(v.enter, v.exit, n)]
        keys = [np.full(n, hash_antenna(ant))]
        rssi = [base + rng.normal(0, rf.rssi_noise_db, n)]
        cross = [np.zeros(n)]
        neigh = self.neighbours.get(v.zone, [])
        if neigh and rf.cross_read_rate > 0:
            m = int(rng.poisson(rf.read_rate_hz * dur * rf.cross_read_rate * (1 - rf.miss_rate)))
            if m:
                picks = rng.integers(0, len(neigh), m)
                times.append(rng.uniform(v.enter, v.exit, m))
                keys.append(np.array([hash_antenna(self.antenna[neigh[i]]) for i in picks]))
                rssi.append(base - rf.cross_read_penalty_db + rng.normal(0, rf.rssi_noise_db, m))
                cross.append(np.ones(m))
        return (
            np.concatenate(times),
            np.concatenate(keys),
            np.concatenate(rssi),
            np.concatenate(cross),
        )

    def reads(self, visits: Iterable[TrueVisit]) -> Iterator[SimRead]:
        """Reads of ``visits`` (sorted by enter time), in time order."""
        pending_t: list[np.ndarray] = []
        pending_k: list[np.ndarray] = []
        pending_r: list[np.ndarray] = []
        pending_e: list[np.ndarray] = []
        epcs: list[str] = []
        epc_index: dict[str, int] = {}
        window_end: float | None = None
        rng = np.random.default_rng([self._seed, 3])
        for v in visits:
            if window_end is None:
                window_end = v.enter + WINDOW_S
            if v.enter >= window_end:
                yield from self._flush(
                    pending_t, pending_k, pending_r, pending_e, epcs, upto=v.enter
                )
                window_end = v.enter + WINDOW_S
            idx = epc_index.get(v.epc)
            if idx is None:
                idx = epc_index[v.epc] = len(epcs)
                epcs.append(v.epc)
            t, k, r, _ = self.visit_reads(v, rng)
            pending_t.append(t)
            pending_k.append(k)
            pending_r.append(r)
            pending_e.append(np.full(len(t), idx))
        yield from self._flush(pending_t, pending_k, pending_r, pending_e, epcs, upto=math.inf)

    def _flush(
        self,
        pt: list[np.ndarray],
        pk: list[np.ndarray],
        pr: list[np.ndarray],
        pe: list[np.ndarray],
        epcs: Sequence[str],
        *,
        upto: float,
    ) -> Iterator[SimRead]:
        if not pt:
            return
        t = np.concatenate(pt)
        k = np.concatenate(pk)
        r = np.concatenate(pr)
        e = np.concatenate(pe)
        order = np.argsort(t, kind="stable")
        t, k, r, e = t[order], k[order], r[order], e[order]
        cut = int(np.searchsorted(t, upto, side="left"))
        for pending in (pt, pk, pr, pe):
            pending.clear()
        if cut < len(t):
            pt.append(t[cut:])
            pk.append(k[cut:])
            pr.append(r[cut:])
            pe.append(e[cut:])
        if cut == 0:
            return
        keep = np.ones(cut, dtype=bool)
        readers = (k[:cut] // 100).astype(int)
        lo, hi = float(t[0]), float(t[cut - 1])
        for ri in range(len(self.readers)):
            for s, f in self.outages(ri, lo, hi + 1):
                keep &= ~((readers == ri) & (t[:cut] >= s) & (t[:cut] < f))
        for i in np.flatnonzero(keep):
            ts = float(t[i])
            key = int(k[i])
            ri = key // 100
            yield SimRead(
                t=ts,
                reader_id=self.readers[ri],
                antenna=key % 100,
                epc=epcs[int(e[i])],
                rssi_dbm=round(float(r[i]), 1),
                reader_t=ts + float(self.offsets[ri]) + float(self.drifts[ri]) * (ts - self.epoch),
            )


def hash_antenna(a: _Antenna) -> int:
    return a.reader * 100 + a.port
