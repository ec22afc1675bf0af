"""Tiers: qualifying spend over a rolling 12 months, and when a member moves up or down. Pure.

* Up: as soon as the spend reaches a higher tier's threshold (exactly at it counts), straight
  to the highest tier it reaches, however many steps that is.
* Down: only once a review date (``TierRules.review_month_day``, yearly) has come since the last
  review, and then to exactly the tier the spend reaches -- one step or several.
* Otherwise the tier is kept, even when the spend has fallen below its threshold mid-year.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from server.loyalty.rules import TierRules, add_months

logger = logging.getLogger(__name__)

_CENT = Decimal("0.01")


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def qualifying_spend(purchases: Sequence[tuple[datetime, Decimal]], *, as_of: datetime) -> Decimal:
    """Net spend in the 12 calendar months up to ``as_of``: ``as_of - 12 months < at <= as_of``.

    Returns are negative amounts and are netted in the month they happen. A return in the window
    of a purchase made before it can make the net negative; the result is then 0.
    """
    _require_aware("as_of", as_of)
    start = add_months(as_of, -12)
    total = sum((amount for at, amount in purchases if start < at <= as_of), Decimal(0))
    return max(total, Decimal(0)).quantize(_CENT)


def review_on_or_before(day: date, rules: TierRules) -> date:
    """The latest review date that is ``day`` or earlier."""
    month, dom = rules.review_month_day
    this_year = date(day.year, month, dom)
    return this_year if this_year <= day else date(day.year - 1, month, dom)


def next_review_date(after: date, rules: TierRules) -> date:
    """The first review date strictly after ``after``."""
    month, dom = rules.review_month_day
    this_year = date(after.year, month, dom)
    return this_year if this_year > after else date(after.year + 1, month, dom)


@dataclass(frozen=True, slots=True)
class TierDecision:
    """The tier from ``effective_at`` on, and why.

    ``review_date`` is set when a review date has come since ``last_review``: the caller stores
    it as the member's new ``last_review`` (whether or not the tier changed), so the next
    downgrade waits for the following review.
    """

    new_tier: str
    reason: str
    effective_at: datetime
    change: Literal["upgrade", "downgrade", "keep"]
    review_date: date | None = None


def evaluate_tier(
    current: str,
    spend_12m: Decimal,
    *,
    as_of: datetime,
    rules: TierRules,
    last_review: date,
) -> TierDecision:
    """Decide the member's tier at ``as_of`` from the 12-month qualifying spend.

    Upgrades are immediate; a downgrade happens only on or after the next review date after
    ``last_review`` (``as_of`` read in its own time zone), and goes to the tier the spend reaches.
    """
    _require_aware("as_of", as_of)
    held = rules.get(current)
    reached = rules.for_spend(spend_12m)
    held_rank, reached_rank = rules.rank(held.name), rules.rank(reached.name)
    due = next_review_date(last_review, rules)
    today = as_of.date()
    review = review_on_or_before(today, rules) if today >= due else None

    if reached_rank > held_rank:
        decision = TierDecision(
            new_tier=reached.name,
            reason=(
                f"upgrade {held.name} -> {reached.name}: spend {spend_12m} reaches "
                f"{reached.name} at {reached.min_spend_12m}"
            ),
            effective_at=as_of,
            change="upgrade",
            review_date=review,
        )
    elif reached_rank < held_rank and review is not None:
        decision = TierDecision(
            new_tier=reached.name,
            reason=(
                f"downgrade {held.name} -> {reached.name} at review {review}: spend "
                f"{spend_12m} is below {held.name} at {held.min_spend_12m}"
            ),
            effective_at=as_of,
            change="downgrade",
            review_date=review,
        )
    elif reached_rank < held_rank:
        decision = TierDecision(
            new_tier=held.name,
            reason=(
                f"keep {held.name}: spend {spend_12m} reaches only {reached.name}; "
                f"the downgrade waits for the review on {due}"
            ),
            effective_at=as_of,
            change="keep",
        )
    else:
        decision = TierDecision(
            new_tier=held.name,
            reason=f"keep {held.name}: spend {spend_12m} qualifies for {held.name}",
            effective_at=as_of,
            change="keep",
            review_date=review,
        )
    logger.debug("tier decision at %s: %s", as_of, decision.reason)
    return decision
