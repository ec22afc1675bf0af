"""Experiment effects in words: what kind of change an estimate is (relative, percentage
points, seconds) and its 95 % interval. Shared by the Experiments page, the overview's notes and
the report."""

from __future__ import annotations

import math
from typing import Any

from dashboard import fmt

LABELS = {
    "traffic": "Traffic (visitor trips)",
    "dwell": "Median dwell (s)",
    "conversion": "Conversion",
    "sales": "Sales",
}


def interval(e: dict[str, Any]) -> str:
    lo, hi = e["ci_low"], e["ci_high"]
    if e["metric"] in ("traffic", "sales"):  # compared on a log scale: a relative change
        return f"{math.expm1(lo):+.0%} … {math.expm1(hi):+.0%}"
    if e["metric"] == "conversion":
        return f"{lo * 100:+.1f} … {hi * 100:+.1f} points"
    return f"{lo:+.0f} … {hi:+.0f} s"


def value(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    if metric == "conversion":
        return f"{v:.1%}"
    if metric == "dwell":
        return f"{v:.0f} s"
    return fmt.money(v) if metric == "sales" else f"{v:,.1f}"


def change(e: dict[str, Any]) -> str:
    """The estimate in words that say what kind of change it is (relative, points, seconds)."""
    rel = f"{e['relative']:+.0%} relative" if e["relative"] is not None else None
    if e["metric"] == "conversion":
        points = f"{e['estimate'] * 100:+.1f} points"
        return f"{points} ({rel})" if rel else points
    if e["metric"] == "dwell":
        seconds = f"{e['estimate']:+.0f} s"
        return f"{seconds} ({rel})" if rel else seconds
    return rel or "–"
