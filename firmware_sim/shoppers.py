"""Simulated shoppers and staff with known true paths, dwells and purchases.

* Arrivals: a Poisson process per opening hour (trips per day x weekday factor x hourly weight).
* Each shopper carries one shopper tag: a member card (from a finite member population, so members
  come back on other days), a cart or a basket (from finite pools). EPCs are GS1 GID-96.
* Path: entrance -> the counters the shopper is attracted to (each with probability
  ``attraction``; nearest first) along shortest routes of the zone adjacency graph -> checkout ->
  exit. Every zone passed through is a visit; one zone at a time, contiguous in time.
* Dwell: lognormal per zone kind (counters: their own median), never below ``minimum_s``.
* Purchases: at each visited counter with probability ``conversion``.
* Staff tags walk between random neighbouring zones all day.
Deterministic for a seed and a period.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from firmware_sim.encoders import GID_MANAGER, gid96_epc
from firmware_sim.model import TruePurchase, TrueVisit
from firmware_sim.scenario import Scenario
from storeflow.layout import StoreLayout, ZoneKind

CLASS_MEMBER, CLASS_CART, CLASS_BASKET, CLASS_STAFF = 1, 2, 3, 9
STAFF_ID_BASE = 1_000_000_000


@dataclass
class SimResult:
    visits: list[TrueVisit] = field(default_factory=list)
    purchases: list[TruePurchase] = field(default_factory=list)
    staff_visits: list[TrueVisit] = field(default_factory=list)


def shortest_paths(layout: StoreLayout) -> dict[str, dict[str, list[str]]]:
    """BFS shortest route (list of zones, excluding the start) between every pair of zones."""
    graph = {k: sorted(v) for k, v in layout.adjacency().items()}
    out: dict[str, dict[str, list[str]]] = {}
    for src in graph:
        prev: dict[str, str | None] = {src: None}
        queue = deque([src])
        while queue:
            node = queue.popleft()
            for nxt in graph[node]:
                if nxt not in prev:
                    prev[nxt] = node
                    queue.append(nxt)
        routes: dict[str, list[str]] = {}
        for dst in prev:
            path: list[str] = []
            cur: str | None = dst
            while cur is not None and cur != src:
                path.append(cur)
                cur = prev[cur]
            routes[dst] = path[::-1]
        out[src] = routes
    return out


class ShopperSimulator:
    def __init__(self, scenario: Scenario, layout: StoreLayout) -> None:
        self.sc = scenario
        self.layout = layout
        self.routes = shortest_paths(layout)
        self.kinds = {z.code: z.kind for z in layout.zones}
        self.entrance = next(z.code for z in layout.zones if z.kind == ZoneKind.ENTRANCE)
        self.checkout = next(z.code for z in layout.zones if z.kind == ZoneKind.CHECKOUT)
        self.exit = next(z.code for z in layout.zones if z.kind == ZoneKind.EXIT)
        self.counter_zone = {c.code: c.zone for c in layout.counters}
        self._busy_until: dict[str, float] = {}  # a tag is in one place at a time

    def day_rng(self, day: date) -> np.random.Generator:
        return np.random.default_rng([self.sc.seed, day.toordinal()])

    def simulate(self, start: datetime, end: datetime) -> SimResult:
        """Shoppers arriving in [start, end) (their visits may run past ``end``) and staff."""
        result = SimResult()
        day = start.astimezone(UTC).date()
        while datetime.combine(day, datetime.min.time(), UTC) < end:
            self._simulate_day(day, start, end, result)
            day += timedelta(days=1)
        result.visits.sort(key=lambda v: v.enter)
        result.staff_visits.sort(key=lambda v: v.enter)
        return result

    def _simulate_day(self, day: date, start: datetime, end: datetime, out: SimResult) -> None:
        rng = self.day_rng(day)
        tr = self.sc.traffic
        midnight = datetime.combine(day, datetime.min.time(), UTC).timestamp()
        lo, hi = start.timestamp(), end.timestamp()
        weights = np.asarray(tr.hourly_weights, dtype=float)
        weights = weights / weights.sum()
        per_day = tr.trips_per_day * tr.weekday_factors[day.weekday()]
        shopper_no = 0
        for i, hour in enumerate(range(tr.open_hour, tr.close_hour)):
            w = weights[i] if i < len(weights) else 0.0
            n = int(rng.poisson(per_day * w))
            times = np.sort(rng.uniform(0, 3600, n)) + midnight + hour * 3600
            for t in times:
                shopper_no += 1
                shopper_rng = np.random.default_rng([self.sc.seed, day.toordinal(), shopper_no])
                if lo <= t < hi:
                    sid = day.toordinal() * 100_000 + shopper_no
                    self._shopper(sid, float(t), day, shopper_rng, out)
        self._staff(day, midnight, lo, hi, rng, out)

    def _free_tag(self, rng: np.random.Generator, start: float, end: float) -> str:
        """A tag not carried by another shopper in [start, end) (a card or cart is in one place)."""
        epc = self._tag(rng)
        for _ in range(50):
            if self._busy_until.get(epc, -math.inf) < start:
                break
            epc = self._tag(rng)
        self._busy_until[epc] = end + 60.0
        return epc

    def _tag(self, rng: np.random.Generator) -> str:
        tr = self.sc.traffic
        u = rng.random()
        if u < tr.member_share:
            # Some members come far more often than others (a Zipf-like population).
            member = (
                int(min(tr.members, rng.zipf(1.3)))
                if rng.random() < 0.5
                else int(rng.integers(1, tr.members + 1))
            )
            return gid96_epc(GID_MANAGER, CLASS_MEMBER, member)
        if u < tr.member_share + tr.cart_share:
            return gid96_epc(GID_MANAGER, CLASS_CART, int(rng.integers(1, tr.carts + 1)))
        return gid96_epc(GID_MANAGER, CLASS_BASKET, int(rng.integers(1, tr.baskets + 1)))

    def _dwell(self, rng: np.random.Generator, median: float) -> float:
        d = self.sc.dwell
        return max(d.minimum_s, float(median * math.exp(rng.normal(0.0, d.sigma))))

    def _behaviour(self, counter: str, day: date) -> tuple[float, float]:
        b = self.sc.counters.get(counter)
        if b is None:
            return 0.0, 0.0
        attraction, conversion = b.attraction, b.conversion
        promo = self.sc.promotion
        if promo is not None and promo.counter == counter and promo.start <= day <= promo.end:
            attraction *= 1 + promo.attraction_uplift
            conversion *= 1 + promo.conversion_uplift
        change = self.sc.layout_change
        if change is not None and change.counter == counter and day >= change.date:
            attraction *= change.attraction_factor
        return min(attraction, 1.0), min(conversion, 1.0)

    def _shopper(
        self, sid: int, t0: float, day: date, rng: np.random.Generator, out: SimResult
    ) -> None:
        targets = []
        for counter in self.counter_zone:
            attraction, _ = self._behaviour(counter, day)
            if rng.random() < attraction:
                targets.append(counter)
        path: list[tuple[str, str | None]] = [(self.entrance, None)]  # (zone, counter target)
        here = self.entrance
        remaining = list(targets)
        while remaining:
            remaining.sort(key=lambda c: (len(self.routes[here][self.counter_zone[c]]), c))
            nxt = remaining.pop(0)
            zone = self.counter_zone[nxt]
            for step in self.routes[here][zone][:-1]:
                path.append((step, None))
            path.append((zone, nxt))
            here = zone
        bought: list[tuple[str, float]] = []
        d = self.sc.dwell
        t = t0
        plan: list[tuple[str, float, str | None]] = []
        for step_zone, target in path:
            kind = self.kinds[step_zone]
            if target is not None:
                beh = self.sc.counters[target]
                dwell = self._dwell(rng, beh.dwell_median_s)
                _, conversion = self._behaviour(target, day)
                if rng.random() < conversion:
                    amount = round(float(beh.basket_mean * math.exp(rng.normal(0, 0.5))), 2)
                    bought.append((target, amount))
            elif kind == ZoneKind.ENTRANCE:
                dwell = self._dwell(rng, d.entrance_s)
            else:
                dwell = self._dwell(rng, d.aisle_s)
            plan.append((step_zone, dwell, target))
        for step in self.routes[here][self.checkout][:-1]:
            plan.append((step, self._dwell(rng, d.aisle_s), None))
        plan.append(
            (
                self.checkout,
                self._dwell(rng, d.checkout_buy_s if bought else d.checkout_pass_s),
                None,
            )
        )
        plan.append((self.exit, self._dwell(rng, d.exit_s), None))
        paid_at = t0  # the goods are paid at the checkout, where the till sees card or cart
        epc = self._free_tag(rng, t0, t0 + sum(p[1] for p in plan))
        for plan_zone, plan_dwell, _ in plan:
            out.visits.append(TrueVisit(sid, epc, plan_zone, t, t + plan_dwell))
            if plan_zone == self.checkout:
                paid_at = t + plan_dwell * 0.7
            t += plan_dwell
        for counter, amount in bought:
            out.purchases.append(TruePurchase(sid, epc, counter, amount, paid_at))

    def _staff(
        self,
        day: date,
        midnight: float,
        lo: float,
        hi: float,
        rng: np.random.Generator,
        out: SimResult,
    ) -> None:
        tr = self.sc.traffic
        zones = sorted(self.routes)
        graph = {k: sorted(v) for k, v in self.layout.adjacency().items()}
        for s in range(self.sc.staff):
            epc = gid96_epc(GID_MANAGER, CLASS_STAFF, s + 1)
            t = midnight + (tr.open_hour - 0.5) * 3600 + float(rng.uniform(0, 600))
            end = midnight + (tr.close_hour + 0.25) * 3600
            zone = zones[int(rng.integers(len(zones)))]
            while t < end:
                dwell = float(rng.uniform(30, 400))
                if lo <= t < hi:
                    out.staff_visits.append(TrueVisit(STAFF_ID_BASE + s, epc, zone, t, t + dwell))
                t += dwell
                zone = graph[zone][int(rng.integers(len(graph[zone])))]


def simulate(scenario: Scenario, layout: StoreLayout, start: datetime, end: datetime) -> SimResult:
    return ShopperSimulator(scenario, layout).simulate(start, end)


def iter_days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at midnights (UTC)."""
    cur = start
    while cur < end:
        nxt = min(end, datetime.combine(cur.date() + timedelta(days=1), datetime.min.time(), UTC))
        yield cur, nxt
        cur = nxt
