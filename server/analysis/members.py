"""Members: the five classes, RFM scores and segments, the purchase rhythm and BG/NBD P(alive).

:func:`member_status` is what server/member_status.py stores per member; the Members page
(server/queries/members_view.py) reads it: class counts, the Pareto curve and the lapse rule
are queries over those rows. The action text of a lapse alert is :func:`suggest_action`.

Inputs: ``members`` (``member_id, joined_at, referrer_id, tier, birth_date, gender``) and
``purchases`` (``member_id, at, amount`` and optionally ``purchase_id``; several rows with one
``purchase_id``, e.g. lines at several counters, count as one purchase). Purchases without a
member are ignored. ``as_of`` is the analysis date; only purchases at or before it count.

The five classes (docs/metrics.md#the-five-member-classes), with the rules used here:

* **potential**: no purchase yet.
* **occasional**: has bought, but fewer than ``LOYAL_MIN_PURCHASES`` purchases in the last
  ``WINDOW_DAYS`` (one or two; a buyer with none in the window also lands here).
* **loyal**: at least ``LOYAL_MIN_PURCHASES`` (3) purchases in the window, spread over at least
  ``LOYAL_MIN_MONTHS`` (2) calendar months.
* **core**: the top ``CORE_SHARE`` (20 %) of the buyers in the window by window sales — the head
  of the Pareto curve (ceil(20 % x buyers) members, ties broken by order of appearance).
* **referrer**: referred at least one member who has bought.

A member can be core and referrer (or loyal and referrer) at once. Each member gets one primary
class by priority core > loyal > occasional > potential, and referring is shown as a separate
``is_referrer`` flag (a badge next to the class); class counts list referrers in their own
column, overlapping the primary classes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from server.analysis import as_utc

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

WINDOW_DAYS = 365
LOYAL_MIN_PURCHASES = 3
LOYAL_MIN_MONTHS = 2
CORE_SHARE = 0.20
CLASS_PRIORITY = ("core", "loyal", "occasional", "potential")


def _ts(value: datetime | pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def member_purchases(purchases: pd.DataFrame, as_of: datetime | pd.Timestamp) -> pd.DataFrame:
    """One row per member purchase up to ``as_of``: ``member_id, purchase, at, amount``.

    Rows sharing a ``purchase_id`` are one purchase (first time, summed amount).
    """
    p = purchases[purchases["member_id"].notna()]
    at = as_utc(p["at"])
    keep = (at <= _ts(as_of)).to_numpy()
    key = p["purchase_id"] if "purchase_id" in p.columns else pd.Series(np.arange(len(p)))
    frame = pd.DataFrame(
        {
            "member_id": p["member_id"].to_numpy()[keep],
            "purchase": key.to_numpy()[keep],
            "at": at[keep].reset_index(drop=True),
            "amount": p["amount"].astype(np.float64).to_numpy()[keep],
        }
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True)  # also when there is no purchase
    return (
        frame.groupby(["member_id", "purchase"], sort=False)
        .agg(at=("at", "min"), amount=("amount", "sum"))
        .reset_index()
    )


# --------------------------------------------------------------------------- the five classes


def classify_members(
    members: pd.DataFrame,
    purchases: pd.DataFrame,
    as_of: datetime | pd.Timestamp,
    *,
    window_days: int = WINDOW_DAYS,
    loyal_min_purchases: int = LOYAL_MIN_PURCHASES,
    loyal_min_months: int = LOYAL_MIN_MONTHS,
    core_share: float = CORE_SHARE,
) -> pd.DataFrame:
    """The five classes (module docstring) for every member.

    Columns: ``member_id, purchases_ever, purchases_window, months_window, sales_window,
    primary_class, is_core, is_referrer, referred_buyers``.
    """
    end = _ts(as_of)
    mp = member_purchases(purchases, end)
    win = mp[mp["at"] > end - pd.Timedelta(days=window_days)]
    months = win["at"].dt.tz_convert(None).dt.to_period("M")
    per_win = (
        win.assign(month=months)
        .groupby("member_id")
        .agg(
            purchases_window=("purchase", "size"),
            months_window=("month", "nunique"),
            sales_window=("amount", "sum"),
        )
    )
    ever = mp.groupby("member_id").size()
    out = pd.DataFrame({"member_id": members["member_id"].to_numpy()})
    out["purchases_ever"] = out["member_id"].map(ever).fillna(0).astype(np.int64)
    for col in ("purchases_window", "months_window"):
        out[col] = out["member_id"].map(per_win[col]).fillna(0).astype(np.int64)
    out["sales_window"] = out["member_id"].map(per_win["sales_window"]).fillna(0.0)

    buyers = out["sales_window"] > 0
    n_core = math.ceil(core_share * int(buyers.sum()))
    rank = out["sales_window"].where(buyers).rank(ascending=False, method="first")
    out["is_core"] = (rank <= n_core).fillna(False).astype(bool)
    loyal = (out["purchases_window"] >= loyal_min_purchases) & (
        out["months_window"] >= loyal_min_months
    )
    out["primary_class"] = np.select(
        [out["is_core"], loyal, out["purchases_ever"] > 0],
        ["core", "loyal", "occasional"],
        default="potential",
    )

    bought = set(mp["member_id"])
    ref = members.loc[members["member_id"].isin(bought) & members["referrer_id"].notna()]
    referred = ref.groupby("referrer_id").size()
    out["referred_buyers"] = out["member_id"].map(referred).fillna(0).astype(np.int64)
    out["is_referrer"] = out["referred_buyers"] > 0
    return out


# --------------------------------------------------------------------------- RFM

# The common R x F grid (R and F scores 1-5): first matching row wins.
RF_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    # (R scores, F scores, segment)
    ("5", "45", "champions"),
    ("34", "45", "loyal"),
    ("45", "23", "potential loyalists"),
    ("5", "1", "new"),
    ("4", "1", "promising"),
    ("3", "3", "need attention"),
    ("3", "12", "about to sleep"),
    ("12", "34", "at risk"),
    ("12", "5", "can't lose"),
    ("1", "1", "lost"),
    ("12", "12", "hibernating"),
)


def rf_segment(r: int, f: int) -> str:
    """Segment of an (R, F) score pair on the common grid (``RF_SEGMENTS``)."""
    for rs, fs, name in RF_SEGMENTS:
        if str(r) in rs and str(f) in fs:
            return name
    raise ValueError(f"scores out of range: R={r} F={f}")


SEGMENT_GRID: dict[tuple[int, int], str] = {
    (r, f): rf_segment(r, f) for r in range(1, 6) for f in range(1, 6)
}


def quintile_score(values: pd.Series, *, reverse: bool = False) -> pd.Series:
    """Score 1-5 by quintile of rank: ties ranked ``method="first"``, then ceil(5 x rank / n).

    ``reverse=True`` gives the highest score to the smallest value (recency: recent = 5).
    """
    n = len(values)
    if n == 0:
        return pd.Series([], dtype=np.int64, index=values.index)
    ranks = (-values if reverse else values).rank(method="first").to_numpy(dtype=np.float64)
    scores = np.clip(np.ceil(ranks * 5.0 / n), 1, 5).astype(np.int64)
    return pd.Series(scores, index=values.index)


def rfm(purchases: pd.DataFrame, as_of: datetime | pd.Timestamp) -> pd.DataFrame:
    """RFM per buying member: scores 1-5 by quintile and the R x F segment.

    recency = days from the last purchase to ``as_of`` (scored reversed: recent = 5);
    frequency = purchases; monetary = total amount. Columns: ``member_id, recency_days,
    frequency, monetary, r, f, m, rfm, segment``.
    """
    end = _ts(as_of)
    mp = member_purchases(purchases, end)
    per = mp.groupby("member_id").agg(
        last=("at", "max"), frequency=("purchase", "size"), monetary=("amount", "sum")
    )
    out = pd.DataFrame(index=per.index)
    out["recency_days"] = (end - per["last"]).dt.total_seconds() / 86400.0
    out["frequency"] = per["frequency"].astype(np.int64)
    out["monetary"] = per["monetary"]
    out["r"] = quintile_score(out["recency_days"], reverse=True)
    out["f"] = quintile_score(out["frequency"])
    out["m"] = quintile_score(out["monetary"])
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    out["segment"] = [
        SEGMENT_GRID[(int(r), int(f))] for r, f in zip(out["r"], out["f"], strict=True)
    ]
    return out.reset_index()


# --------------------------------------------------------------------------- BG/NBD

CDNOW = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b (Fader, Hardie & Lee 2005; time in weeks)


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


CDNOW_PARAMS = BgNbdParams(*CDNOW)
# Below this drop-out probability per purchase (a / (a + b)) the fit says nobody leaves: BG/NBD
# then gives P(alive) = 1 to everyone, which says nothing, so P(alive) is left unknown.
MIN_DROPOUT = 1e-3


def dropout(params: BgNbdParams) -> float:
    """The mean probability of dropping out after a purchase, a / (a + b)."""
    return params.a / (params.a + params.b)


def informative_p_alive(
    x: npt.ArrayLike, t_x: npt.ArrayLike, t_cal: npt.ArrayLike, params: BgNbdParams
) -> FloatArray:
    """:func:`p_alive` where it means something, NaN elsewhere: for one-time buyers (x = 0,
    always 1 in BG/NBD) and for everyone when the fit finds no drop-out (:data:`MIN_DROPOUT`)."""
    xa = np.asarray(x, dtype=np.float64)
    if dropout(params) < MIN_DROPOUT:
        logger.info("BG/NBD: no drop-out measurable (%.2g per purchase)", dropout(params))
        return np.full(xa.shape, np.nan)
    out: FloatArray = np.where(xa > 0, p_alive(xa, t_x, t_cal, params), np.nan)
    return out


def p_alive(
    x: npt.ArrayLike, t_x: npt.ArrayLike, t_cal: npt.ArrayLike, params: BgNbdParams = CDNOW_PARAMS
) -> FloatArray:
    """BG/NBD probability that a customer is still active (Fader, Hardie & Lee 2005, eq. 12).

    P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))

    x = repeat purchases (purchases after the first), t_x = time of the last purchase and T =
    time of ``as_of``, both measured from the first purchase, in the unit the parameters were
    fitted in (weeks for CDNOW). Plain BG/NBD gives P(alive) = 1 to anyone with x = 0 (a
    one-time buyer can only drop out right after a purchase, and has made none since the first);
    callers must flag those customers rather than trust the 1.
    """
    xa = np.asarray(x, dtype=np.float64)
    tx = np.asarray(t_x, dtype=np.float64)
    tt = np.asarray(t_cal, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (a / (b + xa - 1.0)) * ((alpha + tt) / (alpha + tx)) ** (r + xa)
    out: FloatArray = np.where(xa > 0, 1.0 / (1.0 + odds), 1.0)
    return out


def _log_rising(base: float, counts: npt.NDArray[np.int64]) -> FloatArray:
    """ln Gamma(base + x) - ln Gamma(base) = sum_{i<x} ln(base + i), for integer x >= 0."""
    top = int(counts.max()) if counts.size else 0
    table = np.concatenate([[0.0], np.cumsum(np.log(base + np.arange(top, dtype=np.float64)))])
    out: FloatArray = table[counts]
    return out


def bgnbd_log_likelihood(
    params: BgNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, t_cal: npt.ArrayLike
) -> float:
    """Total BG/NBD log-likelihood of (x, t_x, T) per customer (Fader, Hardie & Lee 2005, eq. 6)."""
    xi = np.asarray(x, dtype=np.int64)
    tx = np.asarray(t_x, dtype=np.float64)
    tt = np.asarray(t_cal, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = _log_rising(r, xi) + r * math.log(alpha)
    # ln Gamma(a+b) + ln Gamma(b+x) - ln Gamma(b) - ln Gamma(a+b+x)
    a2 = _log_rising(b, xi) - _log_rising(a + b, xi)
    a3 = -(r + xi) * np.log(alpha + tt)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            xi > 0,
            math.log(a) - np.log(np.maximum(b + xi - 1.0, 1e-300)) - (r + xi) * np.log(alpha + tx),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def nelder_mead(
    f: Callable[[FloatArray], float],
    x0: FloatArray,
    *,
    step: float = 0.5,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> FloatArray:
    """Minimise ``f`` by the Nelder-Mead simplex method (standard coefficients 1, 2, 0.5, 0.5)."""
    n = x0.size
    simplex = np.vstack([x0] + [x0 + step * np.eye(n)[i] for i in range(n)])
    values = np.array([f(p) for p in simplex])
    for _ in range(max_iter):
        order = np.argsort(values)
        simplex, values = simplex[order], values[order]
        if abs(values[-1] - values[0]) <= tol * (abs(values[0]) + tol):
            break
        centroid = simplex[:-1].mean(axis=0)
        worst = simplex[-1]
        xr = centroid + (centroid - worst)
        fr = f(xr)
        if fr < values[0]:
            xe = centroid + 2.0 * (centroid - worst)
            fe = f(xe)
            simplex[-1], values[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = xr, fr
        else:
            xc = centroid + 0.5 * ((xr if fr < values[-1] else worst) - centroid)
            fc = f(xc)
            if fc < min(fr, values[-1]):
                simplex[-1], values[-1] = xc, fc
            else:
                simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
                values[1:] = [f(p) for p in simplex[1:]]
    best: FloatArray = simplex[int(np.argmin(values))]
    return best


def fit_bgnbd(
    x: npt.ArrayLike, t_x: npt.ArrayLike, t_cal: npt.ArrayLike, *, min_customers: int = 50
) -> BgNbdParams:
    """Maximum-likelihood r, alpha, a, b (Nelder-Mead on the log parameters; numpy only).

    With fewer than ``min_customers`` customers, or when the fit fails, the CDNOW estimates
    are returned instead (and a warning is logged).
    """
    xi = np.asarray(x, dtype=np.int64)
    tx = np.asarray(t_x, dtype=np.float64)
    tt = np.asarray(t_cal, dtype=np.float64)
    if xi.size < min_customers:
        logger.warning("BG/NBD: %s customers, using the CDNOW parameters", xi.size)
        return CDNOW_PARAMS

    def nll(theta: FloatArray) -> float:
        p = BgNbdParams(*(float(v) for v in np.exp(np.clip(theta, -12.0, 12.0))))
        value = -bgnbd_log_likelihood(p, xi, tx, tt)
        return value if math.isfinite(value) else 1e300

    best = nelder_mead(nll, np.log(np.array(CDNOW)))
    best = nelder_mead(nll, best, step=0.1)  # restart: Nelder-Mead can stall
    fitted = BgNbdParams(*(float(v) for v in np.exp(best)))
    if not math.isfinite(-nll(best)):
        logger.warning("BG/NBD fit failed, using the CDNOW parameters")
        return CDNOW_PARAMS
    return fitted


# --------------------------------------------------------------------------- lapse alerts

VIP_TIERS = frozenset({"Gold", "Platinum", "Diamond", "VIP", "Black"})


def suggest_action(
    *, primary_class: str, tier: str | None, ratio: float, p_alive: float | None
) -> str:
    """A plain next step for a lapse alert, naming who the member is and why.

    VIP tier (named) or core member (top 20 % by sales, whatever the tier): a personal call;
    loyal: a personal offer; others: a reminder; a known, low P(alive) (< 0.3) adds "win-back".
    """
    if tier in VIP_TIERS:
        verb, who = "call", f"{tier} member"
    elif primary_class == "core":
        verb, who = "call", "core member (top 20 % by sales)"
    elif primary_class == "loyal":
        verb, who = "send a personal offer", "loyal member"
    else:
        verb, who = "send a reminder", f"{primary_class} member"
    low = p_alive is not None and not math.isnan(p_alive) and p_alive < 0.3
    tail = f", win-back (P(alive) {p_alive:.0%})" if low else ""
    return f"{verb}: {who}, {ratio:.1f}x usual interval{tail}"


def purchase_rhythm(mp: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Per member from :func:`member_purchases` rows: purchase days (a day counts once).

    Columns (index ``member_id``): ``size`` (purchase days), ``min``/``max`` (first and last),
    ``median_interval_days``, and the BG/NBD inputs in weeks: ``x`` (repeat days),
    ``t_x_weeks``, ``T_weeks``.
    """
    days = mp.assign(day=mp["at"].dt.floor("D"))[["member_id", "day"]].drop_duplicates()
    days = days.sort_values(["member_id", "day"])
    gap = days.groupby("member_id")["day"].diff().dt.total_seconds() / 86400.0
    per = days.groupby("member_id")["day"].agg(["size", "min", "max"])
    per["median_interval_days"] = gap.groupby(days["member_id"]).median()
    week = 7 * 86400.0
    per["x"] = (per["size"] - 1).astype(np.int64)
    per["t_x_weeks"] = (per["max"] - per["min"]).dt.total_seconds() / week
    per["T_weeks"] = (end - per["min"]).dt.total_seconds() / week
    return per


# --------------------------------------------------------------------------- one row per member


def member_status(
    members: pd.DataFrame,
    purchases: pd.DataFrame,
    as_of: datetime | pd.Timestamp,
    *,
    fit: bool = True,
) -> tuple[pd.DataFrame, BgNbdParams]:
    """Everything the Members page shows, per member: the class, RFM and the purchase rhythm.

    Columns: those of :func:`classify_members`, plus ``last_purchase_at, purchase_days,
    days_since, median_interval_days, p_alive`` (BG/NBD, fitted on this store's buyers when
    ``fit``; unknown (NaN) for one-time buyers and when the fit finds no drop-out, see
    :func:`informative_p_alive`) and ``recency_days, frequency,
    monetary, r, f, m, rfm_segment`` (None for members who never bought). The lapse rule is
    applied to these figures by a query (server/queries/members_view.py, :func:`lapse`).
    """
    end = _ts(as_of)
    out = classify_members(members, purchases, end).set_index("member_id")
    mp = member_purchases(purchases, end)
    per = purchase_rhythm(mp, end)
    x, t_x, t_cal = per["x"], per["t_x_weeks"], per["T_weeks"]
    params = fit_bgnbd(x, t_x, t_cal) if fit else CDNOW_PARAMS
    per["p_alive"] = informative_p_alive(x, t_x, t_cal, params)
    last = mp.groupby("member_id")["at"].max()
    out["last_purchase_at"] = last.reindex(out.index)
    out["purchase_days"] = per["size"].reindex(out.index).fillna(0).astype(np.int64)
    out["days_since"] = (end - out["last_purchase_at"]).dt.total_seconds() / 86400.0
    out["median_interval_days"] = per["median_interval_days"].reindex(out.index)
    out["p_alive"] = per["p_alive"].reindex(out.index)
    scores = rfm(purchases, end).set_index("member_id")
    for col in ("recency_days", "frequency", "monetary", "r", "f", "m"):
        out[col] = scores[col].reindex(out.index)
    out["rfm_segment"] = scores["segment"].reindex(out.index)
    return out.reset_index(), params
