"""Counter evaluation: visitors, exposure, conversion, sales, quadrant and a recommendation.

Inputs: ``visits`` (``trip_id, zone, dwell_s``), ``trips`` (``trip_id``), ``purchases``
(``trip_id, counter, amount``; see :func:`server.analysis.link_purchases_to_trips` for
purchases known only by tag) and the store layout (counter code, zone, name, category, area).

Definitions (docs/metrics.md#counter-visitors to #holding-power):

* visitor trip of a counter: a trip whose total dwell in the counter's zone is at least
  ``min_dwell_s`` (default 30 s, as commercial tools count a section visit).
* exposure rate (RetailNext): visitor trips / store trips.
* conversion: visitor trips that bought at the counter / visitor trips.
* sales per visitor: the counter's sales / visitor trips; sales per m²: sales / counter area.
* quadrant: visitor trips (traffic) vs conversion, each split at the median over the counters
  (at or above the median = high): star (high, high), hidden gem (low traffic, high conversion),
  window shopping (high traffic, low conversion), weak (low, low).
* attracting power (Bitgood, Serrell): share of the trips passing through an aisle next to the
  counter that stop at the counter (dwell >= ``min_dwell_s``).
* holding power: median dwell of the zone's visitor trips / the zone's typical dwell.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from storeflow.layout import StoreLayout, ZoneKind

logger = logging.getLogger(__name__)

MIN_DWELL_S = 30.0
Quadrant = Literal["star", "hidden gem", "window shopping", "weak"]
RankBy = Literal["sales", "sales_per_m2", "sales_per_visitor", "conversion", "visitors"]

ACTIONS: dict[Quadrant, str] = {
    "star": "Keep",
    "hidden gem": "Improve placement",
    "window shopping": "Review merchandising and the contract",
    "weak": "Review the contract",
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
    quadrant: Quadrant,
    *,
    name: str,
    visitors: int,
    exposure: float,
    conversion: float,
    sales_per_m2: float,
    traffic_median: float,
    conversion_median: float,
) -> str:
    """A plain recommendation (keep / improve placement / review) with the figures behind it."""
    facts = (
        f"{name}: {visitors:,} visitor trips ({exposure:.0%} of store trips; counter median "
        f"{traffic_median:,.0f}), {conversion:.0%} of them bought (median {conversion_median:.0%}),"
        f" {sales_per_m2:,.0f} sales per m²"
    )
    why = {
        "star": "high traffic and high conversion",
        "hidden gem": "converts well but few shoppers reach it",
        "window shopping": "many stop, few buy",
        "weak": "low traffic and low conversion",
    }[quadrant]
    return f"{ACTIONS[quadrant]}: {why} — {facts}."


def trip_zone_dwell(visits: pd.DataFrame) -> pd.DataFrame:
    """Total dwell per (trip, zone): ``trip_id, zone, dwell_s``."""
    return visits.groupby(["trip_id", "zone"], sort=False)["dwell_s"].sum().reset_index()


def counter_metrics(
    visits: pd.DataFrame,
    trips: pd.DataFrame,
    purchases: pd.DataFrame,
    layout: StoreLayout,
    *,
    min_dwell_s: float = MIN_DWELL_S,
    rank_by: RankBy = "sales_per_m2",
) -> pd.DataFrame:
    """One row per counter with the figures of the module docstring.

    Columns: ``code, name, category, zone, area_m2, visitors, exposure_rate, buyers,
    conversion, transactions, sales, sales_per_visitor, sales_per_m2, median_dwell_s, rank,
    quadrant, recommendation``. ``sales`` counts every purchase at the counter in ``purchases``
    (also those not linked to a trip); ``buyers`` are visitor trips that bought there. ``rank``
    is 1 for the best counter by ``rank_by`` (ties: first in layout order).
    """
    store_trips = int(trips["trip_id"].nunique())
    tz = trip_zone_dwell(visits)
    tz = tz[tz["dwell_s"] >= min_dwell_s]
    p = purchases.assign(
        amount=purchases["amount"].astype(np.float64), counter=purchases["counter"].astype(str)
    )
    cz = pd.DataFrame(
        {"counter": [c.code for c in layout.counters], "zone": [c.zone for c in layout.counters]}
    )
    paid = p.loc[p["trip_id"].notna(), ["trip_id", "counter"]].drop_duplicates()
    vis = tz.merge(cz, on="zone").merge(
        paid.assign(bought=1), on=["trip_id", "counter"], how="left"
    )
    vis["bought"] = vis["bought"].fillna(0)
    per = vis.groupby("counter").agg(
        visitors=("trip_id", "nunique"),
        buyers=("bought", "sum"),
        median_dwell_s=("dwell_s", "median"),
    )
    sales_by = p.groupby("counter")["amount"].sum()
    tx_by = (
        p.groupby("counter")["purchase_id"].nunique()
        if "purchase_id" in p.columns
        else p.groupby("counter").size()
    )
    rows = []
    for c in layout.counters:
        n = int(per["visitors"].get(c.code, 0))
        buyers = int(per["buyers"].get(c.code, 0))
        sales = float(sales_by.get(c.code, 0.0))
        rows.append(
            {
                "code": c.code,
                "name": c.name,
                "category": c.category,
                "zone": c.zone,
                "area_m2": float(c.area_m2),
                "visitors": n,
                "exposure_rate": n / store_trips if store_trips else math.nan,
                "buyers": buyers,
                "conversion": buyers / n if n else math.nan,
                "transactions": int(tx_by.get(c.code, 0)),
                "sales": sales,
                "sales_per_visitor": sales / n if n else math.nan,
                "sales_per_m2": sales / float(c.area_m2),
                "median_dwell_s": float(per["median_dwell_s"].get(c.code, math.nan)),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    key = out[rank_by].fillna(-np.inf)
    out["rank"] = key.rank(ascending=False, method="first").astype(np.int64)
    t_med = float(out["visitors"].median())
    conv = out["conversion"].fillna(0.0).to_numpy(dtype=np.float64)
    c_med = float(np.median(conv))
    visitors = out["visitors"].to_numpy(dtype=np.int64)
    quads: list[Quadrant] = [
        classify(float(v), float(c), traffic_median=t_med, conversion_median=c_med)
        for v, c in zip(visitors, conv, strict=True)
    ]
    out["quadrant"] = quads
    out["recommendation"] = [
        recommend(
            q,
            name=str(name),
            visitors=int(v),
            exposure=float(x),
            conversion=float(c),
            sales_per_m2=float(spm),
            traffic_median=t_med,
            conversion_median=c_med,
        )
        for q, name, v, x, c, spm in zip(
            quads,
            out["name"].tolist(),
            visitors,
            out["exposure_rate"].to_numpy(dtype=np.float64),
            conv,
            out["sales_per_m2"].to_numpy(dtype=np.float64),
            strict=True,
        )
    ]
    return out.sort_values("rank").reset_index(drop=True)


def attracting_power(
    visits: pd.DataFrame, layout: StoreLayout, *, min_dwell_s: float = MIN_DWELL_S
) -> pd.DataFrame:
    """Share of passers who stop, per counter (museum studies: Bitgood; Serrell).

    Passers: trips with a visit in an aisle adjacent to the counter's zone (any adjacent zone if
    the counter has no adjacent aisle). Stoppers: passers whose dwell in the counter's zone is at
    least ``min_dwell_s``. Columns: ``code, zone, passers, stoppers, attracting_power``.
    """
    graph = layout.adjacency()
    kinds = {z.code: z.kind for z in layout.zones}
    tz = trip_zone_dwell(visits)
    rows = []
    for c in layout.counters:
        near = {z for z in graph[c.zone] if kinds[z] == ZoneKind.AISLE} or set(graph[c.zone])
        passers = set(tz.loc[tz["zone"].isin(near), "trip_id"])
        stopped = set(tz.loc[(tz["zone"] == c.zone) & (tz["dwell_s"] >= min_dwell_s), "trip_id"])
        n, k = len(passers), len(passers & stopped)
        rows.append(
            {
                "code": c.code,
                "zone": c.zone,
                "passers": n,
                "stoppers": k,
                "attracting_power": k / n if n else math.nan,
            }
        )
    return pd.DataFrame(rows)


def holding_power(
    visits: pd.DataFrame,
    *,
    zones: Sequence[str] | None = None,
    typical_dwell_s: Mapping[str, float] | None = None,
    baseline: pd.DataFrame | None = None,
    min_dwell_s: float = MIN_DWELL_S,
) -> pd.DataFrame:
    """Holding power per zone: median dwell of its visitor trips / the zone's typical dwell.

    Dwell is the total per (trip, zone), counting trips with at least ``min_dwell_s``. The
    typical dwell comes from ``typical_dwell_s`` when given for the zone, else from the median
    in ``baseline`` visits (e.g. the same zone over the previous quarter), else it is the median
    over the zones in this frame (holding power then compares a zone with the typical zone).
    Columns: ``zone, visitors, median_dwell_s, typical_dwell_s, holding_power``.
    """
    tz = trip_zone_dwell(visits)
    tz = tz[tz["dwell_s"] >= min_dwell_s]
    if zones is not None:
        tz = tz[tz["zone"].isin(list(zones))]
    per = tz.groupby("zone")["dwell_s"].agg(["size", "median"])
    per.columns = pd.Index(["visitors", "median_dwell_s"])
    if zones is not None:
        per = per.reindex(list(zones))
    per["visitors"] = per["visitors"].fillna(0).astype(np.int64)
    base: pd.Series
    if baseline is not None:
        b = trip_zone_dwell(baseline)
        base = b[b["dwell_s"] >= min_dwell_s].groupby("zone")["dwell_s"].median()
    else:
        base = pd.Series(float(per["median_dwell_s"].median()), index=per.index)
    typical = base.reindex(per.index).astype(np.float64)
    if typical_dwell_s:
        given = pd.Series(typical_dwell_s, dtype=np.float64).reindex(per.index)
        typical = given.fillna(typical)
    per["typical_dwell_s"] = typical
    per["holding_power"] = per["median_dwell_s"] / per["typical_dwell_s"]
    return per.reset_index(names="zone")
