"""Simulated shoppers: deterministic, physically consistent, and true to the scenario."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from firmware_sim.cli import DEFAULT_SCENARIO
from firmware_sim.encoders import GID_MANAGER
from firmware_sim.model import TrueVisit
from firmware_sim.scenario import Promotion, Scenario, load_scenario
from firmware_sim.shoppers import (
    MemberPopulation,
    ShopperSimulator,
    iter_days,
    shortest_paths,
    simulate,
    simulate_shoppers,
)
from firmware_sim.truth import Truth
from storeflow.epc import OBJECT_CLASS_MEMBER_CARD, OBJECT_CLASS_STAFF, encode_gid96
from storeflow.layout import StoreLayout, ZoneKind, load_layout
from storeflow.wire import TagKind

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(DEFAULT_SCENARIO)


@pytest.fixture(scope="module")
def layout(scenario: Scenario) -> StoreLayout:
    return load_layout(scenario.layout)


@pytest.fixture(scope="module")
def week(scenario: Scenario, layout: StoreLayout) -> Truth:
    return simulate(scenario, layout, MONDAY, MONDAY + timedelta(days=7))


def stays(visits: list[TrueVisit]) -> dict[int, list[TrueVisit]]:
    out: dict[int, list[TrueVisit]] = defaultdict(list)
    for v in visits:
        out[v.shopper_id].append(v)
    return out


@pytest.mark.parametrize(
    ("src", "dst", "route"),
    [
        ("ENT", "A2", ["A2"]),
        ("ENT", "C01", ["A2", "A1", "C01"]),
        ("ENT", "C06", ["A2", "A1", "A4", "C06"]),  # aisles rather than through C02
        ("C03", "CHK", ["A3", "CHK"]),
        ("C05", "EXIT", ["A4", "A5", "A3", "CHK", "EXIT"]),
        ("A3", "A3", []),
    ],
)
def test_routes_prefer_aisles(layout: StoreLayout, src: str, dst: str, route: list[str]) -> None:
    assert shortest_paths(layout)[src][dst] == route


def test_same_seed_same_world_and_another_rng_another(
    scenario: Scenario, layout: StoreLayout
) -> None:
    end = MONDAY + timedelta(days=1)
    a = simulate_shoppers(scenario, layout, start=MONDAY, end=end)
    b = simulate_shoppers(scenario, layout, start=MONDAY, end=end)
    assert a == b and len(a.trips) > 300
    c = simulate_shoppers(scenario, layout, start=MONDAY, end=end, rng=np.random.default_rng(1))
    d = simulate_shoppers(scenario, layout, start=MONDAY, end=end, rng=np.random.default_rng(1))
    assert c == d and c.visits != a.visits


def test_pieces_give_the_same_world_as_one_go(scenario: Scenario, layout: StoreLayout) -> None:
    end = MONDAY + timedelta(days=1)
    whole = ShopperSimulator(scenario, layout).simulate(MONDAY, end)
    sim = ShopperSimulator(scenario, layout)
    cut = MONDAY + timedelta(hours=15, minutes=17)
    first, second = sim.simulate(MONDAY, cut), sim.simulate(cut, end)
    assert first.trips + second.trips == whole.trips
    assert sorted(first.visits + second.visits, key=lambda v: (v.enter, v.shopper_id)) == (
        whole.visits
    )
    assert first.staff_visits + second.staff_visits == whole.staff_visits


def test_paths_are_contiguous_walks_from_entrance_to_exit(week: Truth, layout: StoreLayout) -> None:
    adj = layout.adjacency()
    kinds = {z.code: z.kind for z in layout.zones}
    trips = {t.shopper_id: t for t in week.trips}
    by_shopper = stays(week.visits)
    assert set(trips) == set(by_shopper)
    for sid, visits in by_shopper.items():
        assert kinds[visits[0].zone] == ZoneKind.ENTRANCE
        assert kinds[visits[-1].zone] == ZoneKind.EXIT
        for a, b in zip(visits, visits[1:], strict=False):
            assert b.enter == a.exit and b.zone in adj[a.zone]
        assert all(v.exit - v.enter >= 8.0 for v in visits)
        trip = trips[sid]
        assert trip.zones == tuple(v.zone for v in visits)
        assert (trip.start, trip.end) == (visits[0].enter, visits[-1].exit)


def test_a_tag_is_in_one_place_at_a_time(week: Truth) -> None:
    per_tag: dict[str, list[TrueVisit]] = defaultdict(list)
    for v in week.visits:
        per_tag[v.epc].append(v)
    for visits in per_tag.values():
        visits.sort(key=lambda v: v.enter)
        for a, b in zip(visits, visits[1:], strict=False):
            assert b.enter >= a.exit


def test_arrivals_follow_opening_hours_and_weekdays(scenario: Scenario, week: Truth) -> None:
    tr = scenario.traffic
    hours = Counter(datetime.fromtimestamp(t.start, UTC).hour for t in week.trips)
    assert set(hours) <= set(range(tr.open_hour, tr.close_hour))
    per_day = Counter(datetime.fromtimestamp(t.start, UTC).weekday() for t in week.trips)
    for weekday, n in per_day.items():
        expected = tr.trips_per_day * tr.weekday_factors[weekday]
        assert abs(n - expected) < 4 * expected**0.5  # Poisson
    assert per_day[5] > per_day[0]  # Saturday is busier than Monday


def test_tag_mix_and_returning_members(scenario: Scenario, week: Truth) -> None:
    kinds = Counter(t.tag_kind for t in week.trips)
    n = len(week.trips)
    assert kinds[TagKind.MEMBER_CARD] / n == pytest.approx(scenario.traffic.member_share, abs=0.03)
    assert kinds[TagKind.CART] / n == pytest.approx(scenario.traffic.cart_share, abs=0.03)
    members = [t.member for t in week.trips if t.member is not None]
    assert all(1 <= m <= scenario.traffic.members for m in members)
    visits_per_member = Counter(members)
    returning = [m for m, k in visits_per_member.items() if k > 1]
    assert len(returning) > 100
    assert max(visits_per_member.values()) <= 14  # nobody lives in the store
    for t in week.trips:
        if t.member is not None:
            assert t.epc == encode_gid96(GID_MANAGER, OBJECT_CLASS_MEMBER_CARD, t.member)
    carts = {t.epc for t in week.trips if t.tag_kind == TagKind.CART}
    assert len(carts) <= scenario.traffic.carts


def test_purchases_are_from_visited_counters_and_paid_at_the_checkout(
    week: Truth, layout: StoreLayout
) -> None:
    counter_zone = {c.code: c.zone for c in layout.counters}
    by_shopper = stays(week.visits)
    for p in week.purchases:
        visits = by_shopper[p.shopper_id]
        assert counter_zone[p.counter] in [v.zone for v in visits]
        assert p.epc == visits[0].epc and p.amount > 0
        paid = [v for v in visits if v.zone == "CHK"]
        assert len(paid) == 1 and paid[0].enter <= p.at <= paid[0].exit


def test_conversion_and_attraction_match_the_scenario(scenario: Scenario, week: Truth) -> None:
    n = len(week.trips)
    visitors: dict[str, set[int]] = defaultdict(set)
    for v in week.visits:
        if v.zone.startswith("C"):
            visitors[v.zone].add(v.shopper_id)
    buyers: dict[str, set[int]] = defaultdict(set)
    for p in week.purchases:
        buyers[p.counter].add(p.shopper_id)
    for code in ("C01", "C03", "C07"):
        b = scenario.counters[code]
        # Visitors include a few who walk through; conversion is among those who came for it.
        assert len(visitors[code]) / n == pytest.approx(b.attraction, abs=0.04)
        assert len(buyers[code]) / len(visitors[code]) == pytest.approx(b.conversion, abs=0.05)


def test_a_planted_promotion_shows_in_the_truth(scenario: Scenario, layout: StoreLayout) -> None:
    promo = Promotion(
        counter="C06", start=date(2026, 11, 5), end=date(2026, 11, 8), attraction_uplift=1.5
    )
    sc = scenario.model_copy(update={"promotion": promo})
    truth = simulate(sc, layout, MONDAY, MONDAY + timedelta(days=7))

    def share(days: set[int]) -> float:
        trips = [t for t in truth.trips if datetime.fromtimestamp(t.start, UTC).day in days]
        return sum("C06" in t.zones for t in trips) / len(trips)

    before, during = share({2, 3, 4}), share({5, 6, 7, 8})
    assert during == pytest.approx(before * 2.5, rel=0.3)


def test_staff_walk_all_day_with_staff_tags(scenario: Scenario, week: Truth) -> None:
    staff_epcs = {
        encode_gid96(GID_MANAGER, OBJECT_CLASS_STAFF, i + 1) for i in range(scenario.staff)
    }
    assert {v.epc for v in week.staff_visits} == staff_epcs
    assert not staff_epcs & {v.epc for v in week.visits}
    first = min(v.enter for v in week.staff_visits)
    assert datetime.fromtimestamp(first, UTC).hour == scenario.traffic.open_hour - 1


def test_member_population_is_uneven_but_capped(scenario: Scenario) -> None:
    pop = MemberPopulation.draw(scenario.traffic, seed=1)
    rates = np.diff(np.concatenate([[0.0], pop.cumulative]))
    assert rates.max() <= scenario.traffic.member_activity_cap * rates.mean() * 1.001
    assert np.sort(rates)[-len(rates) // 5 :].sum() / rates.sum() > 0.4
    assert pop.spend.mean() == pytest.approx(1.0, abs=0.1)
    assert pop.pick(0.0) >= 1 and pop.pick(0.999999) <= scenario.traffic.members


def test_opening_hours_are_local_time(scenario: Scenario, layout: StoreLayout) -> None:
    store = layout.store.model_copy(update={"timezone": "Asia/Shanghai"})
    shanghai = layout.model_copy(update={"store": store})
    start = datetime(2026, 11, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    truth = simulate(scenario, shanghai, start, start + timedelta(days=1))
    hours = {datetime.fromtimestamp(t.start, ZoneInfo("Asia/Shanghai")).hour for t in truth.trips}
    tr = scenario.traffic
    assert min(hours) == tr.open_hour and max(hours) == tr.close_hour - 1


def test_naive_times_are_refused(scenario: Scenario, layout: StoreLayout) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate(scenario, layout, datetime(2026, 11, 2), datetime(2026, 11, 3))


@pytest.mark.parametrize(
    ("start", "end", "n"),
    [
        (MONDAY, MONDAY + timedelta(days=1), 1),
        (MONDAY + timedelta(hours=11), MONDAY + timedelta(days=2, hours=3), 3),
        (MONDAY, MONDAY, 0),
    ],
)
def test_iter_days_cuts_at_midnight(start: datetime, end: datetime, n: int) -> None:
    pieces = list(iter_days(start, end))
    assert len(pieces) == n
    if pieces:
        assert pieces[0][0] == start and pieces[-1][1] == end
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))


def test_two_weeks_of_a_busy_store(scenario: Scenario, layout: StoreLayout) -> None:
    """How fast this runs is ``storeflow bench sim``'s business, not a test's."""
    truth = simulate(scenario, layout, MONDAY, MONDAY + timedelta(days=14))
    assert 9_000 < len(truth.trips) < 14_000
