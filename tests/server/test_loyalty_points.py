"""Earning rules, points earning, lots (spend, expiry, reversal), and the ledger entries made."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from server.loyalty import (
    DEFAULT_TIERS,
    Allocation,
    EarningRules,
    InsufficientPoints,
    LedgerEntry,
    Line,
    Lot,
    Promotion,
    Tier,
    TierRules,
    debit_entries,
    debt_settlement_entries,
    earn_entry,
    earn_for_purchase,
    expire,
    expiry_entries,
    expiry_for,
    load_earning_rules,
    lot_changes,
    parse_earning_rules,
    place_multiplier,
    plan_reversal,
    redemption_entries,
    return_entries,
    reverse_for_return,
    settle_debt,
    spend_fifo,
)
from storeflow.yamlconf import ConfigError
from tests.helpers.ledger import owed, replay

D = Decimal
CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 5, 1, 12, 0, tzinfo=CST)
TIERS = TierRules()
MEMBER, SILVER, GOLD, VIP = (TIERS.get(n) for n in ("Member", "Silver", "Gold", "VIP"))


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 5, day, hour, 0, tzinfo=CST)


def line(amount: str, counter: str | None = "C01", category: str | None = "apparel") -> Line:
    return Line(sku="SKU-1", counter=counter, category=category, quantity=1, amount=D(amount))


RULES = EarningRules(
    counter_multipliers={"C07-cosmetics": D("1.5"), "C12-tobacco": D(0), "C20-outlet": D("0.5")},
    category_multipliers={"fresh": D("1.2"), "beauty": D(2)},
    promotions=[
        Promotion(name="double-days", start=at(1, 0), end=at(4, 0), multiplier=D(2)),
        Promotion(
            name="beauty-week",
            start=at(1, 0),
            end=at(8, 0),
            categories=["beauty"],
            counters=["C07-cosmetics"],
            multiplier=D(3),
        ),
    ],
)


# ----------------------------------------------------------------------------------- rules


def test_default_tiers() -> None:
    assert [
        (t.name, t.min_spend_12m, t.discount_rate, t.points_multiplier) for t in TIERS.tiers
    ] == [
        ("Member", D(0), D(0), D(1)),
        ("Silver", D(5000), D("0.02"), D("1.2")),
        ("Gold", D(20000), D("0.05"), D("1.5")),
        ("VIP", D(50000), D("0.08"), D(2)),
    ]
    assert list(DEFAULT_TIERS) == TIERS.tiers
    assert TIERS.review_month_day == (1, 1)


def test_default_earning_rules() -> None:
    rules = EarningRules()
    assert rules.base_points_per_unit == 1
    assert rules.rounding == "floor"
    assert rules.expiry_months == 12
    assert rules.promotions == [] and rules.counter_multipliers == {}


EARNING_YAML = """\
base_points_per_unit: 0.1
counter_multipliers: {C07: 1.5}
category_multipliers:
  fresh: 1.2
promotions:
  - name: anniversary
    start: 2025-05-01T00:00:00+08:00
    end: 2025-05-04T00:00:00+08:00
    counters: [C07]
    multiplier: 2
expiry_months: 24
"""


def test_earning_rules_load_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_path = tmp_path / "earning.yaml"
    yaml_path.write_text(EARNING_YAML, encoding="utf-8")
    from_yaml = load_earning_rules(yaml_path)
    assert from_yaml.base_points_per_unit == D("0.1")
    assert from_yaml.counter_multipliers == {"C07": D("1.5")}
    assert from_yaml.promotions[0].start == at(1, 0)
    assert from_yaml.expiry_months == 24

    json_path = tmp_path / "earning.json"
    json_path.write_text(json.dumps(from_yaml.model_dump(mode="json")), encoding="utf-8")
    assert load_earning_rules(json_path) == from_yaml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base_points: 1\n", "<string>:1: base_points: Extra inputs are not permitted"),
        ("rounding: half_up\n", "<string>:1: rounding: Input should be 'floor'"),
        ("counter_multipliers: {C1: -1}\n", "<string>:1: counter_multipliers.C1"),
        ("expiry_months: 0\n", "<string>:1: expiry_months"),
        (
            "promotions:\n  - {name: p, start: 2025-05-01T00:00:00, "
            "end: 2025-05-02T00:00:00+08:00, multiplier: 2}\n",
            "<string>:2: promotions[0].start: Input should have timezone info",
        ),
        (
            "promotions:\n  - {name: p, start: 2025-05-02T00:00:00Z, "
            "end: 2025-05-01T00:00:00Z, multiplier: 2}\n",
            "end must be after start",
        ),
        (
            "promotions:\n"
            "  - {name: p, start: 2025-05-01T00:00Z, end: 2025-05-02T00:00Z, multiplier: 2}\n"
            "  - {name: p, start: 2025-06-01T00:00Z, end: 2025-06-02T00:00Z, multiplier: 3}\n",
            "promotion names must be unique: p",
        ),
        (
            "promotions:\n  - {name: p, start: 2025-05-01T00:00:00Z, "
            "end: 2025-05-02T00:00:00Z, multiplier: 0}\n",
            "promotions[0].multiplier",
        ),
    ],
)
def test_bad_earning_rules_name_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_earning_rules(text)
    assert message in str(info.value)


# --------------------------------------------------------------------------------- earning


@pytest.mark.parametrize(
    ("counter", "category", "expected"),
    [
        (None, None, D(1)),
        ("C01", "apparel", D(1)),  # neither configured
        ("C07-cosmetics", "apparel", D("1.5")),  # counter only
        ("C01", "fresh", D("1.2")),  # category only
        ("C07-cosmetics", "fresh", D("1.5")),  # both: the larger, not 1.5 x 1.2
        ("C07-cosmetics", "beauty", D(2)),  # both: the larger
        ("C12-tobacco", None, D(0)),  # configured at 0 earns nothing
        ("C12-tobacco", "fresh", D("1.2")),  # both: the larger
        ("C20-outlet", "apparel", D("0.5")),  # configured below 1 applies
    ],
)
def test_place_multiplier(counter: str | None, category: str | None, expected: Decimal) -> None:
    assert place_multiplier(RULES, counter=counter, category=category) == expected


@pytest.mark.parametrize(
    ("lines", "when", "tier", "expected"),
    [
        # base: 1 point per unit, floor
        ([line("99.99")], at(10), MEMBER, [99]),
        ([line("0.99")], at(10), MEMBER, [0]),
        ([line("0.00")], at(10), MEMBER, [0]),
        # tier multiplier: 9.99 x 1.2 = 11.988 -> 11
        ([line("9.99")], at(10), SILVER, [11]),
        ([line("100.00")], at(10), GOLD, [150]),
        ([line("100.00")], at(10), VIP, [200]),
        # place x tier: 100 x 1.5 (counter) x 1.5 (Gold)
        ([line("100.00", "C07-cosmetics", "apparel")], at(10), GOLD, [225]),
        # counter/category: the larger (1.5), not the product (1.8)
        ([line("100.00", "C07-cosmetics", "fresh")], at(10), MEMBER, [150]),
        # promotion active for everyone: 100 x 2
        ([line("100.00")], at(2), MEMBER, [200]),
        # promotions do not stack: beauty-week (3) beats double-days (2), not 6
        ([line("100.00", "C01", "beauty")], at(2), MEMBER, [600]),  # 100 x 2 (place) x 3
        ([line("100.00", "C07-cosmetics", None)], at(2), MEMBER, [450]),  # 1.5 x 3
        # all together: 10.01 x 2 (beauty) x 1.2 (Silver) x 3 (promotion) = 72.072 -> 72
        ([line("10.01", "C07-cosmetics", "beauty")], at(5), SILVER, [72]),
        # promotion window: start inclusive, end exclusive
        ([line("100.00")], at(1, 0), MEMBER, [200]),
        ([line("100.00")], at(4, 0), MEMBER, [100]),
        ([line("100.00")], at(4, 0) - timedelta(microseconds=1), MEMBER, [200]),
        # the promotion applies to the instant, whatever the time zone it is written in
        ([line("100.00")], at(3, 23).astimezone(UTC), MEMBER, [200]),
        # zero-rated counter
        ([line("100.00", "C12-tobacco", None)], at(2), VIP, [0]),
        # several lines floor each on its own: 3 x floor(3.33 x 1.2 = 3.996) = 9, not 11
        ([line("3.33"), line("3.33"), line("3.33")], at(10), SILVER, [3, 3, 3]),
        ([], at(10), MEMBER, []),
    ],
)
def test_earn_for_purchase(
    lines: list[Line], when: datetime, tier: Tier, expected: list[int]
) -> None:
    result = earn_for_purchase(lines, at=when, tier=tier, rules=RULES)
    assert result.per_line == expected
    assert result.points_total == sum(expected)


def test_base_points_per_unit_below_one() -> None:
    rules = EarningRules(base_points_per_unit=D("0.1"))  # 1 point per 10 currency units
    result = earn_for_purchase([line("99.99"), line("100.00")], at=T0, tier=MEMBER, rules=rules)
    assert result.per_line == [9, 10]


def test_large_amounts_are_exact() -> None:
    amount = "123456789012.35"
    result = earn_for_purchase([line(amount)], at=at(10), tier=SILVER, rules=RULES)
    assert result.per_line == [int(D(amount) * D("1.2") // 1)] == [148148146814]


@pytest.mark.parametrize("amount", ["-1.00", "1.005", "NaN", "Infinity"])
def test_line_rejects_bad_amounts(amount: str) -> None:
    with pytest.raises(ValueError, match="SKU-1"):
        line(amount)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        earn_for_purchase([line("1.00")], at=datetime(2025, 5, 1), tier=MEMBER, rules=RULES)


@pytest.mark.parametrize(
    ("earned_at", "months", "expires_at"),
    [
        (datetime(2025, 5, 1, 12, tzinfo=CST), 12, datetime(2026, 5, 1, 12, tzinfo=CST)),
        (datetime(2024, 2, 29, 9, tzinfo=CST), 12, datetime(2025, 2, 28, 9, tzinfo=CST)),
        (datetime(2025, 1, 31, 9, tzinfo=UTC), 1, datetime(2025, 2, 28, 9, tzinfo=UTC)),
        (datetime(2025, 11, 30, 9, tzinfo=UTC), 3, datetime(2026, 2, 28, 9, tzinfo=UTC)),
    ],
)
def test_expiry_for(earned_at: datetime, months: int, expires_at: datetime) -> None:
    assert expiry_for(earned_at, EarningRules(expiry_months=months)) == expires_at


# ------------------------------------------------------------------------------------ lots


def lot(lot_id: str, earned_day: int, expires_day: int, points: int, remaining: int) -> Lot:
    return Lot(lot_id, at(earned_day), at(expires_day), points, remaining)


LOTS = [
    lot("c", 3, 30, 50, 50),
    lot("a", 1, 20, 100, 40),
    lot("b", 2, 20, 30, 30),  # same expiry as "a", earned later
    lot("x", 1, 5, 70, 70),  # expired from day 5 noon
    lot("z", 1, 25, 10, 0),  # empty
]


@pytest.mark.parametrize(
    ("points", "when", "expected"),
    [
        (0, at(5), []),
        (10, at(5), [Allocation("a", 10)]),
        (40, at(5), [Allocation("a", 40)]),
        (41, at(5), [Allocation("a", 40), Allocation("b", 1)]),
        (120, at(5), [Allocation("a", 40), Allocation("b", 30), Allocation("c", 50)]),
        # just before "x" expires it is spent first
        (75, at(5) - timedelta(seconds=1), [Allocation("x", 70), Allocation("a", 5)]),
    ],
)
def test_spend_fifo(points: int, when: datetime, expected: list[Allocation]) -> None:
    assert spend_fifo(LOTS, points, at=when) == expected


def test_spend_fifo_is_all_or_nothing() -> None:
    with pytest.raises(InsufficientPoints) as info:
        spend_fifo(LOTS, 121, at=at(5))  # "x" (70) has expired: only 120 left
    assert (info.value.available, info.value.requested) == (120, 121)
    with pytest.raises(InsufficientPoints) as info:
        spend_fifo(LOTS, 1, at=at(30))
    assert (info.value.available, info.value.requested) == (0, 1)
    with pytest.raises(ValueError, match="negative"):
        spend_fifo(LOTS, -1, at=at(5))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(4), []),
        (at(5), [Allocation("x", 70)]),  # exactly at expires_at counts as expired
        (at(20), [Allocation("x", 70), Allocation("a", 40), Allocation("b", 30)]),
        (
            at(31),
            [Allocation("x", 70), Allocation("a", 40), Allocation("b", 30), Allocation("c", 50)],
        ),
    ],
)
def test_expire(when: datetime, expected: list[Allocation]) -> None:
    assert expire(LOTS, at=when) == expected


def test_settle_debt_takes_what_there_is() -> None:
    assert settle_debt(LOTS, 50, at=at(5)) == [Allocation("a", 40), Allocation("b", 10)]
    assert settle_debt(LOTS, 500, at=at(5)) == [
        Allocation("a", 40),
        Allocation("b", 30),
        Allocation("c", 50),
    ]


def test_lot_remaining_is_bounded() -> None:
    with pytest.raises(ValueError, match="remaining"):
        lot("bad", 1, 2, 10, 11)
    with pytest.raises(ValueError, match="remaining"):
        lot("bad", 1, 2, 10, -1)


# -------------------------------------------------------------------------------- reversal


@pytest.mark.parametrize(
    ("earned", "amounts", "before", "now", "expected"),
    [
        ([100], ["100.00"], ["0"], ["100.00"], 100),  # full return
        ([100], ["100.00"], ["0"], ["0"], 0),
        ([100], ["100.00"], ["0"], ["33.33"], 33),
        ([100], ["100.00"], ["33.33"], ["33.33"], 33),  # floor(66.66) - floor(33.33)
        ([100], ["100.00"], ["66.66"], ["33.34"], 34),  # the remainder, exactly
        ([7], ["3.00"], ["0"], ["1.00"], 2),  # floor(7/3)
        ([7], ["3.00"], ["1.00"], ["1.00"], 2),  # floor(14/3) - 2
        ([7], ["3.00"], ["2.00"], ["1.00"], 3),  # 7 - 4: sums to 7
        # per line: only the returned line's points
        ([150, 40], ["100.00", "40.00"], ["0", "0"], ["0", "40.00"], 40),
        ([150, 40], ["100.00", "40.00"], ["0", "0"], ["50.00", "20.00"], 95),
        ([0], ["0.00"], ["0"], ["0"], 0),  # a free item
        ([], [], [], [], 0),
    ],
)
def test_reverse_for_return(
    earned: list[int], amounts: list[str], before: list[str], now: list[str], expected: int
) -> None:
    got = reverse_for_return(
        earned_per_line=earned,
        line_amounts=[D(a) for a in amounts],
        already_returned_amounts=[D(b) for b in before],
        returning_amounts=[D(n) for n in now],
    )
    assert got == expected


@pytest.mark.parametrize(
    ("amounts", "before", "now", "message"),
    [
        (["10.00", "5.00"], ["0", "0"], ["0", "5.01"], "line 1: returning 5.01"),
        (["10.00", "5.00"], ["0", "4.00"], ["0", "1.01"], "line 1: .*exceeds the 5.00 bought"),
        (["10.00"], ["0"], ["-1.00"], "line 0: returning must not be negative"),
        (["10.00"], ["0"], ["1.001"], "line 0 returning must be a finite amount"),
        (["10.00"], ["0"], ["1.00", "1.00"], "differ in length"),
    ],
)
def test_reverse_for_return_refuses(
    amounts: list[str], before: list[str], now: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        reverse_for_return(
            earned_per_line=[10] * len(amounts),
            line_amounts=[D(a) for a in amounts],
            already_returned_amounts=[D(b) for b in before],
            returning_amounts=[D(n) for n in now],
        )


def test_partial_returns_never_reverse_more_than_earned() -> None:
    rng = random.Random(7)
    for _ in range(300):
        cents = rng.randint(1, 100_000)
        amount = D(cents) / 100
        earned = rng.randint(0, 5000)
        returned = 0
        reversed_total = 0
        while returned < cents:
            step = cents - returned if rng.random() < 0.2 else rng.randint(1, cents - returned)
            reversed_total += reverse_for_return(
                earned_per_line=[earned],
                line_amounts=[amount],
                already_returned_amounts=[D(returned) / 100],
                returning_amounts=[D(step) / 100],
            )
            returned += step
            assert 0 <= reversed_total <= earned
            assert reversed_total == earned * returned // cents
        assert reversed_total == earned


@pytest.mark.parametrize(
    ("points", "prefer", "expected_from", "shortfall"),
    [
        (0, (), [], 0),
        (30, (), [Allocation("c", 30)], 0),  # newest earned first
        (60, (), [Allocation("c", 50), Allocation("b", 10)], 0),
        (120, (), [Allocation("c", 50), Allocation("b", 30), Allocation("a", 40)], 0),
        # the rest was already spent (and "x" has expired)
        (200, (), [Allocation("c", 50), Allocation("b", 30), Allocation("a", 40)], 80),
        # the purchase's own lot first
        (60, ("a",), [Allocation("a", 40), Allocation("c", 20)], 0),
        (10, ("z",), [Allocation("c", 10)], 0),  # its lot is empty: spent already
    ],
)
def test_plan_reversal(
    points: int, prefer: tuple[str, ...], expected_from: list[Allocation], shortfall: int
) -> None:
    plan = plan_reversal(LOTS, points, at=at(5), prefer_lot_ids=prefer)
    assert plan.from_lots == expected_from
    assert plan.shortfall == shortfall
    assert sum(a.points for a in plan.from_lots) + plan.shortfall == points


# ---------------------------------------------------------------------------------- ledger


def entry(
    kind: str, points: int, lot_id: str | None, day: int = 1, expires_day: int | None = None
) -> LedgerEntry:
    return LedgerEntry(
        kind,  # type: ignore[arg-type]
        points,
        lot_id,
        at(day),
        "till-1",
        "test",
        ref="P-1",
        expires_at=None if expires_day is None else at(expires_day),
    )


@pytest.mark.parametrize(
    ("kind", "points", "lot_id", "expires_day", "message"),
    [
        ("earn", 0, "L1", 20, "points must be positive"),
        ("earn", 10, None, 20, "lot_id is required"),
        ("earn", 10, "L1", None, "expires_at is required"),
        ("earn", 10, "L1", 1, "expires_at must be after at"),
        ("redeem", 10, "L1", None, "points must be negative"),
        ("redeem", -10, None, None, "lot_id is required"),
        ("expire", 0, "L1", None, "points must be negative"),
        ("reverse", 5, None, None, "points must be negative"),
        ("adjust", 0, None, None, "must not be zero"),
        ("adjust", 5, "L1", None, "expires_at is required"),
        ("redeem", -5, "L1", 20, "expires_at only belongs"),
    ],
)
def test_ledger_entry_rules(
    kind: str, points: int, lot_id: str | None, expires_day: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        entry(kind, points, lot_id, expires_day=expires_day)


def test_ledger_entry_needs_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LedgerEntry("adjust", 5, None, datetime(2025, 5, 1), "a", "r")


def test_ledger_replay() -> None:
    entries = [
        entry("earn", 100, "L1", 1, 20),
        entry("earn", 50, "L2", 2, 21),
        entry("redeem", -30, "L1", 3),
        entry("adjust", 20, "L3", 3, 22),  # goodwill points: a lot of their own
        entry("reverse", -50, "L2", 4),
        entry("reverse", -15, None, 4),  # already spent: a debt
        entry("adjust", -5, "L1", 5),
        entry("expire", -65, "L1", 20),
        entry("adjust", 10, None, 21),  # pays off part of the debt ...
        entry("adjust", -10, "L3", 21),  # ... out of a lot
    ]
    lots = replay(entries)
    assert lots == [
        Lot("L1", at(1), at(20), 100, 0),
        Lot("L2", at(2), at(21), 50, 0),
        Lot("L3", at(3), at(22), 20, 10),
    ]
    assert owed(entries) == 5
    assert sum(e.points for e in entries) == 5 == sum(lot.remaining for lot in lots) - 5


@pytest.mark.parametrize(
    ("entries", "created", "taken"),
    [
        ([], [], {}),
        ([entry("reverse", -15, None)], [], {}),  # a debt touches no lot
        ([entry("earn", 10, "L1", 1, 9)], [Lot("L1", at(1), at(9), 10, 10)], {}),
        ([entry("redeem", -4, "L1"), entry("redeem", -3, "L2")], [], {"L1": 4, "L2": 3}),
        # several entries on one existing lot add up
        (
            [entry("adjust", -4, "L1"), entry("adjust", 4, None), entry("expire", -2, "L1")],
            [],
            {"L1": 6},
        ),
        # a lot created and taken from in one batch is created with what is left of it
        (
            [entry("earn", 10, "L1", 1, 9), entry("redeem", -4, "L1"), entry("redeem", -1, "L0")],
            [Lot("L1", at(1), at(9), 10, 6)],
            {"L0": 1},
        ),
    ],
)
def test_lot_changes(entries: list[LedgerEntry], created: list[Lot], taken: dict[str, int]) -> None:
    changes = lot_changes(entries)
    assert (changes.created, changes.taken) == (created, taken)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([entry("earn", 10, "L1", 1, 9), entry("earn", 5, "L1", 2, 9)], "entry 1: lot L1 created"),
        ([entry("redeem", -1, "L1"), entry("earn", 5, "L1", 2, 9)], "entry 1: lot L1 created"),
        (
            [entry("earn", 10, "L1", 1, 9), entry("redeem", -11, "L1")],
            "entry 1: redeem of 11 from lot L1 which has 10 left",
        ),
    ],
)
def test_inconsistent_entries_are_refused(entries: list[LedgerEntry], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lot_changes(entries)


def test_debit_entries() -> None:
    got = debit_entries(
        "redeem",
        [Allocation("L1", 10), Allocation("L2", 3)],
        at=T0,
        actor="till-1",
        reason="redeemed at till",
        ref="P-9",
    )
    assert [(e.kind, e.points, e.lot_id, e.ref) for e in got] == [
        ("redeem", -10, "L1", "P-9"),
        ("redeem", -3, "L2", "P-9"),
    ]


# ------------------------------------------------------------------------- entry builders

Row = tuple[str, int, str | None, str, str | None]  # kind, points, lot, reason, ref


def rows(entries: list[LedgerEntry], when: datetime, actor: str) -> list[Row]:
    assert all(e.at == when and e.actor == actor for e in entries)
    return [(e.kind, e.points, e.lot_id, e.reason, e.ref) for e in entries]


@pytest.mark.parametrize(
    ("points", "when", "months"),
    [(1, at(10), 12), (450, at(2), 1), (7, datetime(2024, 2, 29, 9, tzinfo=CST), 12)],
)
def test_earn_entry(points: int, when: datetime, months: int) -> None:
    rules = EarningRules(expiry_months=months)
    e = earn_entry(points, lot_id="L9", at=when, rules=rules, actor="till-1", purchase_id=42)
    assert rows([e], when, "till-1") == [("earn", points, "L9", "purchase", "purchase:42")]
    assert e.creates_lot and e.expires_at == expiry_for(when, rules)


def test_earn_entry_refuses_nothing_earned() -> None:
    with pytest.raises(ValueError, match="points must be positive"):
        earn_entry(0, lot_id="L9", at=T0, rules=RULES, actor="till-1", purchase_id=42)


@pytest.mark.parametrize(
    ("points", "when", "expected"),
    [
        (10, at(5), [("redeem", -10, "a", "gift", "redemption:k")]),
        (
            41,
            at(5),
            [
                ("redeem", -40, "a", "gift", "redemption:k"),
                ("redeem", -1, "b", "gift", "redemption:k"),
            ],
        ),
        # "x" is still spendable a second before it expires, and goes first
        (
            75,
            at(5) - timedelta(seconds=1),
            [
                ("redeem", -70, "x", "gift", "redemption:k"),
                ("redeem", -5, "a", "gift", "redemption:k"),
            ],
        ),
    ],
)
def test_redemption_entries(points: int, when: datetime, expected: list[Row]) -> None:
    got = redemption_entries(LOTS, points, at=when, actor="till-1", reason="gift", key="k")
    assert rows(got, when, "till-1") == expected


def test_redemption_entries_are_all_or_nothing() -> None:
    with pytest.raises(InsufficientPoints) as info:
        redemption_entries(LOTS, 121, at=at(5), actor="till-1", reason="gift", key="k")
    assert (info.value.available, info.value.requested) == (120, 121)


DEBT = "goods returned; points already spent (debt)"


@pytest.mark.parametrize(
    ("points", "prefer", "expected", "shortfall"),
    [
        (30, (), [("reverse", -30, "c", "goods returned", "return:7:R1")], 0),
        # the purchase's own lot first, then the newest
        (
            60,
            ("a",),
            [
                ("reverse", -40, "a", "goods returned", "return:7:R1"),
                ("reverse", -20, "c", "goods returned", "return:7:R1"),
            ],
            0,
        ),
        # what the lots cannot cover was spent: one lot-less entry, a debt
        (
            200,
            ("z",),
            [
                ("reverse", -50, "c", "goods returned", "return:7:R1"),
                ("reverse", -30, "b", "goods returned", "return:7:R1"),
                ("reverse", -40, "a", "goods returned", "return:7:R1"),
                ("reverse", -80, None, DEBT, "return:7:R1"),
            ],
            80,
        ),
    ],
)
def test_return_entries(
    points: int, prefer: tuple[str, ...], expected: list[Row], shortfall: int
) -> None:
    got = return_entries(
        LOTS,
        points,
        at=at(5),
        actor="till-1",
        purchase_id=7,
        return_id="R1",
        purchase_lot_ids=prefer,
    )
    assert rows(got.entries, at(5), "till-1") == expected
    assert got.shortfall == shortfall == owed(got.entries)
    assert -sum(e.points for e in got.entries) == points


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(4), []),
        (at(5), [("expire", -70, "x", "points expired", None)]),
        (
            at(20),
            [
                ("expire", -70, "x", "points expired", None),
                ("expire", -40, "a", "points expired", None),
                ("expire", -30, "b", "points expired", None),
            ],
        ),
    ],
)
def test_expiry_entries(when: datetime, expected: list[Row]) -> None:
    assert rows(expiry_entries(LOTS, at=when, actor="nightly"), when, "nightly") == expected


SETTLED = ("points owed paid off", "debt")


@pytest.mark.parametrize(
    ("owed_points", "expected"),
    [
        (0, []),
        (10, [("adjust", -10, "a", *SETTLED), ("adjust", 10, None, *SETTLED)]),
        (
            50,
            [
                ("adjust", -40, "a", *SETTLED),
                ("adjust", 40, None, *SETTLED),
                ("adjust", -10, "b", *SETTLED),
                ("adjust", 10, None, *SETTLED),
            ],
        ),
        # more owed than the lots hold: what there is ("x" has expired)
        (
            500,
            [
                ("adjust", -40, "a", *SETTLED),
                ("adjust", 40, None, *SETTLED),
                ("adjust", -30, "b", *SETTLED),
                ("adjust", 30, None, *SETTLED),
                ("adjust", -50, "c", *SETTLED),
                ("adjust", 50, None, *SETTLED),
            ],
        ),
    ],
)
def test_debt_settlement_entries(owed_points: int, expected: list[Row]) -> None:
    got = debt_settlement_entries(LOTS, owed_points, at=at(5), actor="till-1")
    assert rows(got, at(5), "till-1") == expected
    assert sum(e.points for e in got) == 0  # the balance stays put


@dataclass
class _Member:
    """An independent, simple model of a member's points to check the ledger against."""

    remaining: dict[str, int]
    owed: int


def _random_history(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    rules = EarningRules(expiry_months=rng.choice([1, 2, 12]))
    now = datetime(2025, 1, 1, 9, tzinfo=CST)
    entries: list[LedgerEntry] = []
    model = _Member(remaining={}, owed=0)
    purchase_lots: list[str] = []

    def record(new: list[LedgerEntry]) -> None:
        entries.extend(new)
        for e in new:
            if e.lot_id is None:
                model.owed -= e.points
            else:
                model.remaining[e.lot_id] = model.remaining.get(e.lot_id, 0) + e.points

    for step in range(steps):
        now += timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
        lots = replay(entries)
        op = rng.choice(["earn", "earn", "redeem", "redeem", "expire", "reverse", "settle"])
        if op == "earn":
            amount = D(rng.randint(0, 50_000)) / 100
            tier = rng.choice(TIERS.tiers)
            points = earn_for_purchase([line(str(amount))], at=now, tier=tier, rules=rules)
            if points.points_total > 0:
                lot_id = f"L{step}"
                purchase_lots.append(lot_id)
                record(
                    [
                        earn_entry(
                            points.points_total,
                            lot_id=lot_id,
                            at=now,
                            rules=rules,
                            actor="till",
                            purchase_id=step,
                        )
                    ]
                )
        elif op == "redeem":
            want = rng.randint(1, 400)
            try:
                new = redemption_entries(
                    lots, want, at=now, actor="till", reason="r", key=f"{step}"
                )
            except InsufficientPoints as exc:
                assert exc.available < want
                assert exc.available == sum(
                    x.remaining for x in lots if x.remaining and now < x.expires_at
                )
                continue
            assert -sum(e.points for e in new) == want
            record(new)
        elif op == "expire":
            new = expiry_entries(lots, at=now, actor="job")
            assert all(x.remaining == 0 for x in lots if now >= x.expires_at) == (not new)
            record(new)
        elif op == "reverse" and purchase_lots:
            own = rng.choice(purchase_lots)
            earned = next(e.points for e in entries if e.lot_id == own and e.kind == "earn")
            want = rng.randint(1, earned)
            reversal = return_entries(
                lots,
                want,
                at=now,
                actor="till",
                purchase_id=step,
                return_id="R",
                purchase_lot_ids={own},
            )
            assert -sum(e.points for e in reversal.entries) == want
            record(reversal.entries)
        elif op == "settle" and model.owed:
            record(debt_settlement_entries(lots, model.owed, at=now, actor="job"))

        lots = replay(entries)
        assert all(x.remaining >= 0 for x in lots)
        assert {x.lot_id: x.remaining for x in lots} == model.remaining
        assert owed(entries) == model.owed >= 0
        total = sum(e.points for e in entries)
        assert total == sum(x.remaining for x in lots) - owed(entries)
        if model.owed == 0:
            assert total == sum(x.remaining for x in lots) >= 0


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_keep_the_ledger_consistent(seed: int) -> None:
    _random_history(seed, steps=60)
