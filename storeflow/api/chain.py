"""``/chain``: the stores of the chain side by side, and one concession across the stores that
host it (definitions: METRICS.md; the figures are the single-store ones, per store)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from storeflow.api.base import ApiModel

StoreMetric = Literal[
    "entries",
    "conversion",
    "sales",
    "sales_per_visitor",
    "atv",
    "mean_trip_s",
    "mean_dwell_s",
    "member_share",
    "coverage",
]
ConcessionMetric = Literal[
    "visitors", "exposure", "conversion", "sales", "sales_per_visitor", "atv", "sales_per_m2"
]
Order = Literal["desc", "asc"]


class StoreLinks(ApiModel):
    """The store's own endpoints for the same period (drill-down), relative to the API root."""

    summary: str
    footfall: str
    counters: str
    dwell: str
    layout: str


class ChainStore(ApiModel):
    rank: int
    store_id: str
    name: str
    timezone: str
    entries: int
    buying_trips: int
    conversion: float | None  # buying trips / entries
    sales: float
    transactions: int
    sales_per_visitor: float | None  # sales / entries
    atv: float | None  # average transaction value: sales / transactions
    mean_trip_s: float | None  # time in store per entry
    mean_dwell_s: float | None  # mean zone visit
    member_entries: int
    member_share: float | None  # entries with a member card / entries
    days_with_data: int
    days_in_period: int
    coverage: float  # days_with_data / days_in_period
    last_heartbeat: datetime | None  # newest edge device heartbeat of the store
    links: StoreLinks


class ChainStores(ApiModel):
    first: date
    last: date
    days: int
    rank_by: StoreMetric
    order: Order
    stores: list[ChainStore]


class Concession(ApiModel):
    """A concession (brand) and the stores that host a counter of it."""

    brand: str
    names: list[str]
    category: str
    stores: int


class ConcessionStore(ApiModel):
    rank: int
    store_id: str
    store_name: str
    counter: str
    name: str
    area_m2: float
    visitors: int  # trips that dwelt at the counter >= 30 s
    exposure: float | None  # visitors / store entries
    buyers: int
    conversion: float | None  # buyers / visitors
    sales: float
    transactions: int
    sales_per_visitor: float | None
    atv: float | None
    sales_per_m2: float | None
    links: StoreLinks


class ConcessionComparison(ApiModel):
    brand: str
    first: date
    last: date
    days: int
    rank_by: ConcessionMetric
    order: Order
    stores: list[ConcessionStore]
