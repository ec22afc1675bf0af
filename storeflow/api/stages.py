"""Stage history: each member's class as of the days the class analysis ran.

``/members/{id}/stages`` (crm role) is one member's history; ``/stores/{store_id}/analytics/
members/transitions`` (planner) counts the moves between classes per month, members unnamed."""

from __future__ import annotations

from datetime import date

from storeflow.api.base import ApiModel


class StageSnapshot(ApiModel):
    store_id: str
    as_of: date
    member_class: str
    is_referrer: bool


class StagePeriod(ApiModel):
    """Consecutive snapshots of one store with the same class and referrer flag."""

    store_id: str
    member_class: str
    is_referrer: bool
    first: date  # the first snapshot in that class
    last: date  # the last one (a later snapshot shows another class, or none was taken since)
    snapshots: int


class MemberStages(ApiModel):
    member_id: int
    periods: list[StagePeriod]  # per store, oldest first
    snapshots: list[StageSnapshot]  # the newest ones (up to the limit), oldest first


class StageTransition(ApiModel):
    month: date  # the first day of the month
    from_class: str  # the class before this month; "new": no earlier snapshot of the member
    to_class: str  # the class at the month's last snapshot
    members: int


class StageTransitions(ApiModel):
    store_id: str
    months: list[date]  # the months counted, oldest first (first days)
    classes: list[str]  # row and column order of the matrix
    transitions: list[StageTransition]
    definition: str
