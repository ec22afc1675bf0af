"""Follow-up rules as data, and the pure decision of which tasks an event creates.

A rule has a trigger (``purchase``, ``complaint_resolved``, ``tier_upgrade``), optional
conditions (a minimum purchase total; the tier upgraded to), a title and how many days after the
event the task is due. Each task names its source event, so a rule makes at most one task per
event however often the events are read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: int
    name: str
    trigger: str
    title: str
    due_days: int = 3
    min_amount: Decimal | None = None
    tier: str | None = None
    active: bool = True
    holdout_share: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PurchaseMade:
    purchase_id: int
    member_id: int | None
    total: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintResolved:
    complaint_id: int
    member_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class TierUpgraded:
    member_id: int
    tier: str
    previous: str
    at: datetime


Event = PurchaseMade | ComplaintResolved | TierUpgraded


@dataclass(frozen=True, slots=True)
class Task:
    rule_id: int
    member_id: int
    source: str
    title: str
    due_on: date
    held_out: bool = False


def _source(event: Event) -> tuple[str, str, int | None]:
    """The event's trigger, its source label and its member."""
    if isinstance(event, PurchaseMade):
        return "purchase", f"purchase:{event.purchase_id}", event.member_id
    if isinstance(event, ComplaintResolved):
        return "complaint_resolved", f"complaint:{event.complaint_id}", event.member_id
    day = event.at.date().isoformat()
    return "tier_upgrade", f"tier:{event.member_id}:{event.tier}:{day}", event.member_id


def matches(rule: Rule, event: Event) -> bool:
    trigger, _, member_id = _source(event)
    if not rule.active or rule.trigger != trigger or member_id is None:
        return False
    if isinstance(event, PurchaseMade) and rule.min_amount is not None:
        return event.total >= rule.min_amount
    if isinstance(event, TierUpgraded) and rule.tier is not None:
        return event.tier == rule.tier
    return True


def tasks_for(event: Event, rules: list[Rule]) -> list[Task]:
    """The tasks ``event`` creates under ``rules`` (none for a sale or complaint with no member)."""
    _, source, member_id = _source(event)
    return [
        Task(
            rule_id=r.rule_id,
            member_id=member_id,
            source=source,
            title=r.title,
            due_on=(event.at + timedelta(days=r.due_days)).date(),
            held_out=held_out(member_id, r.rule_id, r.holdout_share),
        )
        for r in rules
        if matches(r, event) and member_id is not None
    ]


def is_upgrade(previous: str | None, new: str, rank: dict[str, int]) -> bool:
    """A tier change to a higher tier (an unknown tier name is never an upgrade)."""
    if previous is None or previous not in rank or new not in rank:
        return False
    return rank[new] > rank[previous]


def held_out(member_id: int, rule_id: int, share: Decimal) -> bool:
    """Whether this member is in the rule's hold-out group: a fixed draw per (rule, member), so
    a member stays in the same group for every event of that rule, and the group's size tends to
    ``share`` of the members triggered."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"holdout:{rule_id}:{member_id}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64) < share
