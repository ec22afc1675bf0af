"""Planner statistics as pure functions over pandas frames and arrays: no database, no HTTP.

Only what the served figures use: ``paths`` (the route graph and path efficiency of the daily
facts), ``counters`` (the quadrant and recommendation of a counter), ``members`` (the five
classes, RFM and BG/NBD P(alive) stored per member) and ``experiments`` (difference-in-
differences and the same-weekday comparison with bootstrap intervals). The figures themselves
are SQL over the daily facts (server/rollup.py, server/queries/). Every function follows the
metric definitions (docs/metrics.md); each docstring states the one it uses.

Timestamps may be naive (taken as UTC) or timezone-aware; :func:`as_utc` normalises them.
"""

from __future__ import annotations

import pandas as pd


def as_utc(values: pd.Series) -> pd.Series:
    """Timestamps as ``datetime64[ns, UTC]`` (naive values are taken as UTC)."""
    out = pd.to_datetime(values, utc=True)
    return out.astype("datetime64[ns, UTC]")
