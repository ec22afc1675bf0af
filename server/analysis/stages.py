"""Stage history, the pure part: which day a class run stands for, a member's snapshots as
periods in one class, and the words that define the monthly transitions.

A *snapshot* is a member's class (server/analysis/members.py) and referrer flag as of one day,
kept in ``member_stage`` each time the class analysis runs (server/member_status.py). A
*transition* of month M (server/queries/stages.py, :data:`TRANSITIONS_DEFINITION`) goes from the
member's class at their last snapshot before M to their class at their last snapshot in M.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.analysis.members import CLASS_PRIORITY

NEW = "new"  # the "from" of a member's first snapshot
UNPROFILED = "unprofiled"  # a member who objects to profiling has no class
# Matrix order, lowest stage first: potential -> occasional -> loyal -> core.
STAGE_ORDER: tuple[str, ...] = (NEW, *reversed(CLASS_PRIORITY), UNPROFILED)

TRANSITIONS_DEFINITION = (
    "Class transitions per month: for each member with a class snapshot in the month, the class "
    "at their last snapshot before the month (from) against the class at their last snapshot in "
    "it (to); staying in a class counts on the diagonal. Snapshots are taken whenever the class "
    "analysis runs (each as of the last day it includes). From 'new': the member's first "
    "snapshot (joined since). The first month with snapshots has nothing to compare with and is "
    "left out. Referrers overlap the classes and are not a row of their own."
)


def snapshot_day(as_of: datetime, tz: str) -> date:
    """The store-local day a run as of ``as_of`` (exclusive end) stands for: its last day."""
    return (as_of.astimezone(ZoneInfo(tz)) - timedelta(microseconds=1)).date()


def stage_rank(member_class: str) -> int:
    """Position in :data:`STAGE_ORDER`; classes it does not know come last."""
    return STAGE_ORDER.index(member_class) if member_class in STAGE_ORDER else len(STAGE_ORDER)


@dataclass(frozen=True, slots=True)
class Snapshot:
    store_id: str
    as_of: date
    member_class: str
    is_referrer: bool


@dataclass(frozen=True, slots=True)
class Period:
    store_id: str
    member_class: str
    is_referrer: bool
    first: date
    last: date
    snapshots: int


def periods(snapshots: Iterable[Snapshot]) -> list[Period]:
    """Runs of consecutive snapshots (per store, by day) with the same class and referrer flag,
    ordered by store and first day."""
    out: list[Period] = []
    for s in sorted(snapshots, key=lambda s: (s.store_id, s.as_of)):
        last = out[-1] if out else None
        if (
            last is not None
            and last.store_id == s.store_id
            and last.member_class == s.member_class
            and last.is_referrer == s.is_referrer
        ):
            out[-1] = Period(
                last.store_id,
                last.member_class,
                last.is_referrer,
                last.first,
                s.as_of,
                last.snapshots + 1,
            )
        else:
            out.append(Period(s.store_id, s.member_class, s.is_referrer, s.as_of, s.as_of, 1))
    return out
