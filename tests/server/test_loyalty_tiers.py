"""Tier rules, rolling 12-month qualifying spend, and tier decisions (up now, down at review)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from server.loyalty import (
    TierRules,
    add_months,
    evaluate_tier,
    load_tier_rules,
    next_review_date,
    parse_tier_rules,
    qualifying_spend,
    review_on_or_before,
)
from storeflow.yamlconf import ConfigError

D = Decimal
CST = timezone(timedelta(hours=8))
RULES = TierRules()
APRIL = TierRules(review_month_day=(4, 1))


def t(y: int, m: int, d: int, hh: int = 12, mm: int = 0, tz: timezone = CST) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


# ----------------------------------------------------------------------------------- rules

TIERS_YAML = """\
tiers:
  - {name: Basic, min_spend_12m: 0, discount_rate: 0, points_multiplier: 1}
  - {name: Plus, min_spend_12m: 1000.50, discount_rate: 0.03, points_multiplier: 1.25}
review_month_day: [4, 1]
"""


def test_tier_rules_load_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_path = tmp_path / "tiers.yaml"
    yaml_path.write_text(TIERS_YAML, encoding="utf-8")
    rules = load_tier_rules(yaml_path)
    assert [t.name for t in rules.tiers] == ["Basic", "Plus"]
    assert rules.get("Plus").min_spend_12m == D("1000.50")
    assert rules.get("Plus").points_multiplier == D("1.25")
    assert rules.review_month_day == (4, 1)

    json_path = tmp_path / "tiers.json"
    json_path.write_text(json.dumps(rules.model_dump(mode="json")), encoding="utf-8")
    assert load_tier_rules(json_path) == rules


def _tier(name: str, spend: str) -> str:
    return f"{{name: {name}, min_spend_12m: {spend}, discount_rate: 0, points_multiplier: 1}}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"tiers: [{_tier('A', '10')}]\n", "the first tier (A) must start at 0"),
        (
            f"tiers: [{_tier('A', '0')}, {_tier('B', '100')}, {_tier('C', '100')}]\n",
            "rising min_spend_12m: C (100) after B (100)",
        ),
        (f"tiers: [{_tier('A', '0')}, {_tier('A', '100')}]\n", "tier names must be unique"),
        ("tiers: []\n", "tiers: List should have at least 1 item"),
        ("review_month_day: [2, 29]\n", "review_month_day 2-29 is not a date in every year"),
        ("review_month_day: [13, 1]\n", "not a date in every year"),
        ("reviewday: [1, 1]\n", "<string>:1: reviewday: Extra inputs are not permitted"),
        (
            "tiers:\n  - {name: A, min_spend_12m: 0, discount_rate: 1.5, points_multiplier: 1}\n",
            "<string>:2: tiers[0].discount_rate",
        ),
        (
            "tiers:\n  - {name: A, min_spend_12m: 0.001, discount_rate: 0, points_multiplier: 1}\n",
            "<string>:2: tiers[0].min_spend_12m",
        ),
    ],
)
def test_bad_tier_rules(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_tier_rules(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("spend", "tier"),
    [
        ("0", "Member"),
        ("-10", "Member"),
        ("4999.99", "Member"),
        ("5000.00", "Silver"),  # exactly at the threshold
        ("19999.99", "Silver"),
        ("20000", "Gold"),
        ("49999.99", "Gold"),
        ("50000.00", "VIP"),
        ("1000000", "VIP"),
    ],
)
def test_for_spend(spend: str, tier: str) -> None:
    assert RULES.for_spend(D(spend)).name == tier


def test_rank_and_unknown_tier() -> None:
    assert [RULES.rank(n) for n in ("Member", "Silver", "Gold", "VIP")] == [0, 1, 2, 3]
    with pytest.raises(KeyError, match="unknown tier 'Platinum'; known: Member, Silver"):
        RULES.get("Platinum")


@pytest.mark.parametrize(
    ("when", "months", "expected"),
    [
        (date(2025, 5, 15), 12, date(2026, 5, 15)),
        (date(2025, 5, 15), -12, date(2024, 5, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), -12, date(2023, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 1, 15), 0, date(2025, 1, 15)),
    ],
)
def test_add_months(when: date, months: int, expected: date) -> None:
    assert add_months(when, months) == expected


# ---------------------------------------------------------------------------- qualifying spend

AS_OF = t(2025, 6, 15, 12)


@pytest.mark.parametrize(
    ("purchases", "expected"),
    [
        ([], "0.00"),
        ([(t(2025, 6, 1), "100.00"), (t(2025, 1, 1), "250.50")], "350.50"),
        # window: (as_of - 12 months, as_of]
        ([(t(2024, 6, 15, 12), "100.00")], "0.00"),  # exactly 12 months before: out
        ([(t(2024, 6, 15, 12, 1), "100.00")], "100.00"),  # a minute later: in
        ([(AS_OF, "100.00")], "100.00"),  # at as_of: in
        ([(AS_OF + timedelta(seconds=1), "100.00")], "0.00"),  # after as_of: out
        # the same instant written in another zone
        ([(t(2024, 6, 15, 4, 0, UTC), "100.00")], "0.00"),
        ([(t(2024, 6, 15, 4, 1, UTC), "100.00")], "100.00"),
        # returns are netted
        ([(t(2025, 3, 1), "500.00"), (t(2025, 3, 5), "-120.00")], "380.00"),
        # a return in the window of a purchase before it: net negative counts as 0
        ([(t(2024, 5, 1), "900.00"), (t(2025, 1, 5), "-900.00")], "0.00"),
        ([(t(2024, 5, 1), "900.00"), (t(2025, 1, 5), "-900.00"), (t(2025, 2, 1), "50")], "0.00"),
    ],
)
def test_qualifying_spend(purchases: list[tuple[datetime, str]], expected: str) -> None:
    got = qualifying_spend([(at, D(amount)) for at, amount in purchases], as_of=AS_OF)
    assert got == D(expected)
    assert got.as_tuple().exponent == -2


def test_qualifying_spend_on_leap_day() -> None:
    as_of = t(2024, 2, 29, 12)  # 12 months earlier is 28 Feb 2023, 12:00
    purchases = [(t(2023, 2, 28, 12), D(1)), (t(2023, 2, 28, 13), D(10)), (t(2023, 3, 1), D(100))]
    assert qualifying_spend(purchases, as_of=as_of) == D("110.00")


def test_qualifying_spend_needs_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        qualifying_spend([], as_of=datetime(2025, 1, 1))


# ------------------------------------------------------------------------------ review dates


@pytest.mark.parametrize(
    ("rules", "after", "expected"),
    [
        (RULES, date(2025, 6, 10), date(2026, 1, 1)),
        (RULES, date(2025, 12, 31), date(2026, 1, 1)),
        (RULES, date(2026, 1, 1), date(2027, 1, 1)),  # strictly after
        (RULES, date(2024, 2, 29), date(2025, 1, 1)),
        (APRIL, date(2025, 3, 31), date(2025, 4, 1)),
        (APRIL, date(2025, 4, 1), date(2026, 4, 1)),
        (APRIL, date(2025, 1, 1), date(2025, 4, 1)),
    ],
)
def test_next_review_date(rules: TierRules, after: date, expected: date) -> None:
    assert next_review_date(after, rules) == expected


@pytest.mark.parametrize(
    ("rules", "day", "expected"),
    [
        (RULES, date(2025, 6, 10), date(2025, 1, 1)),
        (RULES, date(2025, 1, 1), date(2025, 1, 1)),
        (RULES, date(2024, 12, 31), date(2024, 1, 1)),
        (APRIL, date(2025, 3, 31), date(2024, 4, 1)),
        (APRIL, date(2025, 4, 1), date(2025, 4, 1)),
    ],
)
def test_review_on_or_before(rules: TierRules, day: date, expected: date) -> None:
    assert review_on_or_before(day, rules) == expected


# ---------------------------------------------------------------------------- tier decisions

LAST = date(2025, 1, 1)  # the last review
MID_YEAR = t(2025, 6, 15)
REVIEW_DAY = t(2026, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("rules", "current", "spend", "as_of", "last_review", "new", "change", "review"),
    [
        # upgrades: immediately, exactly at the threshold, straight up several steps
        (RULES, "Member", "4999.99", MID_YEAR, LAST, "Member", "keep", None),
        (RULES, "Member", "5000.00", MID_YEAR, LAST, "Silver", "upgrade", None),
        (RULES, "Member", "20000.00", MID_YEAR, LAST, "Gold", "upgrade", None),
        (RULES, "Member", "50000.00", MID_YEAR, LAST, "VIP", "upgrade", None),
        (RULES, "Silver", "49999.99", MID_YEAR, LAST, "Gold", "upgrade", None),
        (RULES, "Gold", "20000.00", MID_YEAR, LAST, "Gold", "keep", None),
        # no downgrade mid-year, however far the spend falls
        (RULES, "Gold", "19999.99", MID_YEAR, LAST, "Gold", "keep", None),
        (RULES, "VIP", "0.00", MID_YEAR, LAST, "VIP", "keep", None),
        (RULES, "Gold", "100.00", t(2025, 12, 31, 23, 59), LAST, "Gold", "keep", None),
        # downgrade at the review, by exactly as far as the spend says
        (RULES, "Gold", "19999.99", REVIEW_DAY, LAST, "Silver", "downgrade", date(2026, 1, 1)),
        (RULES, "Gold", "4999.99", REVIEW_DAY, LAST, "Member", "downgrade", date(2026, 1, 1)),
        (RULES, "VIP", "20000.00", REVIEW_DAY, LAST, "Gold", "downgrade", date(2026, 1, 1)),
        (RULES, "VIP", "5000.00", REVIEW_DAY, LAST, "Silver", "downgrade", date(2026, 1, 1)),
        # ... or after it, when the evaluation runs late (reviews missed: the latest one counts)
        (RULES, "Gold", "6000.00", t(2026, 2, 3), LAST, "Silver", "downgrade", date(2026, 1, 1)),
        (RULES, "VIP", "0.00", t(2027, 3, 1), LAST, "Member", "downgrade", date(2027, 1, 1)),
        # at the review the spend still qualifies: keep, and the review is recorded
        (RULES, "Gold", "20000.00", REVIEW_DAY, LAST, "Gold", "keep", date(2026, 1, 1)),
        (RULES, "Silver", "60000.00", REVIEW_DAY, LAST, "VIP", "upgrade", date(2026, 1, 1)),
        # the review already done this year: the next downgrade waits for next year
        (RULES, "Gold", "0.00", t(2026, 1, 2), date(2026, 1, 1), "Gold", "keep", None),
        # a member who joined mid-year is first reviewed on the next review date
        (RULES, "Silver", "0.00", t(2025, 12, 1), date(2025, 6, 10), "Silver", "keep", None),
        (
            RULES,
            "Silver",
            "0",
            REVIEW_DAY,
            date(2025, 6, 10),
            "Member",
            "downgrade",
            REVIEW_DAY.date(),
        ),
        # the review date is read in the zone of as_of: 1 Jan 04:00 in +08 is the review day
        (RULES, "Gold", "0.00", t(2025, 12, 31, 20, 0, UTC), LAST, "Gold", "keep", None),
        (
            RULES,
            "Gold",
            "0.00",
            t(2025, 12, 31, 20, 0, UTC).astimezone(CST),
            LAST,
            "Member",
            "downgrade",
            date(2026, 1, 1),
        ),
        # another review date
        (APRIL, "Gold", "0.00", t(2026, 3, 31), date(2025, 4, 1), "Gold", "keep", None),
        (
            APRIL,
            "Gold",
            "0",
            t(2026, 4, 1),
            date(2025, 4, 1),
            "Member",
            "downgrade",
            date(2026, 4, 1),
        ),
    ],
)
def test_evaluate_tier(
    rules: TierRules,
    current: str,
    spend: str,
    as_of: datetime,
    last_review: date,
    new: str,
    change: str,
    review: date | None,
) -> None:
    decision = evaluate_tier(current, D(spend), as_of=as_of, rules=rules, last_review=last_review)
    assert (decision.new_tier, decision.change) == (new, change)
    assert decision.review_date == review
    assert decision.effective_at == as_of
    assert current in decision.reason and new in decision.reason


def test_decision_reasons() -> None:
    up = evaluate_tier("Member", D("20000.00"), as_of=MID_YEAR, rules=RULES, last_review=LAST)
    assert up.reason == "upgrade Member -> Gold: spend 20000.00 reaches Gold at 20000.00"
    wait = evaluate_tier("Gold", D("6000.00"), as_of=MID_YEAR, rules=RULES, last_review=LAST)
    assert wait.reason == (
        "keep Gold: spend 6000.00 reaches only Silver; the downgrade waits for the review on "
        "2026-01-01"
    )
    down = evaluate_tier("Gold", D("6000.00"), as_of=REVIEW_DAY, rules=RULES, last_review=LAST)
    assert down.reason == (
        "downgrade Gold -> Silver at review 2026-01-01: spend 6000.00 is below Gold at 20000.00"
    )


def test_a_year_of_decisions() -> None:
    """Follow one member through a year, storing each review as the decision says."""
    tier, last_review = "Member", date(2025, 1, 1)
    script = [
        (t(2025, 3, 1), "6000.00", "Silver"),
        (t(2025, 5, 1), "25000.00", "Gold"),
        (t(2025, 9, 1), "3000.00", "Gold"),  # fell, but no downgrade mid-year
        (t(2026, 1, 1, 9), "7000.00", "Silver"),  # review: to what the spend says
        (t(2026, 1, 20), "100.00", "Silver"),  # review done: wait for 2027
        (t(2026, 8, 1), "5000.00", "Silver"),
        (t(2027, 1, 1, 9), "0.00", "Member"),
    ]
    for as_of, spend, expected in script:
        decision = evaluate_tier(tier, D(spend), as_of=as_of, rules=RULES, last_review=last_review)
        assert decision.new_tier == expected, (as_of, decision.reason)
        tier = decision.new_tier
        if decision.review_date is not None:
            last_review = decision.review_date
    assert last_review == date(2027, 1, 1)


def test_evaluate_tier_refuses_unknown_tier_and_naive_time() -> None:
    with pytest.raises(KeyError, match="unknown tier 'Bronze'"):
        evaluate_tier("Bronze", D(0), as_of=MID_YEAR, rules=RULES, last_review=LAST)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_tier("Gold", D(0), as_of=datetime(2025, 6, 1), rules=RULES, last_review=LAST)
