"""``/complaints``: record, assign, respond, resolve; open and overdue lists; figures per counter
and category; targets per severity; whether complainants came back to buy."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from storeflow.api.base import ApiModel

Channel = Literal["in_store", "phone", "email", "web", "social"]
Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["open", "assigned", "responded", "resolved"]
Outcome = Literal["on_the_spot", "later", "unresolved"]


class ComplaintIn(ApiModel):
    member_id: int | None = Field(default=None, description="null: an anonymous complaint")
    store_id: str
    channel: Channel
    category: str = Field(min_length=1, max_length=100)
    counter: str | None = None
    severity: Severity
    text: str = Field(min_length=1, max_length=4000)
    at: datetime | None = Field(default=None, description="when it was made (default: now)")


class AssignIn(ApiModel):
    assignee: str = Field(min_length=1, max_length=200)
    at: datetime | None = None


class RespondIn(ApiModel):
    text: str = Field(min_length=1, max_length=4000)
    at: datetime | None = None


class ResolveIn(ApiModel):
    resolution: str = Field(min_length=1, max_length=4000)
    on_the_spot: bool = Field(
        default=False, description="settled while the customer was there (at the counter)"
    )
    at: datetime | None = None


class ComplaintEvent(ApiModel):
    at: datetime
    kind: str
    actor: str
    text: str | None


class FollowupMade(ApiModel):
    followup_id: int
    title: str
    due_on: str


class ComplaintOut(ApiModel):
    complaint_id: int
    member_id: int | None
    member_name: str | None
    store_id: str
    channel: Channel
    category: str
    counter: str | None
    severity: Severity
    text: str
    status: Status
    created_at: datetime
    created_by: str
    assignee: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    on_the_spot: bool | None
    first_response_due: datetime
    resolution_due: datetime
    response_overdue: bool = Field(description="no first response, or a late one")
    resolution_overdue: bool = Field(description="not resolved in time (so far, or at all)")
    events: list[ComplaintEvent] = Field(default_factory=list)
    followups: list[FollowupMade] = Field(default_factory=list)


class Target(ApiModel):
    severity: Severity
    first_response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)


class ComplaintFigures(ApiModel):
    """Complaints of one group (a counter or a category) made in the period."""

    key: str | None
    complaints: int
    resolved: int
    response_on_time: int = Field(description="first response within the target")
    resolved_on_time: int
    median_response_minutes: float | None
    median_resolution_minutes: float | None


class Retention(ApiModel):
    """Complainants (members) by how their complaint ended, and how many bought again within
    ``window_days`` after making it. Only complaints whose window has ended are counted."""

    outcome: Outcome
    complainants: int
    bought_again: int
    share: float | None


class ComplaintReport(ApiModel):
    start: datetime
    end: datetime
    by_counter: list[ComplaintFigures]
    by_category: list[ComplaintFigures]
    retention: list[Retention]
    window_days: int
