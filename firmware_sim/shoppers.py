"""Simulated shoppers and staff with known true paths, dwells and purchases.

* Arrivals: a Poisson process per opening hour (trips per day x weekday factor x hourly weight),
  in the store's local time.
* Each shopper carries one shopper tag: a member card from a finite member population (members
  visit at uneven, gamma-distributed rates, so they come back on other days and a few come
  often), a cart or a basket from finite pools. A tag is in one place at a time: a card is not
  used again within two hours, a cart or basket not within a minute of its last trip.
  EPCs are GS1 GID-96 (object class 1 member card, 2 cart, 3 basket, 9 staff).
* Path: entrance -> the counters the shopper is attracted to (each with probability
  ``attraction``, nearest first) along shortest routes of the zone adjacency graph (walking
  through another counter costs more than an aisle) -> checkout when something was bought,
  else straight to the exit (through whatever the layout puts in between). Every zone passed
  through is a visit; one zone at a time, contiguous in time.
* Dwell: lognormal per zone kind (counters: their own median), never below ``minimum_s``.
* Purchases: at each target counter with probability ``conversion``; the amount is lognormal
  around the counter's ``basket_mean`` times the member's spending level. Everything bought is
  paid at the checkout (``TruePurchase.at`` falls in the checkout visit), where the till sees
  the member card or the cart.
* Staff tags walk between random neighbouring zones all day.

Deterministic for a seed: every day, shopper and staff member draws from its own generator
derived from the seed, so simulating a period in pieces gives the same world as in one go.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

from firmware_sim.encoders import GID_MANAGER
from firmware_sim.model import TruePurchase, TrueVisit
from firmware_sim.scenario import Scenario, Traffic, check_against_layout
from firmware_sim.truth import TrueTrip, Truth
from storeflow.epc import (
    OBJECT_CLASS_BASKET,
    OBJECT_CLASS_CART,
    OBJECT_CLASS_MEMBER_CARD,
    OBJECT_CLASS_STAFF,
    encode_gid96,
)
from storeflow.layout import StoreLayout, ZoneKind
from storeflow.wire import TagKind

logger = logging.getLogger(__name__)

STAFF_ID_BASE = 1_000_000_000
MEMBER_COOLDOWN_S = 2 * 3600.0
POOL_COOLDOWN_S = 60.0
COUNTER_TRANSIT_COST = 4.0  # walking through a counter instead of an aisle

SimResult = Truth


@dataclass(frozen=True, slots=True)
class _Tag:
    epc: str
    kind: TagKind
    member: int | None


def shortest_paths(layout: StoreLayout) -> dict[str, dict[str, list[str]]]:
    """Cheapest route (zones after the start, ending at the destination) between every pair of
    zones: a step into an aisle, entrance, checkout or exit costs 1, into a counter
    ``COUNTER_TRANSIT_COST``; ties go to the route whose zone codes sort first."""
    graph = {k: sorted(v) for k, v in layout.adjacency().items()}
    kinds = {z.code: z.kind for z in layout.zones}

    def cost(zone: str) -> float:
        return COUNTER_TRANSIT_COST if kinds[zone] == ZoneKind.COUNTER else 1.0

    out: dict[str, dict[str, list[str]]] = {}
    for src in graph:
        best: dict[str, tuple[float, tuple[str, ...]]] = {src: (0.0, ())}
        heap: list[tuple[float, tuple[str, ...], str]] = [(0.0, (), src)]
        done: set[str] = set()
        while heap:
            d, path, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            for nxt in graph[node]:
                cand = (d + cost(nxt), (*path, nxt))
                if nxt not in best or cand < best[nxt]:
                    best[nxt] = cand
                    heapq.heappush(heap, (cand[0], cand[1], nxt))
        out[src] = {dst: list(p) for dst, (_, p) in best.items()}
    return out


def route_cost(route: list[str], kinds: dict[str, ZoneKind]) -> float:
    return sum(COUNTER_TRANSIT_COST if kinds[z] == ZoneKind.COUNTER else 1.0 for z in route)


@dataclass(frozen=True)
class MemberPopulation:
    """Members' visit rates (for drawing who comes) and spending levels (mean 1)."""

    cumulative: np.ndarray
    spend: np.ndarray

    @classmethod
    def draw(cls, traffic: Traffic, seed: int) -> MemberPopulation:
        rng = np.random.default_rng([seed, 5])
        rates = rng.gamma(traffic.member_activity_shape, 1.0, traffic.members)
        for _ in range(8):  # cap the busiest members, keep the mean at 1
            rates = np.minimum(rates / rates.mean(), traffic.member_activity_cap)
        sigma = traffic.member_spend_sigma
        spend = rng.lognormal(-sigma * sigma / 2, sigma, traffic.members)
        return cls(cumulative=np.cumsum(rates), spend=spend)

    def pick(self, u: float) -> int:
        """The member number (1-based) for a uniform draw ``u`` in [0, 1)."""
        i = int(np.searchsorted(self.cumulative, u * float(self.cumulative[-1]), side="right"))
        return min(i, len(self.cumulative) - 1) + 1

    def spend_level(self, member: int) -> float:
        return float(self.spend[member - 1])


class ShopperSimulator:
    """Generates shoppers and staff for periods; keeps which tag is busy until when, so use one
    instance for consecutive periods of the same run."""

    def __init__(self, scenario: Scenario, layout: StoreLayout, *, seed: int | None = None) -> None:
        check_against_layout(scenario, layout)
        self.sc = scenario
        self.seed = scenario.seed if seed is None else seed
        self.layout = layout
        self.tz: tzinfo = ZoneInfo(layout.store.timezone) if layout.store.timezone else UTC
        self.routes = shortest_paths(layout)
        self.graph = {k: sorted(v) for k, v in layout.adjacency().items()}
        self.kinds = {z.code: z.kind for z in layout.zones}
        self.entrance = next(z.code for z in layout.zones if z.kind == ZoneKind.ENTRANCE)
        self.checkout = next(z.code for z in layout.zones if z.kind == ZoneKind.CHECKOUT)
        self.exit = next(z.code for z in layout.zones if z.kind == ZoneKind.EXIT)
        self.counter_zone = {c.code: c.zone for c in layout.counters}
        self.members = MemberPopulation.draw(scenario.traffic, self.seed)
        self._busy_until: dict[str, float] = {}  # a tag is in one place at a time
        self._overflow = 0

    def day_rng(self, day: date) -> np.random.Generator:
        return np.random.default_rng([self.seed, day.toordinal()])

    def simulate(self, start: datetime, end: datetime) -> Truth:
        """Shoppers arriving in [start, end) (their visits may run past ``end``) and staff
        visits beginning in [start, end); each list sorted by time."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        result = Truth()
        day = start.astimezone(self.tz).date()
        while self._midnight(day) < end.timestamp():
            self._simulate_day(day, start.timestamp(), end.timestamp(), result)
            day += timedelta(days=1)
        result.visits.sort(key=lambda v: (v.enter, v.shopper_id))
        result.staff_visits.sort(key=lambda v: (v.enter, v.shopper_id))
        result.purchases.sort(key=lambda p: (p.at, p.shopper_id))
        result.trips.sort(key=lambda t: (t.start, t.shopper_id))
        return result

    def _midnight(self, day: date) -> float:
        return datetime.combine(day, time(0), self.tz).timestamp()

    def _local(self, day: date, hour: int) -> float:
        """Epoch seconds of ``hour``:00 local time on ``day`` (24 = the next midnight)."""
        if hour >= 24:
            return self._midnight(day + timedelta(days=1))
        return datetime.combine(day, time(hour), self.tz).timestamp()

    def _simulate_day(self, day: date, lo: float, hi: float, out: Truth) -> None:
        rng = self.day_rng(day)
        tr = self.sc.traffic
        weights = np.asarray(tr.hourly_weights, dtype=float)
        weights = weights / weights.sum()
        per_day = tr.trips_per_day * tr.weekday_factors[day.weekday()]
        shopper_no = 0
        for i, hour in enumerate(range(tr.open_hour, tr.close_hour)):
            n = int(rng.poisson(per_day * weights[i]))
            times = np.sort(rng.uniform(0, 3600, n)) + self._local(day, hour)
            for t in times:
                shopper_no += 1
                if lo <= t < hi:
                    shopper_rng = np.random.default_rng([self.seed, day.toordinal(), shopper_no])
                    sid = day.toordinal() * 100_000 + shopper_no
                    self._shopper(sid, float(t), day, shopper_rng, out)
        self._staff(day, lo, hi, rng, out)

    # -- tags -------------------------------------------------------------------------------

    def _is_free(self, epc: str, start: float) -> bool:
        return self._busy_until.get(epc, -math.inf) <= start

    def _free_tag(self, rng: np.random.Generator, start: float, end: float) -> _Tag:
        """A tag not carried by another shopper around [start, end)."""
        tr = self.sc.traffic
        u = rng.random()
        if u < tr.member_share:
            cls, kind, pool = OBJECT_CLASS_MEMBER_CARD, TagKind.MEMBER_CARD, tr.members
        elif u < tr.member_share + tr.cart_share:
            cls, kind, pool = OBJECT_CLASS_CART, TagKind.CART, tr.carts
        else:
            cls, kind, pool = OBJECT_CLASS_BASKET, TagKind.BASKET, tr.baskets
        serial = 0
        for _ in range(20):
            if cls == OBJECT_CLASS_MEMBER_CARD:
                serial = self.members.pick(float(rng.random()))
            else:
                serial = int(rng.integers(1, pool + 1))
            if self._is_free(encode_gid96(GID_MANAGER, cls, serial), start):
                break
        else:  # busy store: look for any free one from a random place in the pool
            first = int(rng.integers(pool))
            for k in range(pool):
                serial = (first + k) % pool + 1
                if self._is_free(encode_gid96(GID_MANAGER, cls, serial), start):
                    break
            else:
                self._overflow += 1
                serial = pool + self._overflow
                logger.warning("all %d %s tags are in use; using an extra one", pool, kind)
        epc = encode_gid96(GID_MANAGER, cls, serial)
        cooldown = MEMBER_COOLDOWN_S if cls == OBJECT_CLASS_MEMBER_CARD else POOL_COOLDOWN_S
        self._busy_until[epc] = end + cooldown
        return _Tag(epc, kind, serial if cls == OBJECT_CLASS_MEMBER_CARD else None)

    # -- shoppers ---------------------------------------------------------------------------

    def _dwell(self, rng: np.random.Generator, median: float) -> float:
        d = self.sc.dwell
        return max(d.minimum_s, float(median * math.exp(rng.normal(0.0, d.sigma))))

    def _transit_median(self, zone: str) -> float:
        d = self.sc.dwell
        kind = self.kinds[zone]
        if kind == ZoneKind.ENTRANCE:
            return d.entrance_s
        if kind == ZoneKind.EXIT:
            return d.exit_s
        if kind == ZoneKind.CHECKOUT:
            return d.checkout_pass_s
        return d.aisle_s

    def plan_route(self, targets: list[str]) -> list[tuple[str, str | None]]:
        """(zone, target counter or None) from the entrance through the target counters,
        nearest first; the walk on to the checkout/exit is the caller's."""
        path: list[tuple[str, str | None]] = [(self.entrance, None)]
        here = self.entrance
        remaining = list(targets)
        while remaining:
            remaining.sort(
                key=lambda c: (route_cost(self.routes[here][self.counter_zone[c]], self.kinds), c)
            )
            nxt = remaining.pop(0)
            zone = self.counter_zone[nxt]
            route = self.routes[here][zone]
            if not route:  # two counters in one zone: the stay there serves both
                path[-1] = (path[-1][0], path[-1][1] or nxt)
                continue
            path.extend((step, None) for step in route[:-1])
            path.append((zone, nxt))
            here = zone
        return path

    def _shopper(
        self, sid: int, t0: float, day: date, rng: np.random.Generator, out: Truth
    ) -> None:
        targets = []
        for counter in self.counter_zone:
            attraction, _ = self.sc.behaviour(counter, day)
            if rng.random() < attraction:
                targets.append(counter)
        path = self.plan_route(targets)
        # Dwell and the decision to buy, zone by zone.
        plan: list[tuple[str, float, str | None]] = []
        bought: list[tuple[str, float]] = []  # (counter, amount before the member's level)
        for zone, target in path:
            if target is not None:
                beh = self.sc.counters[target]
                dwell = self._dwell(rng, beh.dwell_median_s)
                _, conversion = self.sc.behaviour(target, day)
                if rng.random() < conversion:
                    amount = float(beh.basket_mean * math.exp(rng.normal(-0.125, 0.5)))
                    bought.append((target, amount))
            else:
                dwell = self._dwell(rng, self._transit_median(zone))
            plan.append((zone, dwell, target))
        here = path[-1][0]
        d = self.sc.dwell
        if bought:
            for step in self.routes[here][self.checkout]:
                median = d.checkout_buy_s if step == self.checkout else self._transit_median(step)
                plan.append((step, self._dwell(rng, median), None))
            here = self.checkout
        for step in self.routes[here][self.exit]:
            plan.append((step, self._dwell(rng, self._transit_median(step)), None))
        tag = self._free_tag(rng, t0, t0 + sum(p[1] for p in plan))
        level = 1.0 if tag.member is None else self.members.spend_level(tag.member)
        paid_at = t0  # the goods are paid at the checkout, where the till sees card or cart
        t = t0
        for zone, dwell, _ in plan:
            out.visits.append(TrueVisit(sid, tag.epc, zone, t, t + dwell))
            if zone == self.checkout:
                paid_at = t + dwell * 0.7
            t += dwell
        for counter, amount in bought:
            out.purchases.append(
                TruePurchase(sid, tag.epc, counter, round(amount * level, 2), paid_at)
            )
        out.trips.append(
            TrueTrip(
                shopper_id=sid,
                epc=tag.epc,
                tag_kind=tag.kind,
                start=t0,
                end=t,
                zones=tuple(p[0] for p in plan),
                member=tag.member,
            )
        )

    # -- staff ------------------------------------------------------------------------------

    def _staff(self, day: date, lo: float, hi: float, rng: np.random.Generator, out: Truth) -> None:
        tr = self.sc.traffic
        zones = sorted(self.routes)
        for s in range(self.sc.staff):
            epc = encode_gid96(GID_MANAGER, OBJECT_CLASS_STAFF, s + 1)
            t = self._local(day, tr.open_hour) - 1800 + float(rng.uniform(0, 600))
            end = self._local(day, tr.close_hour) + 900
            zone = zones[int(rng.integers(len(zones)))]
            while t < end:
                dwell = float(rng.uniform(30, 400))
                if lo <= t < hi:
                    out.staff_visits.append(TrueVisit(STAFF_ID_BASE + s, epc, zone, t, t + dwell))
                t += dwell
                neighbours = self.graph[zone]
                if neighbours:
                    zone = neighbours[int(rng.integers(len(neighbours)))]


def simulate_shoppers(
    scenario: Scenario,
    layout: StoreLayout,
    *,
    start: datetime,
    end: datetime,
    rng: np.random.Generator | None = None,
) -> Truth:
    """Shoppers arriving in [start, end) and staff, with their true visits, purchases and trips.

    Without ``rng`` the world is the scenario seed's (the same shoppers whatever period is
    asked for); with one, another world, drawn from it.
    """
    seed = None if rng is None else int(rng.integers(0, 2**62))
    return ShopperSimulator(scenario, layout, seed=seed).simulate(start, end)


def simulate(scenario: Scenario, layout: StoreLayout, start: datetime, end: datetime) -> Truth:
    """:func:`simulate_shoppers` for the scenario's own seed."""
    return ShopperSimulator(scenario, layout).simulate(start, end)


def iter_days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at midnights (UTC)."""
    cur = start
    while cur < end:
        midnight = datetime.combine(cur.astimezone(UTC).date(), time(0), UTC)
        nxt = min(end, midnight + timedelta(days=1))
        yield cur, nxt
        cur = nxt
