"""Counter quadrant and verdict (the rules the counter evaluation serves).

The figures themselves (visitor trips, exposure, conversion, sales per m², basket value) are
SQL over the daily facts or the visits: server/queries/counters.py. Definitions
(docs/metrics.md#counter-ranking-quadrant-and-verdict):

* quadrant: visitor trips (traffic) vs conversion, each split at the median over the counters
  (at or above the median = high): star (high, high), hidden gem (low traffic, high conversion),
  window shopping (high traffic, low conversion), weak (low, low). It describes how shoppers
  behave at the counter; it is not the verdict.
* verdict: the counter's economics decide. Counters earning at least the store's median sales
  per m² (the top half of the ranking) are kept, whatever their quadrant, unless their terms
  fall short; below the median the quadrant and the basket value say what to work on, and a
  counter earning under ``REPLACE_SHARE`` of the median per m² with conversion and basket value
  below the medians is a candidate to replace.
* terms (where the layout gives them): the store's take per m² per month = rent per m² per
  month + commission rate x sales per m² per month (a month = ``MONTH_DAYS`` days of the
  period). A take under the store's target, or sales that do not cover ``RENT_COVER`` x the
  rent, make the verdict "review contract" — also for a counter ranked in the top half, whose
  reason then names its rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Literal

from storeflow.api.analytics import Quadrant

__all__ = [
    "MONTH_DAYS",
    "Economics",
    "Quadrant",
    "Verdict",
    "classify",
    "judge",
    "ranks",
    "recommend",
]

Verdict = Literal[
    "keep", "improve placement", "review merchandising", "review contract", "replace", "no data"
]
REPLACE_SHARE = 0.5  # under half the median sales per m², with weak conversion and baskets
RENT_COVER = 1.0  # monthly sales per m² at least the monthly rent per m²
MONTH_DAYS = 30.0

ACTIONS: dict[Verdict, str] = {
    "keep": "Keep",
    "improve placement": "Improve placement",
    "review merchandising": "Review merchandising",
    "review contract": "Review the contract",
    "replace": "Replace",
    "no data": "No verdict",
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


@dataclass(frozen=True, slots=True)
class Economics:
    """What one counter earns and how shoppers behave there, over one period."""

    code: str
    visitors: int
    conversion: float
    sales: float
    sales_per_m2: float
    basket_value: float | None  # sales per buying visitor trip
    rent_per_m2: float | None = None  # per month
    commission_rate: float | None = None  # the store's share of the counter's sales
    days: float = MONTH_DAYS  # the period's days, to put sales on a monthly footing

    @property
    def sales_per_m2_month(self) -> float:
        return self.sales_per_m2 * MONTH_DAYS / self.days if self.days > 0 else 0.0

    @property
    def take_per_m2(self) -> float | None:
        """The store's take per m² per month (rent + commission), or None without terms."""
        if self.rent_per_m2 is None and self.commission_rate is None:
            return None
        return (self.rent_per_m2 or 0.0) + (self.commission_rate or 0.0) * self.sales_per_m2_month


@dataclass(frozen=True, slots=True)
class Judgement:
    quadrant: Quadrant | None
    verdict: Verdict
    reason: str
    rank: int  # by sales per m², 1 = the highest


def ranks(counters: list[Economics]) -> dict[str, int]:
    """Rank by sales per m² (1 = the highest; ties keep the given order)."""
    ordered = sorted(counters, key=lambda c: c.sales_per_m2, reverse=True)
    return {c.code: i + 1 for i, c in enumerate(ordered)}


def _terms_short(c: Economics, target: float | None) -> str | None:
    """Why the counter's terms fall short (in words), or None if they do not (or are unknown)."""
    take = c.take_per_m2
    if c.rent_per_m2 is not None and c.sales_per_m2_month < RENT_COVER * c.rent_per_m2:
        return (
            f"its sales of {_money(c.sales_per_m2_month)} per m² a month do not cover its rent "
            f"of {_money(c.rent_per_m2)} per m²"
        )
    if take is not None and target is not None and take < target:
        return (
            f"{_terms(c)} the store takes {_money(take)} per m² a month, under its target "
            f"of {_money(target)}"
        )
    return None


def _terms(c: Economics) -> str:
    parts = []
    if c.commission_rate is not None:
        parts.append(f"{c.commission_rate:.0%} commission")
    if c.rent_per_m2 is not None:
        parts.append(f"a rent of {_money(c.rent_per_m2)} per m²")
    return "at " + " and ".join(parts) + ","


def _money(v: float) -> str:
    return f"{v:,.0f}"


def judge(
    counters: list[Economics], *, take_target_per_m2: float | None = None
) -> dict[str, Judgement]:
    """Quadrant, verdict, the reason in words and the rank, per counter code (module
    docstring); ``take_target_per_m2``: the store's target take per m² per month."""
    active = [c for c in counters if c.visitors > 0 or c.sales != 0]
    rank = ranks(counters)
    out: dict[str, Judgement] = {}
    for c in counters:
        if c not in active:
            out[c.code] = Judgement(
                None, "no data", "no visitor trips and no sales in this period", rank[c.code]
            )
    if not active:
        return out
    t_med = median(c.visitors for c in active)
    c_med = median(c.conversion for c in active)
    s_med = median(c.sales_per_m2 for c in active)
    baskets = [c.basket_value for c in active if c.basket_value is not None]
    b_med = median(baskets) if baskets else None
    for c in active:
        quad = classify(c.visitors, c.conversion, traffic_median=t_med, conversion_median=c_med)
        small_basket = b_med is None or c.basket_value is None or c.basket_value < b_med
        per_m2 = f"{_money(c.sales_per_m2)} sales per m² (store median {_money(s_med)})"
        basket = (
            f"basket {_money(c.basket_value)} (median {_money(b_med)})"
            if c.basket_value is not None and b_med is not None
            else "no purchase linked to a visit"
        )
        short = _terms_short(c, take_target_per_m2)
        take = c.take_per_m2
        verdict: Verdict
        if c.sales_per_m2 >= s_med and short is None:
            verdict = "keep"
            why = f"earns {per_m2}"
            if take is not None:
                why += f"; the store takes {_money(take)} per m² a month"
                if take_target_per_m2 is not None:
                    why += f" (target {_money(take_target_per_m2)})"
            if quad == "hidden gem":
                why += "; few shoppers reach it, so a better place would earn more"
            elif quad in ("window shopping", "weak"):
                why += f"; conversion is low but the {basket} carries it"
        elif c.sales_per_m2 < REPLACE_SHARE * s_med and c.conversion < c_med and small_basket:
            verdict = "replace"
            why = f"earns only {per_m2}, low conversion and small baskets ({basket})"
            if short is not None:
                why += f"; {short}"
        elif short is not None:
            verdict = "review contract"
            if c.sales_per_m2 >= s_med:
                why = f"ranks #{rank[c.code]} of {len(counters)} with {per_m2}, but {short}"
            else:
                why = f"{short}; earns {per_m2}"
        elif quad == "hidden gem":
            verdict = "improve placement"
            why = f"converts well but few shoppers reach it; earns {per_m2}"
        elif quad == "window shopping":
            verdict = "review merchandising"
            why = f"many stop, few buy; earns {per_m2}"
        else:
            verdict = "review contract"
            why = f"earns {per_m2}, {basket}"
        out[c.code] = Judgement(quad, verdict, why, rank[c.code])
    return out


def recommend(
    verdict: Verdict,
    reason: str,
    *,
    visitors: int,
    exposure: float,
    conversion: float,
) -> str:
    """A plain recommendation: the verdict, why, and the traffic figures behind it."""
    if verdict == "no data":
        return f"{ACTIONS[verdict]}: {reason}."
    facts = f"{visitors:,} visitor trips ({exposure:.0%} of store trips), {conversion:.0%} bought"
    return f"{ACTIONS[verdict]}: {reason} — {facts}."
