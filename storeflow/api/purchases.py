"""``/purchases``: sales from the till and their returns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from storeflow.api.base import ApiModel

# What numeric(12, 2) holds; the server's configurable hard maximum is far below it.
MAX_AMOUNT = Decimal("9999999999.99")


class LineIn(ApiModel):
    sku: str
    counter: str | None = None
    category: str | None = None
    quantity: Decimal = Field(gt=0)
    amount: Decimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)


class PurchaseIn(ApiModel):
    store_id: str
    register_id: str
    pos_id: str = Field(min_length=1, max_length=100, description="the POS's own id")
    at: datetime
    card_number: str | None = None
    lines: list[LineIn] = Field(min_length=1)
    supervisor: str | None = Field(
        default=None,
        max_length=100,
        description="the supervisor who confirmed a sale above the per-sale limit",
    )


class QuoteIn(ApiModel):
    """A sale before it is recorded: what the customer will pay."""

    store_id: str
    register_id: str
    card_number: str | None = None
    lines: list[LineIn] = Field(min_length=1)


class QuoteOut(ApiModel):
    member_id: int | None
    member_name: str | None
    tier: str | None
    total: Decimal
    discount_rate: Decimal
    discount: Decimal
    amount_due: Decimal
    needs_confirmation: bool = Field(description="above the till's confirmation amount")
    needs_supervisor: bool = Field(description="above the per-sale limit")


class PurchaseOut(ApiModel):
    purchase_id: int
    member_id: int | None
    total: Decimal
    points_earned: int
    points_balance: int | None
    tier: str | None
    duplicate: bool
    discount_rate: Decimal = Decimal(0)
    discount: Decimal = Decimal("0.00")
    amount_due: Decimal | None = Field(default=None, description="total - discount")


class SaleLine(ApiModel):
    line_no: int
    sku: str
    counter: str | None
    amount: Decimal
    returned: Decimal = Field(description="value already returned on this line")


class SaleOut(ApiModel):
    """A recorded sale as the till finds it for a return (by its POS id)."""

    purchase_id: int
    pos_id: str
    register_id: str
    at: datetime
    member_id: int | None
    total: Decimal
    discount: Decimal
    amount_due: Decimal
    lines: list[SaleLine]


class ReturnLineIn(ApiModel):
    line_no: int = Field(ge=1)
    amount: Decimal = Field(gt=0, decimal_places=2, description="value returned on this line")


class ReturnIn(ApiModel):
    return_id: str = Field(min_length=1, max_length=100, description="the till's own id")
    register_id: str
    lines: list[ReturnLineIn] = Field(min_length=1)


class ReturnOut(ApiModel):
    purchase_id: int
    amount: Decimal
    points_reversed: int
    shortfall: int = Field(description="reversed points that had already been spent (a debt)")
    points_balance: int | None
    duplicate: bool
