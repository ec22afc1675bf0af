"""Counter quadrant and recommendation (the rules the counter evaluation serves).

The figures themselves (visitor trips, exposure, conversion, sales per m²) are SQL over the
daily facts or the visits: server/queries/counters.py. Definitions (docs/metrics.md):

* quadrant: visitor trips (traffic) vs conversion, each split at the median over the counters
  (at or above the median = high): star (high, high), hidden gem (low traffic, high conversion),
  window shopping (high traffic, low conversion), weak (low, low).
* recommendation: keep / improve placement / review, with the figures that justify it.
"""

from __future__ import annotations

from storeflow.api.analytics import Quadrant

__all__ = ["Quadrant", "classify", "recommend"]

ACTIONS: dict[Quadrant, str] = {
    "star": "Keep",
    "hidden gem": "Improve placement: converts well but few shoppers reach it",
    "window shopping": "Review merchandising and the contract: many stop, few buy",
    "weak": "Review the contract: low traffic and low conversion",
}


def classify(
    traffic: float, conversion: float, *, traffic_median: float, conversion_median: float
) -> Quadrant:
    """Traffic vs conversion, split at the medians of the store's counters (median = high)."""
    high_t, high_c = traffic >= traffic_median, conversion >= conversion_median
    if high_t and high_c:
        return "star"
    if high_c:
        return "hidden gem"
    if high_t:
        return "window shopping"
    return "weak"


def recommend(
    q: Quadrant, *, visitors: int, exposure: float, conversion: float, sales_per_m2: float
) -> str:
    """A plain recommendation with the figures that justify it."""
    facts = (
        f"{visitors} visitor trips ({exposure:.0%} of store trips), "
        f"{conversion:.0%} of them bought, {sales_per_m2:,.0f} sales per m²"
    )
    return f"{ACTIONS[q]}: {facts}." if q == "star" else f"{ACTIONS[q]} — {facts}."
