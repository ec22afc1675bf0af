"""Which members a trigger rule picks: pure functions over rows the queries read.

Each function takes plain rows (server/queries/campaign_triggers.py reads them) and returns the
picked members as :class:`Candidate` s, each with the reason a member of staff can read. The
lapse rule is not here: it is the lapse alert's own query (server/queries/members_view.py).

Dates are store-local calendar days. A birthday or an anniversary on 29 February falls on
28 February in other years.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from server.loyalty.rules import Tier, TierRules
from server.loyalty.tiers import qualifying_spend


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: int
    reason: str


def in_year(day: date, year: int) -> date:
    """``day``'s month and day in ``year`` (29 February -> 28 February in a common year)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


# --------------------------------------------------------------------------- birthday


def birthday_between(birth: date, first: date, days: int) -> date | None:
    """The member's birthday among the ``days`` days from ``first`` on, if it is one of them."""
    for k in range(days):
        day = first + timedelta(days=k)
        if in_year(birth, day.year) == day:
            return day
    return None


def birthdays(members: Iterable[tuple[int, date]], first: date, days: int) -> list[Candidate]:
    """Members (``member_id, birth_date``) whose birthday is among the ``days`` days from
    ``first`` (the run's day + the rule's ``days_before``)."""
    out = []
    for member_id, birth in members:
        day = birthday_between(birth, first, days)
        if day is not None:
            out.append(Candidate(member_id, f"birthday on {day.isoformat()}"))
    return sorted(out, key=lambda c: c.member_id)


# --------------------------------------------------------------------------- purchase anniversary


def anniversary_match(
    days: Iterable[date], target: date, *, years_back: int, tolerance_days: int
) -> date | None:
    """The latest of ``days`` (purchase days) within ``tolerance_days`` of ``target``'s date in
    one of the ``years_back`` years before ``target``'s year; None if none is."""
    anchors = [in_year(target, target.year - k) for k in range(1, years_back + 1)]
    hits = [d for d in days if any(abs((d - a).days) <= tolerance_days for a in anchors)]
    return max(hits) if hits else None


def anniversary_window(target: date, *, years_back: int, tolerance_days: int) -> tuple[date, date]:
    """The purchase days worth reading for :func:`anniversary_match`: first and last."""
    tol = timedelta(days=tolerance_days)
    return (
        in_year(target, target.year - years_back) - tol,
        in_year(target, target.year - 1) + tol,
    )


def anniversaries(
    rows: Iterable[tuple[int, date]],
    target: date,
    *,
    years_back: int,
    tolerance_days: int,
    what: str,
) -> list[Candidate]:
    """Members (rows ``member_id, purchase_day`` of purchases in the rule's category or at its
    counter) who bought around ``target``'s date in a past year."""
    by_member: defaultdict[int, list[date]] = defaultdict(list)
    for member_id, day in rows:
        by_member[member_id].append(day)
    out = []
    for member_id, member_days in sorted(by_member.items()):
        hit = anniversary_match(
            member_days, target, years_back=years_back, tolerance_days=tolerance_days
        )
        if hit is not None:
            out.append(
                Candidate(member_id, f"bought {what} on {hit.isoformat()}, before {target:%d %b}")
            )
    return out


# --------------------------------------------------------------------------- lapse


def lapsed(rows: Iterable[tuple[int, float, float, float]]) -> list[Candidate]:
    """Members the lapse alert names (rows ``member_id, ratio, days_since, median_interval``)."""
    return sorted(
        (
            Candidate(
                member_id,
                f"{ratio:.1f}x usual interval ({since:.0f} days since the last purchase, "
                f"usually {median:.0f})",
            )
            for member_id, ratio, since, median in rows
        ),
        key=lambda c: c.member_id,
    )


# --------------------------------------------------------------------------- points expiring


def points_expiring(
    rows: Iterable[tuple[int, int, datetime]], *, min_points: int
) -> list[Candidate]:
    """Members with at least ``min_points`` points expiring soon (rows ``member_id, points,
    first expiry``: the sum of the lots expiring within the rule's days)."""
    return sorted(
        (
            Candidate(member_id, f"{points} points expire, the first on {first:%Y-%m-%d}")
            for member_id, points, first in rows
            if points >= min_points
        ),
        key=lambda c: c.member_id,
    )


# --------------------------------------------------------------------------- near the next tier


def next_tier_gap(current: str, spend: Decimal, rules: TierRules) -> tuple[Tier, Decimal] | None:
    """The tier above ``current`` and the spend still missing to reach its threshold; None for
    the top tier, an unknown tier, or a spend that reaches it already (an upgrade is due)."""
    try:
        rank = rules.rank(current)
    except KeyError:
        return None
    if rank + 1 >= len(rules.tiers):
        return None
    upper = rules.tiers[rank + 1]
    gap = upper.min_spend_12m - spend
    return (upper, gap) if gap > 0 else None


def near_tier(
    members: Iterable[tuple[int, str]],
    purchases: Sequence[tuple[int, datetime, Decimal]],
    *,
    as_of: datetime,
    rules: TierRules,
    within: Decimal,
) -> list[Candidate]:
    """Members (``member_id, tier``) whose qualifying spend (:func:`qualifying_spend`, from the
    rows ``member_id, at, amount``; returns negative) is short of the next tier's threshold by
    at most ``within``."""
    spent: defaultdict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for member_id, at, amount in purchases:
        spent[member_id].append((at, amount))
    out = []
    for member_id, tier in members:
        spend = qualifying_spend(spent.get(member_id, []), as_of=as_of)
        found = next_tier_gap(tier, spend, rules)
        if found is not None and found[1] <= within:
            upper, gap = found
            out.append(
                Candidate(member_id, f"{gap:.2f} short of {upper.name} (12-month spend {spend})")
            )
    return sorted(out, key=lambda c: c.member_id)


# --------------------------------------------------------------------------- browsed, not bought


def browsed_not_bought(
    visits: Iterable[tuple[int, str, int]],
    bought: set[tuple[int, str]],
    *,
    min_visits: int,
    days: int,
) -> list[Candidate]:
    """Members with at least ``min_visits`` long enough visits to a counter (rows ``member_id,
    counter, visits``) who never bought at it (``bought``: pairs member, counter)."""
    found: defaultdict[int, list[str]] = defaultdict(list)
    for member_id, counter, n in sorted(visits):
        if n >= min_visits and (member_id, counter) not in bought:
            found[member_id].append(f"{n} visits to {counter}")
    return [
        Candidate(member_id, f"{', '.join(parts)} in {days} days, never bought there")
        for member_id, parts in sorted(found.items())
    ]
