"""The pure parts of customer care: which follow-up tasks an event makes, complaint deadlines,
lateness, status and outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from server.crm import sla
from server.crm.rules import (
    ComplaintResolved,
    Event,
    PurchaseMade,
    Rule,
    TierUpgraded,
    held_out,
    is_upgrade,
    tasks_for,
)

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
BIG = Rule(1, "big purchase", "purchase", "Thank them", due_days=3, min_amount=Decimal("2000"))
ANY_SALE = Rule(2, "any sale", "purchase", "Ask about the visit", due_days=1)
RESOLVED = Rule(3, "complaint resolved", "complaint_resolved", "Check they are happy", due_days=7)
TO_GOLD = Rule(4, "gold welcome", "tier_upgrade", "Welcome to Gold", due_days=5, tier="Gold")
ANY_TIER = Rule(5, "tier upgrade", "tier_upgrade", "Welcome", due_days=0)
OFF = Rule(6, "switched off", "purchase", "Never", active=False)
RULES = [BIG, ANY_SALE, RESOLVED, TO_GOLD, ANY_TIER, OFF]

CASES: list[tuple[str, Event, list[tuple[int, str, date]]]] = [  # (case, event, tasks)
    (
        "large sale: the threshold rule and the any-sale rule",
        PurchaseMade(10, 7, Decimal("2500.00"), AT),
        [(1, "purchase:10", date(2026, 11, 5)), (2, "purchase:10", date(2026, 11, 3))],
    ),
    (
        "sale exactly at the threshold counts",
        PurchaseMade(11, 7, Decimal("2000.00"), AT),
        [(1, "purchase:11", date(2026, 11, 5)), (2, "purchase:11", date(2026, 11, 3))],
    ),
    (
        "small sale: only the any-sale rule",
        PurchaseMade(12, 7, Decimal("1999.99"), AT),
        [(2, "purchase:12", date(2026, 11, 3))],
    ),
    ("non-member sale: nobody to follow up", PurchaseMade(13, None, Decimal("9000"), AT), []),
    (
        "resolved complaint of a member",
        ComplaintResolved(4, 7, AT),
        [(3, "complaint:4", date(2026, 11, 9))],
    ),
    ("resolved anonymous complaint: no task", ComplaintResolved(5, None, AT), []),
    (
        "upgrade to Gold: the Gold rule and the any-tier rule",
        TierUpgraded(7, "Gold", "Silver", AT),
        [
            (4, "tier:7:Gold:2026-11-02", date(2026, 11, 7)),
            (5, "tier:7:Gold:2026-11-02", AT.date()),
        ],
    ),
    (
        "upgrade to Silver: the any-tier rule only",
        TierUpgraded(7, "Silver", "Member", AT),
        [(5, "tier:7:Silver:2026-11-02", AT.date())],
    ),
]


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tasks_an_event_makes(event: Event, expected: list[tuple[int, str, date]]) -> None:
    tasks = tasks_for(event, RULES)
    assert [(t.rule_id, t.source, t.due_on) for t in tasks] == expected
    assert all(t.member_id == 7 for t in tasks)


def test_no_rules_no_tasks() -> None:
    assert tasks_for(PurchaseMade(1, 7, Decimal("99999"), AT), []) == []


@pytest.mark.parametrize(
    ("previous", "new", "upgrade"),
    [
        ("Member", "Silver", True),
        ("Silver", "VIP", True),
        ("Gold", "Silver", False),
        ("Gold", "Gold", False),
        (None, "Gold", False),
        ("Member", "Platinum", False),
    ],
)
def test_is_upgrade(previous: str | None, new: str, upgrade: bool) -> None:
    rank = {"Member": 0, "Silver": 1, "Gold": 2, "VIP": 3}
    assert is_upgrade(previous, new, rank) is upgrade


def test_deadlines_and_lateness() -> None:
    d = sla.due(AT, sla.Target(first_response_minutes=60, resolution_minutes=24 * 60))
    assert d.first_response == AT + timedelta(hours=1)
    assert d.resolution == AT + timedelta(days=1)
    hour = timedelta(hours=1)
    assert not sla.late(d.first_response, AT + hour, AT + 5 * hour)  # answered exactly in time
    assert sla.late(d.first_response, AT + 2 * hour, AT + 2 * hour)  # answered late
    assert sla.late(d.first_response, None, AT + 2 * hour)  # still not answered, past due
    assert not sla.late(d.first_response, None, AT + hour / 2)  # still time left


@pytest.mark.parametrize(
    ("assignee", "responded", "resolved", "status"),
    [
        (None, None, None, "open"),
        ("Zhou", None, None, "assigned"),
        ("Zhou", AT, None, "responded"),
        (None, AT, AT, "resolved"),
    ],
)
def test_status(
    assignee: str | None, responded: datetime | None, resolved: datetime | None, status: str
) -> None:
    assert (
        sla.status(assignee=assignee, first_response_at=responded, resolved_at=resolved) == status
    )


@pytest.mark.parametrize(
    ("resolved_at", "on_the_spot", "outcome"),
    [
        (AT, True, "on_the_spot"),
        (AT, False, "later"),
        (None, None, "unresolved"),
        (AT + timedelta(days=200), False, "unresolved"),  # resolved only after the as-of time
    ],
)
def test_outcome(resolved_at: datetime | None, on_the_spot: bool | None, outcome: str) -> None:
    assert (
        sla.outcome(
            resolved_at=resolved_at, on_the_spot=on_the_spot, as_of=AT + timedelta(days=100)
        )
        == outcome
    )


def test_holdout_draw_is_fixed_per_rule_and_member_and_near_its_share() -> None:
    assert not any(held_out(m, 1, Decimal(0)) for m in range(1000))
    draws = [held_out(m, 1, Decimal("0.2")) for m in range(4000)]
    assert draws == [held_out(m, 1, Decimal("0.2")) for m in range(4000)]  # same every time
    assert 700 < sum(draws) < 900  # about a fifth (fixed draws: this never changes)
    other_rule = [held_out(m, 2, Decimal("0.2")) for m in range(4000)]
    assert draws != other_rule  # each rule draws its own group
    rule = Rule(9, "thanks", "purchase", "Thank them", holdout_share=Decimal("0.2"))
    tasks = [tasks_for(PurchaseMade(m, m, Decimal(1), AT), [rule])[0] for m in range(1, 50)]
    assert [t.held_out for t in tasks] == [held_out(m, 9, Decimal("0.2")) for m in range(1, 50)]
