"""Figures formatted for people: dates, percentages, money, durations, changes.

Tables on the dashboard show these strings instead of raw API fields; CSV downloads keep the
raw values. The currency symbol comes from the ``STOREFLOW_CURRENCY`` setting (default ``€``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

DEFAULT_CURRENCY = "€"
MISSING = "–"


def currency(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("STOREFLOW_CURRENCY", "").strip() or DEFAULT_CURRENCY


def _missing(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def money(v: Any, *, symbol: str | None = None, decimals: int = 0) -> str:
    if _missing(v):
        return MISSING
    return f"{symbol or currency()} {float(v):,.{decimals}f}"


def pct(v: Any, *, decimals: int = 1) -> str:
    """A share (0.603) as a percentage ("60.3 %")."""
    if _missing(v):
        return MISSING
    return f"{float(v) * 100:.{decimals}f} %"


def number(v: Any, *, decimals: int = 0) -> str:
    if _missing(v):
        return MISSING
    return f"{float(v):,.{decimals}f}"


def day(v: Any) -> str:
    """A date or a timestamp as a calendar day ("22 Nov 2026")."""
    if _missing(v):
        return MISSING
    t = pd.Timestamp(v) if not isinstance(v, date | datetime) else v
    return f"{t:%d %b %Y}"


def moment(v: Any) -> str:
    """A timestamp to the minute ("22 Nov 2026 14:05"), without the time zone offset."""
    if _missing(v):
        return MISSING
    return f"{pd.Timestamp(v):%d %b %Y %H:%M}"


def minutes(seconds: Any) -> str:
    """Seconds as minutes, the unit the charts use ("3.2 min")."""
    if _missing(seconds):
        return MISSING
    return f"{float(seconds) / 60:.1f} min"


def relative_change(now: float | None, before: float | None) -> str | None:
    """A relative change ("+8 % relative"); None when it cannot be computed."""
    if now is None or before is None or before == 0 or math.isnan(before):
        return None
    return f"{(now - before) / before:+.0%} relative"


def point_change(now: float | None, before: float | None) -> str | None:
    """A change of a share in percentage points ("+1.2 points")."""
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} points"
