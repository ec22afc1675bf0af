"""Points: redemptions at the till and the daily expiry job."""

from __future__ import annotations

from pydantic import Field

from storeflow.api.base import ApiModel


class RedemptionIn(ApiModel):
    points: int = Field(gt=0)
    reason: str = Field(min_length=1)
    store_id: str
    register_id: str
    idempotency_key: str = Field(min_length=1, max_length=100)


class Balance(ApiModel):
    member_id: int
    points_balance: int


class PointsExpired(ApiModel):
    points_expired: int
