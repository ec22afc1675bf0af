"""How large a sale the till may record. Pure.

Three amounts, all configurable (``server.settings``): above ``confirm_above`` the cashier's page
asks the cashier to confirm the amount; above ``supervisor_above`` the server refuses the sale
unless it names the supervisor who confirmed it; above ``hard_max`` nothing is recorded (a
mistyped amount, not a sale).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.errors import Conflict, InvalidRequest
from server.settings import Settings


class SupervisorRequired(Conflict):
    """A sale above the per-sale limit without a supervisor's confirmation."""


@dataclass(frozen=True, slots=True)
class SaleLimits:
    confirm_above: Decimal = Decimal("5000.00")
    supervisor_above: Decimal = Decimal("50000.00")
    hard_max: Decimal = Decimal("1000000.00")

    def __post_init__(self) -> None:
        if not Decimal(0) < self.confirm_above <= self.supervisor_above <= self.hard_max:
            raise ValueError(
                "sale limits must rise: 0 < confirm_above <= supervisor_above <= hard_max "
                f"({self.confirm_above}, {self.supervisor_above}, {self.hard_max})"
            )

    def check_max(self, total: Decimal) -> None:
        """Refuse a total over the hard maximum."""
        if total > self.hard_max:
            raise InvalidRequest(
                f"a sale of {total:,.2f} is over the maximum of {self.hard_max:,.2f}: "
                "check the amount"
            )

    def check(self, total: Decimal, *, supervisor: str | None) -> None:
        """Refuse a total over the hard maximum, or over the per-sale limit unconfirmed."""
        self.check_max(total)
        if total > self.supervisor_above and not (supervisor and supervisor.strip()):
            raise SupervisorRequired(
                f"a sale of {total:,.2f} is over the per-sale limit of "
                f"{self.supervisor_above:,.2f}: a supervisor must confirm it"
            )


def limits_from(settings: Settings) -> SaleLimits:
    return SaleLimits(
        confirm_above=settings.till_confirm_above,
        supervisor_above=settings.sale_limit,
        hard_max=settings.sale_hard_max,
    )
