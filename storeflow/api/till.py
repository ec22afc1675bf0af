"""What the cashier's page needs to know about its register: the store's counters and the
amounts above which a sale is confirmed."""

from __future__ import annotations

from decimal import Decimal

from storeflow.api.base import ApiModel


class TillCounter(ApiModel):
    code: str
    name: str


class TillConfig(ApiModel):
    store_id: str
    register_id: str
    counters: list[TillCounter]
    confirm_above: Decimal
    supervisor_above: Decimal
    hard_max: Decimal
