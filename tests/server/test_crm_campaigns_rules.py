"""Triggered contacts, the pure parts: which members each rule picks, the steps from picked to
contact list (consent, cooldown, cap, hold-out draw), the intervals of the uplift, and the rule
models' checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from server.crm.contact_plan import cap_window, default_seed, holdout_split, plan_contacts
from server.crm.triggers import (
    Candidate,
    anniversary_match,
    anniversary_window,
    birthday_between,
    birthdays,
    browsed_not_bought,
    in_year,
    near_tier,
    next_tier_gap,
    points_expiring,
)
from server.crm.uplift import bootstrap_mean_difference, compare, newcombe_difference, wilson
from server.loyalty.rules import TierRules
from storeflow.api.campaigns import CampaignFile, TriggerRule

RULE = TypeAdapter[TriggerRule](TriggerRule)


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        (date(1990, 6, 15), 2026, date(2026, 6, 15)),
        (date(1992, 2, 29), 2026, date(2026, 2, 28)),
        (date(1992, 2, 29), 2028, date(2028, 2, 29)),
    ],
)
def test_a_date_in_another_year(day: date, year: int, expected: date) -> None:
    assert in_year(day, year) == expected


@pytest.mark.parametrize(
    ("birth", "first", "days", "expected"),
    [
        (date(1990, 6, 15), date(2026, 6, 15), 1, date(2026, 6, 15)),
        (date(1990, 6, 15), date(2026, 6, 14), 1, None),
        (date(1990, 6, 15), date(2026, 6, 9), 7, date(2026, 6, 15)),
        (date(1990, 6, 15), date(2026, 6, 8), 7, None),
        (date(1990, 1, 2), date(2026, 12, 30), 7, date(2027, 1, 2)),  # across the new year
        (date(1992, 2, 29), date(2026, 2, 28), 1, date(2026, 2, 28)),
    ],
)
def test_birthday_between(birth: date, first: date, days: int, expected: date | None) -> None:
    assert birthday_between(birth, first, days) == expected


def test_birthdays_name_the_day() -> None:
    got = birthdays(
        [(2, date(1980, 3, 3)), (1, date(1970, 3, 1)), (3, date(1970, 4, 1))], date(2026, 3, 1), 7
    )
    assert got == [
        Candidate(1, "birthday on 2026-03-01"),
        Candidate(2, "birthday on 2026-03-03"),
    ]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([date(2025, 5, 8)], date(2025, 5, 8)),  # a year before, to the day
        ([date(2025, 5, 5)], date(2025, 5, 5)),  # 3 days early: within the tolerance
        ([date(2025, 5, 4)], None),  # 4 days early: not
        ([date(2023, 5, 11)], date(2023, 5, 11)),  # three years back
        ([date(2022, 5, 8)], None),  # four years back: beyond years_back
        ([date(2026, 5, 8)], None),  # this year's is no anniversary
        ([date(2024, 5, 7), date(2025, 5, 10)], date(2025, 5, 10)),  # the latest hit
    ],
)
def test_anniversary_match(days: list[date], expected: date | None) -> None:
    target = date(2026, 5, 8)
    assert anniversary_match(days, target, years_back=3, tolerance_days=3) == expected
    first, last = anniversary_window(target, years_back=3, tolerance_days=3)
    assert (first, last) == (date(2023, 5, 5), date(2025, 5, 11))
    assert all(first <= d <= last for d in ([expected] if expected else []))


def test_next_tier_gap_follows_the_ladder() -> None:
    rules = TierRules()  # Member 0, Silver 5000, Gold 20000, VIP 50000
    assert next_tier_gap("Member", Decimal("4000"), rules) == (rules.tiers[1], Decimal("1000"))
    assert next_tier_gap("Silver", Decimal("4000"), rules) == (rules.tiers[2], Decimal("16000"))
    assert next_tier_gap("Member", Decimal("5000"), rules) is None  # an upgrade is due
    assert next_tier_gap("VIP", Decimal("0"), rules) is None  # the top
    assert next_tier_gap("Bronze", Decimal("0"), rules) is None  # unknown


def test_near_tier_uses_the_qualifying_spend() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    purchases = [
        (1, at - timedelta(days=30), Decimal("4200")),
        (2, at - timedelta(days=30), Decimal("4200")),
        (2, at - timedelta(days=10), Decimal("-1000")),  # a return: 3200 left, 1800 short
        (3, at - timedelta(days=400), Decimal("4900")),  # older than 12 months
        (4, at + timedelta(days=1), Decimal("4900")),  # after the run
    ]
    members = [(1, "Member"), (2, "Member"), (3, "Member"), (4, "Member")]
    got = near_tier(members, purchases, as_of=at, rules=TierRules(), within=Decimal("1000"))
    assert [c.member_id for c in got] == [1]
    assert got[0].reason == "800.00 short of Silver (12-month spend 4200.00)"


def test_points_expiring_keeps_enough_points() -> None:
    first = datetime(2026, 6, 20, tzinfo=UTC)
    got = points_expiring([(1, 150, first), (2, 99, first)], min_points=100)
    assert got == [Candidate(1, "150 points expire, the first on 2026-06-20")]


def test_browsed_not_bought() -> None:
    visits = [(1, "C06", 3), (1, "C01", 5), (2, "C06", 1), (3, "C06", 4)]
    got = browsed_not_bought(visits, {(1, "C01")}, min_visits=2, days=30)
    assert got == [
        Candidate(1, "3 visits to C06 in 30 days, never bought there"),
        Candidate(3, "4 visits to C06 in 30 days, never bought there"),
    ]


# --------------------------------------------------------------------------- contact plan


def test_holdout_split_is_seeded_and_keeps_the_share_on_average() -> None:
    ids = list(range(1, 41))
    assert holdout_split(ids, Decimal("0.25"), 7) == holdout_split(ids[::-1], Decimal("0.25"), 7)
    assert holdout_split(ids, Decimal("0.25"), 7) != holdout_split(ids, Decimal("0.25"), 8)
    sizes = [len(holdout_split(ids, Decimal("0.25"), s)) for s in range(400)]
    assert set(sizes) == {10}  # 0.25 x 40 is whole
    small = [len(holdout_split([1, 2, 3], Decimal("0.2"), s)) for s in range(2000)]
    assert set(small) == {0, 1} and np.mean(small) == pytest.approx(0.6, abs=0.05)
    assert holdout_split(ids, Decimal(0), 1) == set()
    assert holdout_split([], Decimal("0.5"), 1) == set()


def test_default_seed_is_fixed_per_rule_and_day() -> None:
    a = default_seed(3, date(2026, 6, 1))
    assert a == default_seed(3, date(2026, 6, 1)) and 0 <= a < 2**63
    assert a != default_seed(3, date(2026, 6, 2)) != default_seed(4, date(2026, 6, 1))


def test_cap_window_covers_every_window_holding_the_day() -> None:
    assert cap_window(date(2026, 6, 15), 14) == (date(2026, 6, 2), date(2026, 6, 28))
    assert cap_window(date(2026, 6, 15), 1) == (date(2026, 6, 15), date(2026, 6, 15))


def test_the_steps_from_picked_to_the_list() -> None:
    picked = [Candidate(i, f"r{i}") for i in range(1, 9)]
    plan = plan_contacts(
        picked,
        tracked={2, 3, 4, 5, 6, 7, 8},  # 1: no tracking consent
        reachable={1, 3, 4, 5, 6, 7, 8},  # 2: no marketing consent
        recently_picked={1, 2, 3},  # 3: picked lately (1 and 2 dropped before)
        contacts_near={4: 2, 5: 1},  # 4: at the cap of 2
        cap=2,
        holdout_share=Decimal("0.5"),
        seed=11,
    )
    assert plan.dropped == {"not_tracked": 1, "not_contactable": 1, "cooled_down": 1, "capped": 1}
    listed = sorted(c.member_id for c in [*plan.contacted, *plan.held_out])
    assert listed == [5, 6, 7, 8] and len(plan.held_out) == 2
    assert plan.held_out == [c for c in picked if c.member_id in holdout_split(listed, 0.5, 11)]
    no_tracking = plan_contacts(
        picked[:2],
        tracked=None,
        reachable={1, 2},
        recently_picked=set(),
        contacts_near={},
        cap=1,
        holdout_share=0,
        seed=1,
    )
    assert [c.member_id for c in no_tracking.contacted] == [1, 2] and not no_tracking.held_out


# --------------------------------------------------------------------------- intervals


def test_wilson_interval() -> None:
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    with pytest.raises(ValueError):
        wilson(3, 0)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17: 873-890, table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0),
    ],
)
def test_newcombe_interval_matches_the_published_examples(
    k1: int, n1: int, k2: int, n2: int, low: float, high: float
) -> None:
    got = newcombe_difference(k1, n1, k2, n2)
    assert got is not None
    assert (got.low, got.high) == pytest.approx((low, high), abs=5e-4)
    assert got.estimate == pytest.approx(k1 / n1 - k2 / n2)


def test_an_empty_group_has_no_difference() -> None:
    assert newcombe_difference(1, 2, 0, 0) is None
    assert bootstrap_mean_difference([1.0, 2.0], [3.0], seed=1) is None


def test_bootstrap_interval_covers_a_known_difference() -> None:
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(40):
        a = rng.exponential(100.0, 300) + 20.0
        b = rng.exponential(100.0, 300)
        got = bootstrap_mean_difference(a.tolist(), b.tolist(), seed=int(rng.integers(1e9)))
        assert got is not None
        hits += got.low <= 20.0 <= got.high
    assert hits >= 34  # 95 % coverage: 38 of 40 expected


def test_compare_counts_buyers_and_spend() -> None:
    cmp = compare([(True, 100.0), (False, 0.0)], [(False, 0.0), (False, 0.0)], seed=1)
    assert (cmp.contacted.members, cmp.contacted.buyers, cmp.contacted.spend) == (2, 1, 100.0)
    assert cmp.contacted.purchase_rate == 0.5 and cmp.held_out.spend_per_member == 0.0
    assert cmp.purchase_rate is not None and cmp.purchase_rate.estimate == 0.5


# --------------------------------------------------------------------------- rule models


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "lapse"}, "a lapse rule runs for one store"),
        ({"kind": "browsed_not_bought"}, "a browsed_not_bought rule runs for one store"),
        ({"kind": "purchase_anniversary"}, "needs a category or a counter"),
        ({"kind": "purchase_anniversary", "counter": "C01"}, "give the rule's store_id"),
        ({"kind": "near_tier"}, "within_amount"),
        ({"kind": "birthday", "days_befor": 3}, "Extra inputs are not permitted"),
        ({"kind": "birthday", "holdout_share": 1}, "holdout_share"),
        ({"kind": "raffle"}, "does not match any of the expected tags"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RULE.validate_python({"name": "x", "message": "m", **rule})


def test_the_example_rules_file_reads() -> None:
    from storeflow.yamlconf import load_yaml

    f = load_yaml("config/campaigns.example.yaml", CampaignFile)
    assert sorted(r.kind for r in f.rules) == sorted(
        [
            "birthday",
            "purchase_anniversary",
            "lapse",
            "points_expiring",
            "near_tier",
            "browsed_not_bought",
        ]
    )
    assert f.frequency_cap is not None and f.frequency_cap.contacts == 2
