"""``/followups``: tasks to contact a member, made by rules (a large purchase, a resolved
complaint, a tier upgrade) or by hand; due dates, outcomes, a staff task list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from storeflow.api.base import ApiModel

Trigger = Literal["purchase", "complaint_resolved", "tier_upgrade"]
FollowupOutcome = Literal["reached", "no_answer", "declined", "not_needed"]
# 'held_out': the member fell in the rule's hold-out group and is deliberately not contacted
RecordedOutcome = Literal["reached", "no_answer", "declined", "not_needed", "held_out"]


class RuleIn(ApiModel):
    name: str = Field(min_length=1, max_length=100)
    trigger: Trigger
    min_amount: Decimal | None = Field(default=None, ge=0, description="purchase: at least")
    tier: str | None = Field(default=None, description="tier_upgrade: only to this tier")
    due_days: int = Field(default=3, ge=0, le=365)
    title: str = Field(min_length=1, max_length=200)
    active: bool = True
    holdout_share: Decimal = Field(
        default=Decimal(0),
        ge=0,
        lt=1,
        decimal_places=3,
        description="share of triggered members kept uncontacted, to measure the effect",
    )


class RuleOut(RuleIn):
    rule_id: int


class FollowupIn(ApiModel):
    member_id: int
    title: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)
    due_on: date
    assignee: str | None = None


class OutcomeIn(ApiModel):
    outcome: FollowupOutcome
    note: str | None = Field(default=None, max_length=4000)
    at: datetime | None = None


class AssignFollowupIn(ApiModel):
    assignee: str = Field(min_length=1, max_length=200)


class FollowupOut(ApiModel):
    followup_id: int
    member_id: int
    member_name: str
    member_no: str
    phone: str | None
    may_contact: bool = Field(description="the member's marketing consent is in force")
    rule: str | None = Field(description="the rule that made it; null: made by hand")
    source: str
    title: str
    note: str | None
    due_on: date
    assignee: str | None
    created_at: datetime
    created_by: str
    done_at: datetime | None
    outcome: RecordedOutcome | None
    outcome_note: str | None
    overdue: bool


class SweepOut(ApiModel):
    purchases_read: int
    tier_changes_read: int
    created: int


class HoldoutGroup(ApiModel):
    group: Literal["contacted", "held_out"]
    members: int
    bought_again: int = Field(description="bought within the window after the triggering event")
    share: float | None


class HoldoutReport(ApiModel):
    """A rule's triggered members in the period, contacted (every task not held out, whatever
    came of it) against held out, and how many of each bought again within ``window_days``.
    Only tasks whose window has ended by ``end`` count; each member once, by their first task."""

    rule_id: int
    start: datetime
    end: datetime
    window_days: int
    groups: list[HoldoutGroup]
