"""Complaint targets: when a first response and a resolution are due, and whether they are late.

Targets are minutes per severity, kept as data (table ``complaint_target``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Target:
    first_response_minutes: int
    resolution_minutes: int


@dataclass(frozen=True, slots=True)
class Due:
    first_response: datetime
    resolution: datetime


def due(created_at: datetime, target: Target) -> Due:
    return Due(
        first_response=created_at + timedelta(minutes=target.first_response_minutes),
        resolution=created_at + timedelta(minutes=target.resolution_minutes),
    )


def late(deadline: datetime, done_at: datetime | None, now: datetime) -> bool:
    """Done after the deadline, or not done and the deadline has passed."""
    return (done_at if done_at is not None else now) > deadline


def status(
    *, assignee: str | None, first_response_at: datetime | None, resolved_at: datetime | None
) -> str:
    if resolved_at is not None:
        return "resolved"
    if first_response_at is not None:
        return "responded"
    if assignee is not None:
        return "assigned"
    return "open"


def outcome(*, resolved_at: datetime | None, on_the_spot: bool | None, as_of: datetime) -> str:
    """How a complaint ended as seen at ``as_of``: on the spot, later, or unresolved."""
    if resolved_at is None or resolved_at > as_of:
        return "unresolved"
    return "on_the_spot" if on_the_spot else "later"


def minutes_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60.0
