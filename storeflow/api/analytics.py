"""``/stores/{store_id}/analytics``: KPIs, footfall, occupancy, heatmap, dwell, zone visits and
the counter figures (definitions: METRICS.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from storeflow.api.base import ApiModel

# A counter or zone visitor: a trip that dwelt there at least this long (docs/metrics.md).
VISITOR_MIN_DWELL_S = 30.0

Quadrant = Literal["star", "hidden gem", "window shopping", "weak"]


class Kpis(ApiModel):
    entries: int
    visits: int
    shoppers: int
    buying_trips: int
    conversion: float | None
    sales: float
    transactions: int
    sales_per_trip: float | None
    mean_trip_s: float | None
    median_dwell_s: float | None
    units: float = 0.0  # the quantities of the sales' lines, net of returns
    average_sale: float | None = None  # ATV: sales / transactions
    units_per_sale: float | None = None  # UPT: units / transactions


class Summary(Kpis):
    start: datetime
    end: datetime
    days: int
    trips: int
    first_at: datetime | None
    last_at: datetime | None
    previous: Kpis | None
    days_with_data: int = 0  # days of the selection with at least one trip
    previous_days_with_data: int = 0
    partial_day: bool = False  # the selection's last day is not over yet
    # None: changes against ``previous`` are like for like; else why no change is shown
    not_comparable: str | None = None


class FootfallBucket(ApiModel):
    bucket_start: datetime
    entries: int
    previous_week: int | None


class ZoneFootfall(ApiModel):
    zone: str
    bucket_start: date
    entries: int


class OccupancyHour(ApiModel):
    hour_start: datetime
    entries: int
    occupancy: float


class HeatCell(ApiModel):
    weekday: int  # 0 = Monday
    hour: int
    days: int
    entries_per_day: float
    conversion: float | None


class ZoneDwell(ApiModel):
    zone: str
    visits: int
    median_s: float
    p90_s: float
    mean_s: float
    typical_median_s: float | None
    holding_power: float | None


class DwellBin(ApiModel):
    zone: str
    low_s: float
    high_s: float
    visits: int


class ZoneVisits(ApiModel):
    zone: str
    visits: int
    visitors: int


class CounterFigures(ApiModel):
    code: str
    name: str
    category: str
    area_m2: float
    visitors: int
    exposure_rate: float
    conversion: float
    sales: float
    sales_per_visitor: float
    sales_per_m2: float
    median_dwell_s: float | None
    rank: int
    quadrant: Quadrant | None  # None: no visitor trips and no sales in the period
    recommendation: str
    buyers: int = 0  # visitor trips that bought at the counter
    basket_value: float | None = None  # sales / buyers
    verdict: str = "no data"  # keep, improve placement, review ..., replace, no data
    transactions: int = 0  # sales with a line at the counter (net of returns above zero)
    units: float = 0.0  # the quantities of those lines, net of returns
    average_sale: float | None = None  # ATV: sales / transactions
    units_per_sale: float | None = None  # UPT: units / transactions
    # the counter's terms from the layout, and the store's take per m² per month from them
    rent_per_m2: float | None = None  # per month
    commission_rate: float | None = None
    take_per_m2: float | None = None
    take_target_per_m2: float | None = None  # the store's target


class OutlierSale(ApiModel):
    """One sale far above the period's usual sale (net of returns)."""

    purchase_id: int
    at: datetime
    net_total: float
    times_median: float  # net total / the period's median sale
    segment: str  # member tier or non-member


class SalesOutliers(ApiModel):
    sales: float  # the period's net sales
    transactions: int
    median_sale: float | None
    threshold: float | None  # sales above this are flagged
    outlier_sales: float  # the flagged sales' net total
    outliers: list[OutlierSale]


class StaffHour(ApiModel):
    hour_start: datetime
    shoppers: float  # mean shoppers in the store over the hour (occupancy)
    staff: int  # distinct staff badges seen in a zone during the hour
    shoppers_per_staff: float | None  # None: no staff badge seen in that hour


class Staffing(ApiModel):
    """Shoppers per staff member, per hour and over the period (docs/metrics.md)."""

    shoppers_per_staff: float | None  # Σ shoppers ÷ Σ staff, hours with both
    busiest: StaffHour | None  # the hour with the most shoppers per staff member
    hours_without_staff: int  # hours with shoppers in the store and no staff badge seen
    hours: list[StaffHour]
