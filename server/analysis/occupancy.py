"""Occupancy and traffic over time: open trips, entries per bucket, week on week, heatmaps.

Definitions (docs/metrics.md): footfall / traffic = trips starting in a period (entries);
occupancy = trips open at a time (started at or before it, not yet ended). Zone entries count
zone visits by their enter time. Inputs: ``trips`` (``trip_id, start_at, end_at``), ``visits``
(``zone, enter_at``), ``purchases`` (``trip_id``). Buckets are pandas frequency strings
("15min", "1h", "1D") and are aligned to midnight UTC unless a ``tz`` is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from server.analysis import as_utc

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _ts(value: datetime | pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _ns(values: pd.Series | pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """UTC timestamps as int64 nanoseconds."""
    if isinstance(values, pd.DatetimeIndex):
        idx = values.tz_convert("UTC") if values.tz is not None else values.tz_localize("UTC")
        return idx.as_unit("ns").asi8
    return pd.DatetimeIndex(as_utc(values)).as_unit("ns").asi8


def _buckets(
    start: datetime | pd.Timestamp, end: datetime | pd.Timestamp, freq: str, tz: str
) -> pd.DatetimeIndex:
    s = _ts(start).tz_convert(tz).floor(freq)
    e = _ts(end).tz_convert(tz)
    return pd.date_range(s, e, freq=freq, inclusive="left", name="bucket")


def occupancy(
    trips: pd.DataFrame,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    freq: str = "15min",
    how: Literal["at", "mean"] = "mean",
    tz: str = "UTC",
) -> pd.Series:
    """Trips open over time, one value per bucket from ``start`` to ``end``.

    ``how="at"``: trips open at the bucket's start (start_at <= t < end_at). ``how="mean"``:
    the time-averaged number of open trips over the bucket (total trip-time inside it / its
    length), which does not miss short peaks between two instants. Vectorised: sorted start and
    end times with cumulative sums, O((trips + buckets) log trips).
    """
    edges = _buckets(start, end, freq, tz)
    if len(edges) == 0:
        return pd.Series([], dtype=np.float64, index=edges, name="occupancy")
    starts = np.sort(_ns(trips["start_at"]))
    ends = np.sort(_ns(trips["end_at"]))
    t = _ns(edges)
    if how == "at":
        open_now = np.searchsorted(starts, t, "right") - np.searchsorted(ends, t, "right")
        return pd.Series(open_now.astype(np.float64), index=edges, name="occupancy")
    step = pd.Timedelta(freq).value
    bounds = np.append(t, t[-1] + step)
    area = _integral(starts, bounds) - _integral(ends, bounds)
    return pd.Series(np.diff(area) / step, index=edges, name="occupancy")


def _integral(times: npt.NDArray[np.int64], at: npt.NDArray[np.int64]) -> FloatArray:
    """sum_i max(0, at - times_i) for each value of ``at`` (``times`` sorted)."""
    k = np.searchsorted(times, at, "right")
    csum = np.concatenate([[0.0], np.cumsum(times.astype(np.float64))])
    out: FloatArray = k * at.astype(np.float64) - csum[k]
    return out


def entries(
    trips: pd.DataFrame,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    freq: str = "1h",
    tz: str = "UTC",
) -> pd.Series:
    """Store entries (footfall): trips starting in each bucket (zero-filled)."""
    edges = _buckets(start, end, freq, tz)
    return _count(_ns(trips["start_at"]), edges, freq).rename("entries")


def zone_entries(
    visits: pd.DataFrame,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    freq: str = "1h",
    tz: str = "UTC",
) -> pd.DataFrame:
    """Zone entries: visits entering each zone per bucket; rows = buckets, columns = zones."""
    edges = _buckets(start, end, freq, tz)
    enter = _ns(visits["enter_at"])
    zones = sorted(str(z) for z in pd.unique(visits["zone"]))
    zone_col = visits["zone"].astype(str).to_numpy()
    data = {z: _count(enter[zone_col == z], edges, freq).to_numpy() for z in zones}
    return pd.DataFrame(data, index=edges, columns=zones)


def _count(times: npt.NDArray[np.int64], edges: pd.DatetimeIndex, freq: str) -> pd.Series:
    if len(edges) == 0:
        return pd.Series([], dtype=np.int64, index=edges)
    t = _ns(edges)
    bounds = np.append(t, t[-1] + pd.Timedelta(freq).value)
    times = np.sort(times)
    counts = np.diff(np.searchsorted(times, bounds, "left"))
    return pd.Series(counts.astype(np.int64), index=edges)


def week_on_week(
    trips: pd.DataFrame,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    freq: str = "1h",
    tz: str = "UTC",
) -> pd.DataFrame:
    """Entries per bucket in ``[start, end)`` next to the same buckets one week earlier.

    Columns: ``current, last_week, change`` (current - last week) and ``change_pct``
    (change / last week; NaN where last week had none). Index: the current buckets.
    """
    week = timedelta(days=7)
    now = entries(trips, start=start, end=end, freq=freq, tz=tz)
    before = entries(trips, start=_ts(start) - week, end=_ts(end) - week, freq=freq, tz=tz)
    last = before.to_numpy()[: len(now)]
    out = pd.DataFrame({"current": now.to_numpy(), "last_week": last}, index=now.index)
    out["change"] = out["current"] - out["last_week"]
    out["change_pct"] = out["change"] / out["last_week"].where(out["last_week"] > 0)
    return out


@dataclass(frozen=True, slots=True)
class Heatmaps:
    """Hour-of-day x weekday matrices: rows Mon..Sun, columns 0..23 (local time).

    ``traffic``: mean entries per day for that weekday and hour (entries / number of such
    weekdays in the range); ``conversion``: trips with a purchase / trips (NaN without trips);
    ``trips``: the trip counts behind the conversion.
    """

    traffic: pd.DataFrame
    conversion: pd.DataFrame
    trips: pd.DataFrame


def heatmaps(
    trips: pd.DataFrame,
    purchases: pd.DataFrame,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    tz: str = "UTC",
) -> Heatmaps:
    """Traffic and conversion by weekday and hour of the trip's start, in the store's ``tz``."""
    s, e = _ts(start), _ts(end)
    at = as_utc(trips["start_at"])
    inside = ((at >= s) & (at < e)).to_numpy()
    local = pd.DatetimeIndex(at[inside]).tz_convert(tz)
    bought = set(purchases.loc[purchases["trip_id"].notna(), "trip_id"])
    t = pd.DataFrame(
        {
            "wd": local.day_of_week,
            "hour": local.hour,
            "bought": trips.loc[inside, "trip_id"].isin(bought).to_numpy(dtype=np.int64),
        }
    )
    full = pd.MultiIndex.from_product([range(7), range(24)], names=["wd", "hour"])
    grouped = t.groupby(["wd", "hour"])["bought"]
    n = grouped.size().reindex(full, fill_value=0)
    k = grouped.sum().reindex(full, fill_value=0)
    days = pd.date_range(s.tz_convert(tz).normalize(), e.tz_convert(tz), freq="D", inclusive="left")
    per_wd = np.bincount(pd.DatetimeIndex(days).day_of_week, minlength=7).astype(np.float64)

    def grid(values: FloatArray) -> pd.DataFrame:
        return pd.DataFrame(values.reshape(7, 24), index=list(WEEKDAYS), columns=list(range(24)))

    counts: FloatArray = np.asarray(n.to_numpy(), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        traffic = counts.reshape(7, 24) / np.where(per_wd > 0, per_wd, np.nan)[:, None]
        conversion: FloatArray = np.where(
            counts > 0, k.to_numpy(dtype=np.float64) / counts, np.nan
        ).astype(np.float64)
    return Heatmaps(
        traffic=grid(traffic.ravel()),
        conversion=grid(conversion),
        trips=grid(counts),
    )
