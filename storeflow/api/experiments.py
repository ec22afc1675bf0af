"""``/stores/{store_id}/analytics/experiments``: promotions and layout changes, their effects."""

from __future__ import annotations

from datetime import date
from typing import Literal

from storeflow.api.base import ApiModel


class EffectOut(ApiModel):
    metric: str
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    relative: float | None
    distinguishable: bool
    treated_before: float | None
    treated_after: float | None
    control_before: float | None
    control_after: float | None
    days_before: int
    days_after: int
    unit: str | None = None  # the one counter this effect is of; None: the treated group


class DayPoint(ApiModel):
    day: date
    unit: str
    traffic: float
    dwell: float | None
    conversion: float | None
    sales: float


class ExperimentOut(ApiModel):
    kind: Literal["promotion", "layout_change"]
    treated: list[str]
    control: list[str]
    before: tuple[date, date]
    during: tuple[date, date]
    after: tuple[date, date] | None
    effects: list[EffectOut]
    after_effects: list[EffectOut]
    daily: list[DayPoint]
    # why the answer may mislead: controls left out or kept although they changed themselves
    warnings: list[str] = []


class LayoutChangeDate(ApiModel):
    day: date
    antennas: list[str]
