"""``/purchases``: sales from the till and their returns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from storeflow.api.base import ApiModel


class LineIn(ApiModel):
    sku: str
    counter: str | None = None
    category: str | None = None
    quantity: Decimal = Field(gt=0)
    amount: Decimal = Field(ge=0, decimal_places=2)


class PurchaseIn(ApiModel):
    store_id: str
    register_id: str
    pos_id: str = Field(min_length=1, max_length=100, description="the POS's own id")
    at: datetime
    card_number: str | None = None
    lines: list[LineIn] = Field(min_length=1)


class PurchaseOut(ApiModel):
    purchase_id: int
    member_id: int | None
    total: Decimal
    points_earned: int
    points_balance: int | None
    tier: str | None
    duplicate: bool


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
