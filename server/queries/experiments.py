"""Promotions and layout changes: daily series from the facts, effects with bootstrap intervals.

Daily metrics: per counter — traffic (visitor trips), dwell (median of visitor trips),
conversion (visitor trips that bought there / visitor trips), sales; for the store — traffic
(entries), dwell (mean trip duration), conversion (trips that bought / trips), sales. The
estimates and intervals are those of :mod:`server.analysis.experiments` (difference-in-
differences against the other counters, or the same weekdays before and after).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from psycopg import AsyncConnection

from server import histogram
from server.analysis.experiments import (
    METRICS,
    N_BOOT,
    Effect,
    Metric,
    Period,
    diff_in_diff,
    same_weekday_change,
)
from server.queries.facts import Bound, Selection, rows
from server.rollup import ensure_fresh
from storeflow.api.experiments import DayPoint, EffectOut, ExperimentOut, LayoutChangeDate

Unit = Literal["counter", "store"]
MIN_DAYS = 3  # days with data on each side before an effect is estimated
# the days with trips: a day without any (closed, or before the data starts) is not a zero,
# and the day still running (from ``today`` on) is not compared with whole days
_OPEN_DAYS = (
    "SELECT DISTINCT day AS d FROM fact_hour WHERE store_id = %(s)s "
    "AND day BETWEEN %(d0)s AND %(d1)s AND day < %(today)s AND entries > 0"
)


def today(tz: str) -> date:
    """The store's local day now: the first day that is not over."""
    return datetime.now(ZoneInfo(tz)).date()


def enough_days(e: EffectOut) -> EffectOut:
    """``e``, or a ValueError when either side has fewer than ``MIN_DAYS`` days with data."""
    if e.days_before < MIN_DAYS or e.days_after < MIN_DAYS:
        raise ValueError(
            f"not enough days with data to compare: {e.days_before} before and "
            f"{e.days_after} after, on like weekdays (at least {MIN_DAYS} on each side are "
            "needed): choose a longer window or other dates"
        )
    return e


SCREEN_CHANGE = 0.25  # a control counter whose own traffic moved more than this is suspect


async def remapped(
    conn: AsyncConnection[Any], store_id: str, first: date, last: date, tz: str
) -> dict[str, date]:
    """Counters whose antenna mapping changed within ``[first, last]``: code -> first such day."""
    got = await rows(
        conn,
        "SELECT c.code, min(d) FROM antenna_zone a "
        "JOIN counter c ON c.store_id = a.store_id AND c.zone_code = a.zone_code "
        "CROSS JOIN LATERAL (VALUES ((a.valid_from AT TIME ZONE %(tz)s)::date), "
        "((a.valid_to AT TIME ZONE %(tz)s)::date)) v(d) "
        "WHERE a.store_id = %(s)s AND d > %(d0)s AND d <= %(d1)s GROUP BY 1",
        Bound(Selection(store_id, first, last, tz), tz=tz),
    )
    return {str(code): d for code, d in got}


def changed_on_their_own(
    daily: pd.DataFrame, candidates: list[str], before: Period, after: Period
) -> dict[str, float]:
    """Candidate controls whose traffic moved against the other candidates by more than
    ``SCREEN_CHANGE`` (relative, distinguishable from noise): code -> relative change.

    A control that was itself moved or promoted makes a difference-in-differences wrong."""
    out: dict[str, float] = {}
    if len(candidates) < 3:
        return out
    for i, code in enumerate(candidates):
        rest = [c for c in candidates if c != code]
        try:
            e = diff_in_diff(
                daily,
                metric="traffic",
                treated=[code],
                control=rest,
                before=before,
                after=after,
                scale="log",
                n_boot=200,
                seed=100 + i,
            )
        except ValueError:
            continue
        if e.distinguishable and abs(e.relative) > SCREEN_CHANGE:
            out[code] = e.relative
    return out


async def choose_control(
    conn: AsyncConnection[Any],
    daily: pd.DataFrame,
    *,
    store_id: str,
    tz: str,
    treated: list[str],
    control: list[str] | None,
    before: Period,
    after: Period,
) -> tuple[list[str], list[str]]:
    """The control counters and the warnings about them.

    By default: every counter not treated, less those whose antenna mapping changed in the
    compared days and those whose traffic moved on its own (:func:`changed_on_their_own`),
    each named in a warning. Controls the caller chose are kept, with the same warnings."""
    known = sorted(set(daily["unit"]))
    first, last = _span(before)[0], _span(after)[1]
    moved = await remapped(conn, store_id, first, last, tz)
    candidates = control or [c for c in known if c not in treated]
    screened = changed_on_their_own(daily, [c for c in candidates if c not in moved], before, after)
    warnings = []
    for code in candidates:
        if code in moved:
            warnings.append(
                f"{code}'s antenna mapping changed on {moved[code]:%d %b %Y}: its before and "
                "after are not comparable"
            )
        elif code in screened:
            warnings.append(
                f"{code}'s own traffic changed {screened[code]:+.0%} against the other "
                "counters in these days: it was probably moved or promoted too"
            )
    if control:
        if warnings:
            warnings.append("these counters are still in the control group you chose")
        return control, warnings
    chosen = [c for c in candidates if c not in moved and c not in screened]
    if not chosen:
        raise ValueError(
            "every other counter changed in these days, so none can serve as a comparison"
        )
    if warnings:
        warnings.append("so they were left out of the control group")
    return chosen, warnings


async def _check_counters(
    conn: AsyncConnection[Any],
    store_id: str,
    daily: pd.DataFrame,
    codes: list[str],
    first: date,
    last: date,
) -> None:
    """A ValueError in words when ``codes`` are not counters or the days hold no data."""
    cur = await conn.execute("SELECT code FROM counter WHERE store_id = %s", (store_id,))
    known = {r[0] for r in await cur.fetchall()}
    missing = sorted(set(codes) - known)
    if missing:
        raise ValueError(f"this store has no counter {', '.join(missing)}")
    if daily.empty:
        raise ValueError(
            f"there is no shopper data between {first:%d %b %Y} and {last:%d %b %Y} "
            "(whole days only; today is not over yet): choose other dates"
        )


def _clean(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def effect_out(e: Effect) -> EffectOut:
    d = asdict(e)
    return EffectOut(
        **{
            k: _clean(v) if isinstance(v, float) else v
            for k, v in d.items()
            if k in EffectOut.model_fields
        }
    )


async def counter_daily(
    conn: AsyncConnection[Any], store_id: str, first: date, last: date, tz: str
) -> pd.DataFrame:
    """``day, unit, category, traffic, dwell, conversion, sales`` per counter and day."""
    sel = Selection(store_id, first, last, tz)
    got = await rows(
        conn,
        "SELECT d::date, c.code, c.category, coalesce(sum(f.visitors), 0), "
        "coalesce(sum(f.buyers), 0), coalesce(sum(f.sales), 0) "
        f"FROM ({_OPEN_DAYS}) d "
        "CROSS JOIN counter c LEFT JOIN fact_counter f ON f.store_id = c.store_id "
        "AND f.counter = c.code AND f.day = d::date WHERE c.store_id = %(s)s "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2",
        Bound(sel, today=today(tz)),
    )
    hists: dict[tuple[date, str], dict[int, int]] = {}
    for day, counter, b, n in await rows(
        conn,
        "SELECT day, counter, bin, sum(n)::int FROM fact_counter_dwell WHERE store_id = %(s)s "
        "AND day BETWEEN %(d0)s AND %(d1)s GROUP BY 1, 2, 3",
        sel,
    ):
        hists.setdefault((day, counter), {})[b] = n
    frame = pd.DataFrame(got, columns=["day", "unit", "category", "traffic", "buyers", "sales"])
    frame["day"] = pd.to_datetime(frame["day"])
    frame["traffic"] = frame["traffic"].astype(np.int64)
    frame["conversion"] = frame["buyers"] / frame["traffic"].where(frame["traffic"] > 0)
    frame["sales"] = frame["sales"].astype(np.float64)
    frame["dwell"] = [
        histogram.percentile(hists.get((d.date(), u), {}), 0.5)
        for d, u in zip(frame["day"], frame["unit"], strict=True)
    ]
    frame["dwell"] = frame["dwell"].astype(np.float64)
    return frame[["day", "unit", "category", *METRICS]]


async def store_daily(
    conn: AsyncConnection[Any], store_id: str, first: date, last: date, tz: str
) -> pd.DataFrame:
    got = await rows(
        conn,
        "SELECT d::date, coalesce(sum(f.entries), 0), coalesce(sum(f.buying_trips), 0), "
        "coalesce(sum(f.sales), 0), coalesce(sum(f.duration_s), 0) "
        f"FROM ({_OPEN_DAYS}) d "
        "LEFT JOIN fact_hour f ON f.store_id = %(s)s AND f.day = d::date GROUP BY 1 ORDER BY 1",
        Bound(Selection(store_id, first, last, tz), today=today(tz)),
    )
    frame = pd.DataFrame(got, columns=["day", "traffic", "buyers", "sales", "duration"])
    frame["day"] = pd.to_datetime(frame["day"])
    t = frame["traffic"].astype(np.float64)
    frame["conversion"] = frame["buyers"] / t.where(t > 0)
    frame["dwell"] = frame["duration"].astype(np.float64) / t.where(t > 0)
    frame["sales"] = frame["sales"].astype(np.float64)
    frame["traffic"] = frame["traffic"].astype(np.int64)
    frame.insert(1, "unit", "store")
    return frame[["day", "unit", *METRICS]]


def _points(daily: pd.DataFrame, units: list[str]) -> list[DayPoint]:
    part = daily[daily["unit"].isin(units)]
    return [
        DayPoint(
            day=d.date(),
            unit=u,
            traffic=float(t),
            dwell=_clean(float(w)),
            conversion=_clean(float(c)),
            sales=float(s),
        )
        for d, u, t, w, c, s in part[["day", "unit", *METRICS]].itertuples(index=False)
    ]


def _scale(metric: str) -> Any:
    """Traffic and sales change by a factor: compared on a log scale; the others as they are."""
    return "log" if metric in ("traffic", "sales") else "absolute"


def _did(
    daily: pd.DataFrame,
    metric: Metric,
    treated: list[str],
    control: list[str],
    before: Period,
    after: Period,
    *,
    seed: int,
) -> EffectOut:
    return effect_out(
        diff_in_diff(
            daily,
            metric=metric,
            treated=treated,
            control=control,
            before=before,
            after=after,
            scale=_scale(metric),
            n_boot=N_BOOT,
            seed=seed,
        )
    )


def _span(p: Period) -> tuple[date, date]:
    return p.start.date(), (p.end - pd.Timedelta(days=1)).date()


async def promotion(
    conn: AsyncConnection[Any],
    *,
    store_id: str,
    tz: str,
    treated: list[str],
    start: date,
    end: date,
    before_days: int,
    after_days: int,
    staleness_s: float,
    control: list[str] | None = None,
) -> ExperimentOut:
    """A promotion on ``treated`` counters over ``[start, end]`` (days included) against the
    other counters: the ``before_days`` before, the promotion, the ``after_days`` after."""
    first, last = start - timedelta(days=before_days), end + timedelta(days=after_days)
    await ensure_fresh(conn, store_id, first, last, staleness_s=staleness_s)
    daily = await counter_daily(conn, store_id, first, last, tz)
    await _check_counters(conn, store_id, daily, treated, first, last)
    known = set(daily["unit"])
    unknown = sorted(set(control or []) - known)
    if unknown:
        raise ValueError(f"this store has no counter {', '.join(unknown)} to compare with")
    before = Period.of(first, start)
    during = Period.of(start, end + timedelta(days=1))
    after = Period.of(end + timedelta(days=1), last + timedelta(days=1))
    control, warnings = await choose_control(
        conn,
        daily,
        store_id=store_id,
        tz=tz,
        treated=treated,
        control=control,
        before=before,
        after=during,
    )
    effects, later = [], []
    for i, metric in enumerate(METRICS):
        effects.append(enough_days(_did(daily, metric, treated, control, before, during, seed=i)))
        if after_days > 0:
            try:
                later.append(
                    enough_days(_did(daily, metric, treated, control, before, after, seed=10 + i))
                )
            except ValueError:  # not enough days after the promotion yet
                pass
    return ExperimentOut(
        kind="promotion",
        treated=treated,
        control=control,
        before=_span(before),
        during=_span(during),
        after=_span(after) if after_days > 0 else None,
        effects=effects,
        after_effects=later,
        daily=_points(daily, sorted(known)),
        warnings=warnings,
    )


async def layout_change(
    conn: AsyncConnection[Any],
    *,
    store_id: str,
    tz: str,
    day: date,
    days: int,
    counters: list[str] | None,
    staleness_s: float,
    control: list[str] | None = None,
) -> ExperimentOut:
    """A layout change on ``day``: the ``days`` before against the ``days`` from it — for moved
    ``counters`` against the others (difference-in-differences), else for the whole store
    against itself on the same weekdays."""
    first, last = day - timedelta(days=days), day + timedelta(days=days - 1)
    await ensure_fresh(conn, store_id, first, last, staleness_s=staleness_s)
    before, after = Period.of(first, day), Period.of(day, last + timedelta(days=1))
    effects: list[EffectOut] = []
    warnings: list[str] = []
    if counters:
        daily = await counter_daily(conn, store_id, first, last, tz)
        await _check_counters(conn, store_id, daily, counters, first, last)
        treated = sorted(set(counters))
        control, warnings = await choose_control(
            conn,
            daily,
            store_id=store_id,
            tz=tz,
            treated=treated,
            control=control,
            before=before,
            after=after,
        )
        # each moved counter on its own: two counters trading places move in opposite ways
        for unit in treated:
            for i, metric in enumerate(METRICS):
                one = enough_days(_did(daily, metric, [unit], control, before, after, seed=i))
                effects.append(one.model_copy(update={"unit": unit}) if len(treated) > 1 else one)
    else:
        daily = await store_daily(conn, store_id, first, last, tz)
        control, treated = [], ["store"]
        for i, metric in enumerate(METRICS):
            e = same_weekday_change(
                daily,
                metric=metric,
                unit="store",
                before=before,
                after=after,
                scale=_scale(metric),
                n_boot=N_BOOT,
                seed=i,
            )
            effects.append(enough_days(effect_out(e)))
    return ExperimentOut(
        kind="layout_change",
        treated=treated,
        control=control,
        before=(first, day - timedelta(days=1)),
        during=(day, last),
        after=None,
        effects=effects,
        after_effects=[],
        daily=_points(daily, sorted(set(daily["unit"]))),
        warnings=warnings,
    )


async def layout_changes(
    conn: AsyncConnection[Any], store_id: str, tz: str
) -> list[LayoutChangeDate]:
    """Days on which an antenna's zone mapping changed (its ``valid_from``)."""
    got = await rows(
        conn,
        "SELECT (valid_from AT TIME ZONE %(tz)s)::date, "
        "array_agg(DISTINCT reader_id || ':' || port || '->' || zone_code) FROM antenna_zone "
        "WHERE store_id = %(s)s AND valid_from IS NOT NULL GROUP BY 1 ORDER BY 1",
        Bound(Selection(store_id, date.today(), date.today(), tz), tz=tz),
    )
    return [LayoutChangeDate(day=d, antennas=sorted(a)) for d, a in got]
