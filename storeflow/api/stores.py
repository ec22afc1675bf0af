"""``/stores``: the stores with a layout, and the answer to a layout import."""

from __future__ import annotations

from storeflow.api.base import ApiModel


class StoreInfo(ApiModel):
    id: str
    name: str
    timezone: str = "UTC"


class LayoutImported(ApiModel):
    store: str
    zones: int
    counters: int
    readers: int
