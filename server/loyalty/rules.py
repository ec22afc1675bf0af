"""Loyalty rules as data: how purchases earn points, and what the tiers are.

Both models are pydantic with ``extra="forbid"`` so a misspelt key in a rules file is an error,
and both load from YAML or JSON (JSON is read by the same YAML loader, so errors name the file,
line and key either way)::

    # earning.yaml
    base_points_per_unit: 1        # points per 1 currency unit spent
    counter_multipliers: {C07-cosmetics: 1.5, C12-tobacco: 0}
    category_multipliers: {fresh: 1.2}
    promotions:
      - {name: double-days, start: 2025-05-01T00:00:00+08:00,
         end: 2025-05-04T00:00:00+08:00, multiplier: 2}
    expiry_months: 12
    referral: {referrer_points: 500, new_member_points: 200, min_purchase: 50.00}

How the multipliers combine (see :func:`server.loyalty.points.line_multiplier`)::

    points = floor(amount * base_points_per_unit * place * tier * promotion)

* ``place``: the counter multiplier or the category multiplier of the line -- the larger of the
  two when both are configured, never both multiplied together; the one that is configured when
  only one is (so a counter configured at 0 earns nothing); 1 when neither is.
* ``tier``: the member's :attr:`Tier.points_multiplier`.
* ``promotion``: of the promotions active at the purchase time that apply to the line, the
  largest multiplier; promotions do not stack. 1 when none applies.
* Rounding is ``floor``, per line, so a return can reverse exactly what its line earned.

Referral rewards are a second kind of earning rule (:class:`ReferralReward`): fixed points for
bringing a member, paid when the referred member first buys, not multiplied by anything.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AwareDatetime, Field, model_validator

from storeflow.models import Frozen
from storeflow.yamlconf import load_yaml, parse_yaml

logger = logging.getLogger(__name__)

Multiplier = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
PositiveMultiplier = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(ge=0, decimal_places=2, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]

_DateT = TypeVar("_DateT", date, datetime)


def add_months(when: _DateT, months: int) -> _DateT:
    """``when`` moved by whole calendar months; a day past the target month's end is clamped.

    ``add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)``;
    ``add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)``. Time and zone are kept.
    """
    index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


class Promotion(Frozen):
    """A time-limited points multiplier, active for ``start <= at < end``.

    It applies to a line whose counter is in ``counters`` or whose category is in ``categories``;
    with both lists empty it applies to every line.
    """

    name: str = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    counters: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    multiplier: PositiveMultiplier

    @model_validator(mode="after")
    def _end_after_start(self) -> Promotion:
        if self.end <= self.start:
            raise ValueError(f"promotion {self.name!r}: end must be after start")
        return self

    def is_active(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def applies_to(self, *, counter: str | None, category: str | None) -> bool:
        if not self.counters and not self.categories:
            return True
        return (counter is not None and counter in self.counters) or (
            category is not None and category in self.categories
        )


class ReferralReward(Frozen):
    """Points for a referral: a member enrolled with another member's referral code.

    Paid once, on the referred member's first purchase whose total reaches ``min_purchase``:
    ``referrer_points`` to the referrer and ``new_member_points`` to the new member (either may
    be 0). A referred member whose earlier purchase already reached ``min_purchase`` (say, before
    the rule was in force) earns no reward later. The points are fixed: no tier, counter or
    promotion multiplier applies, and they expire like purchase points. Returns are counted: a
    purchase qualifies while its total less what was returned of it reaches ``min_purchase``;
    when the rewarded one no longer does and no other does, the reward is taken back and the
    next qualifying purchase pays it again (docs/crm.md).
    """

    referrer_points: int = Field(ge=0, le=1_000_000)
    new_member_points: int = Field(default=0, ge=0, le=1_000_000)
    min_purchase: Money = Decimal("0.00")


class EarningRules(Frozen):
    """How a purchase earns points; the combination rule is in the module docstring.

    ``base_points_per_unit`` is points per 1 currency unit. ``rounding`` is ``floor`` (the only
    rounding: a member never receives a point the amount did not pay for). Points earned expire
    ``expiry_months`` calendar months after the purchase. ``referral``: the referral reward
    (:class:`ReferralReward`); none when left out.
    """

    base_points_per_unit: Multiplier = Decimal(1)
    rounding: Literal["floor"] = "floor"
    counter_multipliers: dict[str, Multiplier] = Field(default_factory=dict)
    category_multipliers: dict[str, Multiplier] = Field(default_factory=dict)
    promotions: list[Promotion] = Field(default_factory=list)
    expiry_months: int = Field(default=12, ge=1, le=120)
    referral: ReferralReward | None = None

    @model_validator(mode="after")
    def _unique_promotion_names(self) -> EarningRules:
        names = [p.name for p in self.promotions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"promotion names must be unique: {', '.join(duplicates)}")
        return self


class Tier(Frozen):
    """A membership tier: reached at ``min_spend_12m`` of qualifying spend over 12 months."""

    name: str = Field(min_length=1)
    min_spend_12m: Money
    discount_rate: Rate
    points_multiplier: PositiveMultiplier


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(
        name="Member",
        min_spend_12m=Decimal("0.00"),
        discount_rate=Decimal("0.00"),
        points_multiplier=Decimal("1"),
    ),
    Tier(
        name="Silver",
        min_spend_12m=Decimal("5000.00"),
        discount_rate=Decimal("0.02"),
        points_multiplier=Decimal("1.2"),
    ),
    Tier(
        name="Gold",
        min_spend_12m=Decimal("20000.00"),
        discount_rate=Decimal("0.05"),
        points_multiplier=Decimal("1.5"),
    ),
    Tier(
        name="VIP",
        min_spend_12m=Decimal("50000.00"),
        discount_rate=Decimal("0.08"),
        points_multiplier=Decimal("2"),
    ),
)


class TierRules(Frozen):
    """The tier ladder, lowest first, and the yearly review date ``(month, day)``.

    The first tier starts at 0 spend (every member has a tier) and thresholds rise strictly.
    A member moves up as soon as the spend qualifies and down only at a review date (see
    :func:`server.loyalty.tiers.evaluate_tier`). The review date must exist in every year, so
    29 February is refused.
    """

    tiers: list[Tier] = Field(default_factory=lambda: list(DEFAULT_TIERS), min_length=1)
    review_month_day: tuple[int, int] = (1, 1)

    @model_validator(mode="after")
    def _check(self) -> TierRules:
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique: {names}")
        if self.tiers[0].min_spend_12m != 0:
            raise ValueError(f"the first tier ({self.tiers[0].name}) must start at 0 spend")
        for lower, upper in zip(self.tiers, self.tiers[1:], strict=False):
            if upper.min_spend_12m <= lower.min_spend_12m:
                raise ValueError(
                    f"tiers must be listed lowest first with rising min_spend_12m: "
                    f"{upper.name} ({upper.min_spend_12m}) after {lower.name} "
                    f"({lower.min_spend_12m})"
                )
        month, day = self.review_month_day
        try:
            date(2001, month, day)  # a common year: refuses 29 February
        except ValueError as exc:
            raise ValueError(f"review_month_day {month}-{day} is not a date in every year") from exc
        return self

    def get(self, name: str) -> Tier:
        """The tier called ``name``; ``KeyError`` naming the known tiers otherwise."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(f"unknown tier {name!r}; known: {', '.join(t.name for t in self.tiers)}")

    def rank(self, name: str) -> int:
        """0 for the lowest tier, rising by one per step."""
        return self.tiers.index(self.get(name))

    def for_spend(self, spend_12m: Decimal) -> Tier:
        """The highest tier whose threshold ``spend_12m`` reaches (exactly at it counts)."""
        best = self.tiers[0]
        for tier in self.tiers:
            if spend_12m >= tier.min_spend_12m:
                best = tier
        return best


def load_earning_rules(path: Path | str) -> EarningRules:
    """Read earning rules from a YAML or JSON file (``ConfigError`` names file, line and key)."""
    return load_yaml(path, EarningRules)


def load_tier_rules(path: Path | str) -> TierRules:
    """Read tier rules from a YAML or JSON file (``ConfigError`` names file, line and key)."""
    return load_yaml(path, TierRules)


def parse_earning_rules(text: str, *, source: str = "<string>") -> EarningRules:
    return parse_yaml(text, EarningRules, source=source)


def parse_tier_rules(text: str, *, source: str = "<string>") -> TierRules:
    return parse_yaml(text, TierRules, source=source)


@dataclass(frozen=True, slots=True)
class LoyaltyRules:
    """The programme's rules in force: how purchases earn points, and the tier ladder."""

    earning: EarningRules = field(default_factory=EarningRules)
    tiers: TierRules = field(default_factory=TierRules)


def load_loyalty_rules(*, earning: Path | None, tiers: Path | None) -> LoyaltyRules:
    """The rules from the files named (the defaults where a file is not named)."""
    return LoyaltyRules(
        earning=load_earning_rules(earning) if earning else EarningRules(),
        tiers=load_tier_rules(tiers) if tiers else TierRules(),
    )
