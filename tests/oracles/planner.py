"""Planner figures re-computed with pandas from trips, zone visits and sales (test oracle).

Definitions (docs/metrics.md): a trip's path is its zone sequence; P(j | i) = n_ij / sum_k n_ik over
consecutive zones (Farley & Ring); a counter's visitor trips dwelt at least ``min_dwell_s`` in
its zone in all (summed over the trip's visits), conversion = visitor trips that bought at the
counter / visitor trips; occupancy = trip seconds inside an hour / 3600; footfall and the
weekday x hour heatmap count trips by their start. Trips count when they start in
``[start, end)``; sales when paid in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import psycopg


@dataclass(frozen=True, slots=True)
class Frames:
    trips: pd.DataFrame  # trip_id, epc, start_at, end_at, zones, bought
    visits: pd.DataFrame  # trip_id, zone, dwell_s (visits inside a trip of the window)
    lines: pd.DataFrame  # purchase_id, trip_id, at, counter, amount
    counters: pd.DataFrame  # code, zone


def load(db_url: str, store_id: str, start: datetime, end: datetime) -> Frames:
    """The window's trips (by start), their zone visits and its sales (by payment time)."""
    with psycopg.connect(db_url) as conn:
        trips = pd.DataFrame(
            conn.execute(
                "SELECT t.trip_id::text, t.epc, t.start_at, t.end_at, t.zones, "
                "EXISTS (SELECT 1 FROM purchase p WHERE p.trip_id = t.trip_id) "
                "FROM trip t WHERE t.store_id = %s AND t.start_at >= %s AND t.start_at < %s",
                (store_id, start, end),
            ).fetchall(),
            columns=["trip_id", "epc", "start_at", "end_at", "zones", "bought"],
        )
        visits = pd.DataFrame(
            conn.execute(
                "SELECT t.trip_id::text, v.zone, v.dwell_s FROM trip t JOIN zone_visit v "
                "ON v.store_id = t.store_id AND v.epc = t.epc "
                "AND v.enter_at >= t.start_at AND v.enter_at <= t.end_at "
                "WHERE t.store_id = %s AND t.start_at >= %s AND t.start_at < %s",
                (store_id, start, end),
            ).fetchall(),
            columns=["trip_id", "zone", "dwell_s"],
        )
        lines = pd.DataFrame(
            conn.execute(
                "SELECT p.id, p.trip_id::text, p.at, pl.counter, pl.amount::float8 "
                "FROM purchase p JOIN purchase_line pl ON pl.purchase_id = p.id "
                "WHERE p.store_id = %s AND p.at >= %s AND p.at < %s",
                (store_id, start, end),
            ).fetchall(),
            columns=["purchase_id", "trip_id", "at", "counter", "amount"],
        )
        counters = pd.DataFrame(
            conn.execute(
                "SELECT code, zone_code FROM counter WHERE store_id = %s", (store_id,)
            ).fetchall(),
            columns=["code", "zone"],
        )
    return Frames(trips, visits, lines, counters)


def transitions(paths: Iterable[Sequence[str]]) -> dict[tuple[str, str], tuple[int, float]]:
    """(from, to) -> (moves, P(to | from)) over consecutive zones of the paths."""
    pairs: Counter[tuple[str, str]] = Counter()
    for p in paths:
        pairs.update(zip(p, p[1:], strict=False))
    out_of: Counter[str] = Counter()
    for (a, _), n in pairs.items():
        out_of[a] += n
    return {(a, b): (n, n / out_of[a]) for (a, b), n in pairs.items()}


def path_counts(paths: Iterable[Sequence[str]]) -> Counter[tuple[str, ...]]:
    """Trips per whole path."""
    return Counter(tuple(p) for p in paths)


def counter_figures(f: Frames, *, min_dwell_s: float) -> pd.DataFrame:
    """Per counter code: ``visitors, buyers, conversion, sales`` (index ``code``)."""
    per_zone = f.visits.groupby(["trip_id", "zone"], as_index=False)["dwell_s"].sum()
    vis = per_zone[per_zone["dwell_s"] >= min_dwell_s].merge(f.counters, on="zone")
    paid = f.lines.loc[f.lines["trip_id"].notna(), ["trip_id", "counter"]].drop_duplicates()
    paid = paid.rename(columns={"counter": "code"}).assign(bought=1)
    vis = vis.merge(paid, on=["trip_id", "code"], how="left").fillna({"bought": 0})
    out = vis.groupby("code").agg(visitors=("trip_id", "nunique"), buyers=("bought", "sum"))
    out = out.reindex(f.counters["code"], fill_value=0)
    out["conversion"] = (out["buyers"] / out["visitors"].where(out["visitors"] > 0)).fillna(0.0)
    out["sales"] = f.lines.groupby("counter")["amount"].sum().reindex(out.index, fill_value=0.0)
    return out


def occupancy(trips: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    """Mean open trips per hour in ``[start, end)``: trip seconds inside the hour / 3600."""
    hours = pd.date_range(start, end, freq="1h", inclusive="left")
    values = []
    for h in hours:
        lo, hi = h, h + timedelta(hours=1)
        inside = trips["end_at"].clip(upper=hi) - trips["start_at"].clip(lower=lo)
        values.append(float(inside.dt.total_seconds().clip(lower=0).sum()) / 3600.0)
    return pd.Series(values, index=hours)


def heatmap(trips: pd.DataFrame, start: datetime, end: datetime, tz: str) -> pd.DataFrame:
    """Per (weekday, hour) of the trip's local start: ``entries_per_day, conversion``."""
    local = trips["start_at"].dt.tz_convert(tz)
    t = pd.DataFrame(
        {"weekday": local.dt.day_of_week, "hour": local.dt.hour, "bought": trips["bought"]}
    )
    cell = t.groupby(["weekday", "hour"]).agg(entries=("bought", "size"), buyers=("bought", "sum"))
    days = pd.date_range(start, end, freq="1D", inclusive="left", tz=tz).day_of_week
    per_weekday = Counter(int(d) for d in days)
    wd = cell.index.get_level_values("weekday")
    cell["entries_per_day"] = cell["entries"] / [per_weekday[int(w)] for w in wd]
    cell["conversion"] = cell["buyers"] / cell["entries"]
    return cell
