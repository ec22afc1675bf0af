"""The tier discount on a sale: the one definition the till, the API and the records share. Pure.

``discount = round_half_up(total * tier.discount_rate, 0.01)`` on the sale's total (the sum of
its lines), ``to_pay = total - discount``. The tier is the member's tier *before* the sale (a
sale that lifts a member to a higher tier is not itself discounted at the new rate); a sale
without a member has no discount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from server.loyalty.rules import Tier

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Discount:
    rate: Decimal
    amount: Decimal
    to_pay: Decimal


def tier_discount(total: Decimal, tier: Tier | None) -> Discount:
    """The discount a sale of ``total`` gets at ``tier`` (none without a member)."""
    if not total.is_finite() or total < 0:
        raise ValueError(f"a sale total must be a finite amount >= 0: {total}")
    total = total.quantize(_CENT, rounding=ROUND_HALF_UP)
    rate = tier.discount_rate if tier is not None else Decimal(0)
    amount = (total * rate).quantize(_CENT, rounding=ROUND_HALF_UP)
    return Discount(rate=rate, amount=amount, to_pay=total - amount)
