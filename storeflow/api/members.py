"""``/members``: enrolment, look-up at the till, merging two records of one person."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from storeflow.api.base import ApiModel

Purpose = Literal["marketing", "in_store_tracking"]


class MemberIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    birth_date: datetime | None = None
    gender: Literal["female", "male", "other", "unknown"] = "unknown"
    referrer_no: str | None = None
    consents: dict[Purpose, bool] = Field(default_factory=dict)


class MemberCreated(ApiModel):
    member_id: int
    member_no: str


class MemberAtTill(ApiModel):
    """What a cashier sees: no contact details."""

    member_id: int
    member_no: str
    name: str
    tier: str
    discount_rate: Decimal
    points_multiplier: Decimal
    points_balance: int


class MergeIn(ApiModel):
    into_member_id: int
