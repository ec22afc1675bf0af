"""Planner analyses as pure functions over pandas frames: no database, no HTTP.

Modules: ``paths`` (top paths, transition matrix, Sankey links, path efficiency), ``counters``
(counter evaluation, attracting and holding power), ``members`` (the five classes, RFM, Pareto,
lapse alerts with BG/NBD), ``experiments`` (before/after and difference-in-differences with a
bootstrap interval) and ``occupancy`` (occupancy, entries, week-on-week, heatmaps). Every metric
follows the metric definitions (docs/metrics.md); each function's docstring states the one it uses.

Input frames (one row each):

* visits: ``trip_id, epc, zone, enter_at, exit_at, dwell_s`` (a zone visit; dwell = exit - enter)
* trips: ``trip_id, epc, start_at, end_at, zones`` (``zones``: the ordered zone codes of the trip)
* purchases: ``purchase_id, member_id | epc | trip_id, at, counter, amount``
* members: ``member_id, joined_at, referrer_id, tier, birth_date, gender``

Timestamps may be naive (taken as UTC) or timezone-aware; :func:`as_utc` normalises them.
"""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)


def as_utc(values: pd.Series) -> pd.Series:
    """Timestamps as ``datetime64[ns, UTC]`` (naive values are taken as UTC)."""
    out = pd.to_datetime(values, utc=True)
    return out.astype("datetime64[ns, UTC]")


def link_purchases_to_trips(
    purchases: pd.DataFrame, trips: pd.DataFrame, *, slack_s: float = 900.0
) -> pd.DataFrame:
    """Fill a purchase's ``trip_id`` from its tag when it has none.

    A purchase without ``trip_id`` but with an ``epc`` belongs to that tag's latest trip that
    started at or before the purchase and ended no more than ``slack_s`` seconds before it (the
    till may record the sale after the tag left the last zone). Purchases that match no trip get
    ``trip_id`` None. Returns a copy; the input is not changed.
    """
    out = purchases.copy()
    if "trip_id" not in out.columns:
        out["trip_id"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    out["trip_id"] = out["trip_id"].astype(object)
    if "epc" not in out.columns or trips.empty or out.empty:
        return out
    missing = out["trip_id"].isna() & out["epc"].notna()
    if not missing.any():
        return out
    left = pd.DataFrame(
        {"row": out.index[missing], "epc": out.loc[missing, "epc"].astype(str).to_numpy()}
    )
    left["at"] = as_utc(out.loc[missing, "at"]).to_numpy()
    right = pd.DataFrame(
        {
            "trip": trips["trip_id"].to_numpy(),
            "epc": trips["epc"].astype(str).to_numpy(),
            "start_at": as_utc(trips["start_at"]).to_numpy(),
            "end_at": as_utc(trips["end_at"]).to_numpy(),
        }
    )
    m = pd.merge_asof(
        left.sort_values("at"),
        right.sort_values("start_at"),
        left_on="at",
        right_on="start_at",
        by="epc",
        direction="backward",
    )
    ok = m["trip"].notna() & (m["at"] <= m["end_at"] + pd.Timedelta(seconds=slack_s))
    out.loc[m.loc[ok, "row"].to_numpy(), "trip_id"] = m.loc[ok, "trip"].to_numpy()
    out["trip_id"] = out["trip_id"].where(out["trip_id"].notna(), None)
    logger.debug("linked %s of %s purchases to trips by tag", int(ok.sum()), int(missing.sum()))
    return out
