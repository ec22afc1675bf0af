"""``/members/{id}/referrals``: whom a member brought in, and whom those brought in (crm role:
names are personal data)."""

from __future__ import annotations

from datetime import datetime

from storeflow.api.base import ApiModel


class MemberRef(ApiModel):
    member_id: int
    member_no: str
    name: str


class ReferralNode(ApiModel):
    member_id: int
    member_no: str
    name: str
    joined_at: datetime
    first_purchase_at: datetime | None  # None: has not bought yet
    reward_points: int | None  # paid to the member above for this referral; None: not paid
    referred: list[ReferralNode]
    not_shown: int  # members this one referred below the depth limit


class ReferralTree(ApiModel):
    member_id: int
    member_no: str
    name: str
    referral_code: str | None  # None: an erased member has none
    referred_by: MemberRef | None
    depth: int  # levels shown (1: the member's own referrals)
    referred: list[ReferralNode]
    members: int  # members shown, every level
    buyers: int  # of those, members who have bought
    reward_points: int  # referral rewards paid to this member
    truncated: bool  # the tree was larger than the answer's size limit
