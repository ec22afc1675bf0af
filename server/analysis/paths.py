"""Path efficiency, as the daily facts compute it (server/rollup.py, ``fact_efficiency``).

Input ``trips``: ``trip_id`` and ``zones`` (the ordered zone codes the trip passed through,
consecutive repeats collapsed; a list, tuple or array per row), ``purchases`` (``trip_id``,
``counter``, ``at``) and a :class:`RouteGraph` of the layout. Top paths and the transition
matrix are SQL over the facts (server/queries/paths.py).

Definition (docs/metrics.md#path-efficiency):

* Path efficiency (Hui, Fader & Bradlow 2009): the shortest route from the entrance through every
  zone where the shopper bought to the checkout, divided by the length actually walked; and the
  decomposition walked = shortest + order deviation + travel deviation.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from server.analysis import as_utc
from storeflow.layout import StoreLayout, ZoneKind

logger = logging.getLogger(__name__)

Metric = Literal["metres", "hops"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EXACT_TSP_LIMIT = 8  # targets up to this many: exact (Held-Karp); above: nearest neighbour + 2-opt


# --------------------------------------------------------------------------- flattening trips


@dataclass(frozen=True, slots=True)
class _Flat:
    """All trips' zones in one array: ``trip[i]`` is the row of trip i's ``zone[i]``."""

    trip: IntArray
    step: IntArray
    zone: npt.NDArray[np.object_]
    lengths: IntArray
    starts: IntArray


def _flatten(trips: pd.DataFrame) -> _Flat:
    zones_col = trips["zones"]
    lengths = np.fromiter((len(z) for z in zones_col), dtype=np.int64, count=len(zones_col))
    total = int(lengths.sum())
    zone = np.fromiter(
        (str(z) for z in itertools.chain.from_iterable(zones_col)), dtype=object, count=total
    )
    trip = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    step = np.arange(total, dtype=np.int64) - starts[trip]
    return _Flat(trip=trip, step=step, zone=zone, lengths=lengths, starts=starts)


# --------------------------------------------------------------------------- route graph, TSP


def floyd_warshall(weights: FloatArray) -> FloatArray:
    """All-pairs shortest path lengths; ``weights[i, j]`` = edge length or ``inf`` (no edge)."""
    d = weights.astype(np.float64).copy()
    np.fill_diagonal(d, 0.0)
    for k in range(d.shape[0]):
        d = np.minimum(d, d[:, k, None] + d[None, k, :])
    return d


class RouteGraph:
    """A layout's zone adjacency graph with all-pairs shortest distances (computed once).

    ``metric="metres"``: an edge's length is the distance between the two zones' centroids;
    ``metric="hops"``: every edge counts 1. Shortest tours are cached per (start, end, targets).
    """

    __slots__ = ("metric", "zones", "index", "dist", "kinds", "counter_zone", "_tours")

    def __init__(
        self,
        adjacency: Mapping[str, Iterable[str]],
        *,
        positions: Mapping[str, tuple[float, float]] | None = None,
        metric: Metric = "metres",
        kinds: Mapping[str, str] | None = None,
        counter_zone: Mapping[str, str] | None = None,
    ) -> None:
        if metric == "metres" and positions is None:
            raise ValueError("metric='metres' needs zone positions")
        names = set(adjacency)
        for nbrs in adjacency.values():
            names.update(nbrs)
        self.metric: Metric = metric
        self.zones: tuple[str, ...] = tuple(sorted(names))
        self.index: dict[str, int] = {z: i for i, z in enumerate(self.zones)}
        n = len(self.zones)
        w = np.full((n, n), np.inf)
        for a, nbrs in adjacency.items():
            for b in nbrs:
                if a == b:
                    continue
                if metric == "hops":
                    length = 1.0
                else:
                    assert positions is not None
                    (ax, ay), (bx, by) = positions[a], positions[b]
                    length = math.hypot(ax - bx, ay - by)
                i, j = self.index[a], self.index[b]
                w[i, j] = w[j, i] = min(w[i, j], length)
        self.dist: FloatArray = floyd_warshall(w)
        self.kinds: dict[str, str] = dict(kinds or {})
        self.counter_zone: dict[str, str] = dict(counter_zone or {})
        self._tours: dict[tuple[str, str, frozenset[str]], tuple[float, tuple[str, ...]]] = {}

    @classmethod
    def from_layout(cls, layout: StoreLayout, metric: Metric = "metres") -> RouteGraph:
        return cls(
            layout.adjacency(),
            positions={z.code: z.centroid for z in layout.zones},
            metric=metric,
            kinds={z.code: str(z.kind) for z in layout.zones},
            counter_zone={c.code: c.zone for c in layout.counters},
        )

    def route_length(self, stops: Sequence[str]) -> float:
        """Shortest length visiting ``stops`` in the given order."""
        idx = [self.index[s] for s in stops]
        return float(sum(self.dist[i, j] for i, j in itertools.pairwise(idx)))

    def shortest_tour(
        self, start: str, end: str, targets: Collection[str], *, exact_limit: int = EXACT_TSP_LIMIT
    ) -> tuple[float, tuple[str, ...]]:
        """Shortest route start -> every target (any order) -> end: (length, target order).

        Exact by dynamic programming (Held-Karp) for up to ``exact_limit`` targets, otherwise
        nearest neighbour followed by 2-opt. Results are cached per (start, end, target set).
        """
        todo = frozenset(targets) - {start, end}
        key = (start, end, todo)
        hit = self._tours.get(key)
        if hit is not None:
            return hit
        s, e = self.index[start], self.index[end]
        t = [self.index[x] for x in sorted(todo)]
        if len(t) <= exact_limit:
            length, order = _held_karp(self.dist, s, e, t)
        else:
            length, order = _two_opt(self.dist, s, e, _nearest_neighbour(self.dist, s, t))
        result = (length, tuple(self.zones[i] for i in order))
        self._tours[key] = result
        return result


def _held_karp(d: FloatArray, s: int, e: int, t: list[int]) -> tuple[float, list[int]]:
    k = len(t)
    if k == 0:
        return float(d[s, e]), []
    full = (1 << k) - 1
    cost = np.full((1 << k, k), np.inf)
    parent = np.full((1 << k, k), -1, dtype=np.int64)
    for j in range(k):
        cost[1 << j, j] = d[s, t[j]]
    for mask in range(1, full + 1):
        for j in range(k):
            if not mask & (1 << j) or not math.isfinite(cost[mask, j]):
                continue
            base = cost[mask, j]
            for nxt in range(k):
                if mask & (1 << nxt):
                    continue
                m2 = mask | (1 << nxt)
                c = base + d[t[j], t[nxt]]
                if c < cost[m2, nxt]:
                    cost[m2, nxt] = c
                    parent[m2, nxt] = j
    finals = cost[full] + d[t, e]
    last = int(np.argmin(finals))
    best = float(finals[last])
    order: list[int] = []
    mask, j = full, last
    while j >= 0:
        order.append(t[j])
        prev = int(parent[mask, j])
        mask &= ~(1 << j)
        j = prev
    order.reverse()
    return best, order


def _nearest_neighbour(d: FloatArray, s: int, t: list[int]) -> list[int]:
    left, here, order = set(t), s, []
    while left:
        nxt = min(left, key=lambda x: (d[here, x], x))
        order.append(nxt)
        left.remove(nxt)
        here = nxt
    return order


def _two_opt(d: FloatArray, s: int, e: int, order: list[int]) -> tuple[float, list[int]]:
    route = [s, *order, e]

    def length(r: list[int]) -> float:
        return float(sum(d[a, b] for a, b in itertools.pairwise(r)))

    improved = True
    while improved:
        improved = False
        for i in range(1, len(route) - 2):
            for j in range(i + 1, len(route) - 1):
                a, b, c, f = route[i - 1], route[i], route[j], route[j + 1]
                if d[a, c] + d[b, f] < d[a, b] + d[c, f] - 1e-9:
                    route[i : j + 1] = route[i : j + 1][::-1]
                    improved = True
    return length(route), route[1:-1]


# --------------------------------------------------------------------------- path efficiency


def path_efficiency(
    trips: pd.DataFrame,
    purchases: pd.DataFrame,
    graph: RouteGraph,
    *,
    exact_limit: int = EXACT_TSP_LIMIT,
) -> pd.DataFrame:
    """Path efficiency per trip (Hui, Fader & Bradlow 2009) and its decomposition.

    For each trip:

    * span: from the trip's first zone (the entrance) to its last checkout visit (a zone of kind
      ``checkout`` in ``graph.kinds``); a trip that never reached a checkout ends at its last zone.
    * targets: the zones of the counters where the trip bought (``purchases.counter`` mapped by
      ``graph.counter_zone``; a counter code that is itself a zone code is used as is).
    * ``walked``: the sum of the graph distances between consecutive zones of the span (for
      adjacent zones that is the edge length; a missed zone between two reads is bridged by the
      shortest path).
    * ``shortest``: the shortest route start -> all targets in the best order -> end (a small
      TSP on the adjacency graph; exact up to ``exact_limit`` targets).
    * ``observed_order``: the shortest route through the targets in the order the shopper first
      reached them (targets never seen on the path come last, by purchase time).
    * ``order_deviation`` = observed_order - shortest: the cost of visiting the bought counters in
      the shopper's order rather than the best one.
    * ``travel_deviation`` = walked - observed_order: everything else (detours, browsing).
    * ``efficiency`` = shortest / walked (1 = no wasted distance; NaN for a zero-length walk).

    walked = shortest + order_deviation + travel_deviation holds by construction. Units are the
    graph's metric (metres or hops). Result: one row per trip, in the order of ``trips``.
    """
    flat = _flatten(trips)
    n_trips = len(trips)
    n_z = len(graph.zones)
    # an extra NaN row/column stands for zones the graph does not know
    dist = np.full((n_z + 1, n_z + 1), np.nan)
    dist[:n_z, :n_z] = graph.dist
    zi = pd.Index(graph.zones).get_indexer(pd.Index(flat.zone, dtype=object)).astype(np.int64)
    zi[zi < 0] = n_z
    kinds = np.array([graph.kinds.get(z, "") for z in graph.zones] + [""], dtype=object)
    is_chk = kinds[zi] == ZoneKind.CHECKOUT.value

    last_chk = np.full(n_trips, -1, dtype=np.int64)
    np.maximum.at(last_chk, flat.trip[is_chk], flat.step[is_chk])
    end_step = np.where(last_chk >= 0, last_chk, flat.lengths - 1)

    seg = (flat.trip[:-1] == flat.trip[1:]) & (flat.step[1:] <= end_step[flat.trip[1:]])
    seg_d = dist[zi[:-1][seg], zi[1:][seg]]
    walked = np.bincount(flat.trip[:-1][seg], weights=seg_d, minlength=n_trips).astype(np.float64)
    has_zones = flat.lengths > 0
    walked[~has_zones] = np.nan
    start_z = np.full(n_trips, n_z, dtype=np.int64)
    end_z = np.full(n_trips, n_z, dtype=np.int64)
    start_z[has_zones] = zi[flat.starts[has_zones]]
    end_z[has_zones] = zi[flat.starts[has_zones] + end_step[has_zones]]

    targets = _ordered_targets(trips, purchases, graph, flat, zi, end_step)
    shortest = dist[start_z, end_z].copy()
    observed = shortest.copy()
    target_names: list[tuple[str, ...]] = [()] * n_trips
    missing = np.zeros(n_trips, dtype=np.int64)
    missing[targets.trip] = targets.missing
    combos: dict[tuple[int, int, tuple[int, ...]], list[int]] = {}
    for row, order in zip(targets.trip.tolist(), targets.orders, strict=True):
        combos.setdefault((int(start_z[row]), int(end_z[row]), order), []).append(row)
    for (s, e, order), rows in combos.items():
        if s == n_z or e == n_z or n_z in order:
            shortest[rows] = observed[rows] = np.nan
            continue
        names = tuple(graph.zones[z] for z in order)
        best, _ = graph.shortest_tour(
            graph.zones[s], graph.zones[e], names, exact_limit=exact_limit
        )
        shortest[rows] = best
        observed[rows] = graph.route_length([graph.zones[s], *names, graph.zones[e]])
        for r in rows:
            target_names[r] = names

    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = np.where(walked > 0, shortest / walked, np.nan)
    return pd.DataFrame(
        {
            "trip_id": trips["trip_id"].to_numpy(),
            "start_zone": [graph.zones[z] if z < n_z else None for z in start_z],
            "end_zone": [graph.zones[z] if z < n_z else None for z in end_z],
            "targets": target_names,
            "n_targets": [len(t) for t in target_names],
            "missing_targets": missing,
            "walked": walked,
            "shortest": shortest,
            "observed_order": observed,
            "order_deviation": observed - shortest,
            "travel_deviation": walked - observed,
            "efficiency": efficiency,
        }
    )


@dataclass(frozen=True, slots=True)
class _Targets:
    trip: IntArray  # trip rows with at least one purchase
    orders: list[tuple[int, ...]]  # target zone indices in the shopper's order
    missing: IntArray  # targets never seen on the trip's path


def _ordered_targets(
    trips: pd.DataFrame,
    purchases: pd.DataFrame,
    graph: RouteGraph,
    flat: _Flat,
    zi: IntArray,
    end_step: IntArray,
) -> _Targets:
    none = _Targets(np.array([], dtype=np.int64), [], np.array([], dtype=np.int64))
    if purchases.empty or not {"trip_id", "counter"} <= set(purchases.columns):
        return none
    p = purchases[purchases["trip_id"].notna()]
    trip_row = pd.Index(trips["trip_id"]).get_indexer(pd.Index(p["trip_id"]))
    zone_codes = [graph.counter_zone.get(c, c) for c in p["counter"].astype(str)]
    zidx = pd.Index(graph.zones).get_indexer(pd.Index(zone_codes, dtype=object))
    if "at" in p.columns:
        at = as_utc(p["at"]).to_numpy()
    else:
        at = np.zeros(len(p), dtype="datetime64[ns]")
    t = pd.DataFrame({"trip": trip_row, "zone": zidx, "at": at})
    t = t[t["trip"] >= 0]
    t.loc[t["zone"] < 0, "zone"] = len(graph.zones)
    t = t.groupby(["trip", "zone"])["at"].min().reset_index()
    if t.empty:
        return none
    on_span = flat.step <= end_step[flat.trip]
    seen = (
        pd.DataFrame({"trip": flat.trip[on_span], "zone": zi[on_span], "first": flat.step[on_span]})
        .groupby(["trip", "zone"])["first"]
        .min()
        .reset_index()
    )
    t = t.merge(seen, on=["trip", "zone"], how="left")
    t["missing"] = t["first"].isna().astype(np.int64)
    t["first"] = t["first"].fillna(np.iinfo(np.int64).max)
    t = t.sort_values(["trip", "first", "at", "zone"])
    trip_vals = t["trip"].to_numpy(dtype=np.int64)
    bounds = np.flatnonzero(np.diff(trip_vals)) + 1
    heads = np.concatenate([[0], bounds]).astype(np.int64)
    zones = t["zone"].to_numpy(dtype=np.int64)
    orders = [tuple(int(v) for v in chunk) for chunk in np.split(zones, bounds)]
    missing = np.add.reduceat(t["missing"].to_numpy(dtype=np.int64), heads)
    return _Targets(trip=trip_vals[heads], orders=orders, missing=missing.astype(np.int64))
