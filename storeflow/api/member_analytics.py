"""``/stores/{store_id}/analytics/members``: member classes, RFM, Pareto, tiers, lapse alerts
(member numbers only: no names, no contacts)."""

from __future__ import annotations

from datetime import datetime

from storeflow.api.base import ApiModel


class ClassCount(ApiModel):
    member_class: str
    members: int
    referrers: int
    sales: float


class RfmSegment(ApiModel):
    segment: str
    members: int
    sales: float
    mean_recency_days: float
    mean_frequency: float


class ParetoPoint(ApiModel):
    member_share: float
    sales_share: float


class TierShare(ApiModel):
    segment: str
    vip: bool
    entries: int
    entries_share: float
    sales: float
    sales_share: float


class Demographic(ApiModel):
    age_band: str
    gender: str
    members: int
    buyers: int
    sales: float
    sales_per_buyer: float | None


class MembersOverview(ApiModel):
    as_of: datetime
    computed_at: datetime
    members: int
    buyers: int
    classes: list[ClassCount]
    rfm_segments: list[RfmSegment]
    pareto_top_share: float | None
    pareto: list[ParetoPoint]
    tiers: list[TierShare]
    demographics: list[Demographic]
    bgnbd: dict[str, float]


class LapseAlert(ApiModel):
    member_no: str
    tier: str
    member_class: str
    purchases: int
    last_purchase_at: datetime
    days_since: float
    median_interval_days: float
    ratio: float
    p_alive: float | None  # None: unknown (no drop-out measurable in this store's history)
    action: str
