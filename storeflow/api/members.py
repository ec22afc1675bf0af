"""``/members``: enrolment, look-up at the till, merging two records of one person."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from storeflow.api.base import ApiModel
from storeflow.api.referrals import MemberRef

Purpose = Literal["marketing", "in_store_tracking", "profiling"]


class MemberIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    birth_date: datetime | None = None
    gender: Literal["female", "male", "other", "unknown"] = "unknown"
    referrer_no: str | None = Field(default=None, description="the referrer's member number")
    referral_code: str | None = Field(
        default=None, max_length=32, description="the referral code of the member who referred"
    )
    consents: dict[Purpose, bool] = Field(default_factory=dict)


class MemberCreated(ApiModel):
    member_id: int
    member_no: str
    referral_code: str | None = None  # the new member's own code, to give to friends


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


class MemberFound(ApiModel):
    """One search hit for customer care: who, and how to reach them."""

    member_id: int
    member_no: str
    name: str
    phone: str | None
    email: str | None
    tier: str
    matched_on: Literal["member_no", "phone", "card", "name"]


class CardOnFile(ApiModel):
    card_number: str
    status: str
    issued_at: datetime


class RecentPurchase(ApiModel):
    purchase_id: int
    at: datetime
    store_id: str
    total: Decimal
    points_earned: int


class MemberProfile(ApiModel):
    """What customer care sees of one member (personal data: the crm and admin roles only)."""

    member_id: int
    member_no: str
    name: str
    phone: str | None
    email: str | None
    birth_date: date | None
    gender: str
    joined_at: datetime
    tier: str
    tier_since: datetime
    points_balance: int
    may_contact: bool
    cards: list[CardOnFile]
    purchases: list[RecentPurchase]
    referral_code: str | None = None  # to give to friends enrolling
    referred_by: MemberRef | None = None
    referrals: int = 0  # members enrolled with this member's code


class MemberPatch(ApiModel):
    """Fields to change; a field left out is kept. ``null`` clears phone or email."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    birth_date: date | None = None
    gender: Literal["female", "male", "other", "unknown"] | None = None
