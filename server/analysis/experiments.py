"""Experiments: did a promotion or a layout change move a metric? Before vs during/after.

Daily metrics per unit (a counter, or ``"store"``): ``day, unit, traffic, dwell, conversion,
sales``, read from the daily facts by server/queries/experiments.py, which serves these
estimates.

* **Difference-in-differences** (treated units vs control units, e.g. the other counters): per
  day, d = treated - control (each the mean over its units); estimate = mean(d during/after) -
  mean(d before). It removes what moved the whole store (weather, holidays, a store-wide sale).
* **Same weekdays** (one unit, no control, e.g. a store-wide layout change): estimate = the mean
  over weekdays of (mean after - mean before) on that weekday, so a period with more Saturdays
  does not look like an effect.
* **Interval**: a bootstrap by day (days resampled with replacement within each period, and
  within each weekday for the weekday method; seeded; deviations rescaled by sqrt(n/(n-1)) so
  few days do not give too narrow an interval), 95 % percentile interval.
  ``distinguishable`` = the interval excludes 0. ``relative`` = estimate / the treated mean
  before (+0.30 = +30 %); on the log scale, exp(estimate) - 1.
* Both methods compare like weekdays by default: only weekdays present in both periods count,
  each weekday weighted equally, and the bootstrap resamples within-weekday residuals.

Periods are half-open ``[start, end)`` on local calendar days.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
DayLike = date | datetime | pd.Timestamp | str
Metric = Literal["traffic", "dwell", "conversion", "sales"]
Scale = Literal["absolute", "log"]
METRICS: tuple[Metric, ...] = ("traffic", "dwell", "conversion", "sales")
N_BOOT = 1000  # bootstrap resamples per interval: the 2.5 and 97.5 percentiles settle by then


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days ``[start, end)``."""

    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def of(cls, start: DayLike, end: DayLike) -> Period:
        return cls(_day(start), _day(end))


def _day(value: DayLike) -> pd.Timestamp:
    t = pd.Timestamp(value)
    if t.tzinfo is not None:
        t = t.tz_localize(None)
    return t.normalize()


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True, slots=True)
class Effect:
    """An estimated change in a daily metric, with a bootstrap interval."""

    metric: str
    method: Literal["did", "weekday"]
    scale: Scale
    estimate: float
    ci_low: float
    ci_high: float
    relative: float
    distinguishable: bool
    treated_before: float
    treated_after: float
    control_before: float
    control_after: float
    days_before: int
    days_after: int


def _series(daily: pd.DataFrame, metric: str, units: Collection[str], scale: Scale) -> pd.Series:
    """Per day, the mean of ``metric`` over ``units`` (days where all are missing dropped).

    On the log scale, days with a mean <= 0 are dropped too.
    """
    sub = daily[daily["unit"].isin(list(units))]
    s = sub.groupby("day")[metric].mean().dropna().astype(np.float64)
    if scale == "log":
        pos = s[s > 0]
        s = pd.Series(np.log(pos.to_numpy()), index=pos.index)
    return s


def _wide(daily: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``metric`` as a day x unit table (one pivot instead of a filter per group of units)."""
    values = daily.groupby(["day", "unit"], sort=False)[metric].mean()
    return values.unstack("unit")


def _from_wide(wide: pd.DataFrame, units: Collection[str], scale: Scale) -> pd.Series:
    """:func:`_series` from a :func:`_wide` table."""
    wanted = set(units)
    cols = np.flatnonzero([c in wanted for c in wide.columns])
    block = wide.to_numpy(dtype=np.float64)[:, cols]
    with np.errstate(all="ignore"):
        mean = np.nanmean(block, axis=1) if cols.size else np.full(len(wide), np.nan)
    s = pd.Series(mean, index=pd.DatetimeIndex(wide.index, name="day")).dropna()
    s = s.sort_index()
    if scale == "log":
        pos = s[s > 0]
        s = pd.Series(np.log(pos.to_numpy()), index=pos.index)
    return s


def _in(s: pd.Series, period: Period) -> pd.Series:
    idx = pd.DatetimeIndex(s.index)
    return s[(idx >= period.start) & (idx < period.end)]


def _interval(boots: FloatArray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def _boot_means(values: FloatArray, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """Bootstrap means of ``values``, spread rescaled by sqrt(n / (n - 1)).

    The plain bootstrap variance of a mean is (n - 1)/n of the usual estimate, which makes
    intervals too narrow with few days; rescaling the deviations corrects it.
    """
    n = values.size
    centre = values.mean()
    scaled = centre + (values - centre) * (math.sqrt(n / (n - 1)) if n > 1 else 1.0)
    means: FloatArray = scaled[rng.integers(0, n, (n_boot, n))].mean(axis=1)
    return means


@dataclass(frozen=True, slots=True)
class _Contrast:
    estimate: float
    boots: FloatArray
    before_mean: float
    after_mean: float
    days_before: int
    days_after: int


def _contrast(
    b: pd.Series, a: pd.Series, *, by_weekday: bool, n_boot: int, rng: np.random.Generator
) -> _Contrast:
    """mean(after) - mean(before) and its bootstrap draws.

    ``by_weekday``: only weekdays present in both periods count; the estimate is the mean over
    those weekdays of (after - before) on that weekday; the bootstrap draws, for each weekday's
    days, residuals (day - its weekday's mean, rescaled by sqrt(n/(n-1))) pooled within the
    period, so the weekly rhythm does not inflate the interval. When every weekday has a single
    day, residuals are taken from the period mean instead (a wider, cautious interval).
    """
    vb, va = b.to_numpy(dtype=np.float64), a.to_numpy(dtype=np.float64)
    if vb.size == 0 or va.size == 0:
        side = "before the change" if vb.size == 0 else "after the change"
        raise ValueError(
            f"there is no day with shopper data {side} in the chosen days "
            f"({vb.size} days before, {va.size} after): choose other dates"
        )
    if not by_weekday:
        return _Contrast(
            estimate=float(va.mean() - vb.mean()),
            boots=_boot_means(va, n_boot, rng) - _boot_means(vb, n_boot, rng),
            before_mean=float(vb.mean()),
            after_mean=float(va.mean()),
            days_before=int(vb.size),
            days_after=int(va.size),
        )
    wd_b = pd.DatetimeIndex(b.index).day_of_week.to_numpy()
    wd_a = pd.DatetimeIndex(a.index).day_of_week.to_numpy()
    common = sorted(set(wd_b.tolist()) & set(wd_a.tolist()))
    if not common:
        raise ValueError(
            "the days before and after share no weekday, so like cannot be compared with like: "
            "compare at least a week on each side"
        )
    keep_b, keep_a = np.isin(wd_b, common), np.isin(wd_a, common)
    vb, wd_b, va, wd_a = vb[keep_b], wd_b[keep_b], va[keep_a], wd_a[keep_a]

    def cells(v: FloatArray, wd: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        means = np.array([v[wd == w].mean() for w in common])
        sizes = np.array([(wd == w).sum() for w in common])
        if sizes.max() > 1:
            cell_of = np.searchsorted(common, wd)
            n_w = sizes[cell_of]
            factor = np.sqrt(np.where(n_w > 1, n_w / np.maximum(n_w - 1, 1), 0.0))
            pool = (v - means[cell_of]) * factor
        else:
            pool = (v - v.mean()) * (math.sqrt(v.size / (v.size - 1)) if v.size > 1 else 0.0)
        boot = np.empty((n_boot, len(common)))
        for i, n in enumerate(sizes):
            boot[:, i] = means[i] + pool[rng.integers(0, pool.size, (n_boot, int(n)))].mean(axis=1)
        return means, boot

    mb, bb = cells(vb, wd_b)
    ma, ba = cells(va, wd_a)
    return _Contrast(
        estimate=float((ma - mb).mean()),
        boots=(ba - bb).mean(axis=1),
        before_mean=float(mb.mean()),
        after_mean=float(ma.mean()),
        days_before=int(vb.size),
        days_after=int(va.size),
    )


def _relative(estimate: float, treated_before: float, scale: Scale) -> float:
    if scale == "log":
        return math.expm1(estimate)
    return estimate / treated_before if treated_before else math.nan


def diff_in_diff(
    daily: pd.DataFrame,
    *,
    metric: Metric,
    treated: Collection[str],
    before: Period,
    after: Period,
    control: Collection[str] | None = None,
    scale: Scale = "absolute",
    by_weekday: bool = True,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> Effect:
    """Difference-in-differences of ``metric``: treated units vs control units, before vs after.

    ``control`` defaults to every unit in ``daily`` that is not treated. Only days present for
    both groups count. ``scale="log"`` compares log values (a multiplicative change: the
    estimate is a log ratio and ``relative`` = exp(estimate) - 1); ``by_weekday`` compares like
    weekdays (see :func:`_contrast`). Module docstring: the estimate and the interval.
    """
    if control is None:
        control = sorted(set(daily["unit"]) - set(treated))
    if not control:
        raise ValueError("choose at least one counter to compare with (a control counter)")
    wide = _wide(daily, metric)
    tr, co = _from_wide(wide, treated, scale), _from_wide(wide, control, scale)
    d = (tr - co).dropna()
    rng = np.random.default_rng(seed)
    c = _contrast(_in(d, before), _in(d, after), by_weekday=by_weekday, n_boot=n_boot, rng=rng)
    lo, hi = _interval(c.boots, level)
    raw_tr = _from_wide(wide, treated, "absolute")
    raw_co = _from_wide(wide, control, "absolute")
    tb = float(_in(raw_tr, before).mean())
    return Effect(
        metric=metric,
        method="did",
        scale=scale,
        estimate=c.estimate,
        ci_low=lo,
        ci_high=hi,
        relative=_relative(c.estimate, tb, scale),
        distinguishable=bool(lo > 0 or hi < 0),
        treated_before=tb,
        treated_after=float(_in(raw_tr, after).mean()),
        control_before=float(_in(raw_co, before).mean()),
        control_after=float(_in(raw_co, after).mean()),
        days_before=c.days_before,
        days_after=c.days_after,
    )


def same_weekday_change(
    daily: pd.DataFrame,
    *,
    metric: Metric,
    unit: str = "store",
    before: Period,
    after: Period,
    scale: Scale = "absolute",
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> Effect:
    """Before vs after for one unit with the same weekdays as the control (module docstring).

    Only weekdays present in both periods count, each with equal weight.
    """
    s = _series(daily, metric, [unit], scale)
    rng = np.random.default_rng(seed)
    c = _contrast(_in(s, before), _in(s, after), by_weekday=True, n_boot=n_boot, rng=rng)
    lo, hi = _interval(c.boots, level)
    tb = math.exp(c.before_mean) if scale == "log" else c.before_mean
    ta = math.exp(c.after_mean) if scale == "log" else c.after_mean
    return Effect(
        metric=metric,
        method="weekday",
        scale=scale,
        estimate=c.estimate,
        ci_low=lo,
        ci_high=hi,
        relative=_relative(c.estimate, tb, scale),
        distinguishable=bool(lo > 0 or hi < 0),
        treated_before=tb,
        treated_after=ta,
        control_before=math.nan,
        control_after=math.nan,
        days_before=c.days_before,
        days_after=c.days_after,
    )
