"""Shopper paths: the most common zone sequences and the first-order transition matrix.

Definitions (docs/metrics.md): a trip's path is its ordered zone sequence (consecutive repeats of a
zone collapsed); P(j | i) = n_ij / sum_k n_ik over consecutive zones in trips (Farley & Ring);
a Sankey link's width is the flow n_ij.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from psycopg import AsyncConnection

from server.queries.facts import SEGMENT_SQL, Bound, Selection, rows
from storeflow.api.paths import Efficiency, PathCount, Paths, Transition

_WHERE = "store_id = %(s)s AND day BETWEEN %(d0)s AND %(d1)s AND " + SEGMENT_SQL


def _efficiency(got: list[tuple[Any, ...]]) -> Efficiency:
    n = sum(int(r[0]) for r in got)

    def mean(i: int) -> float | None:
        return sum(float(r[i]) for r in got) / n if n else None

    return Efficiency(
        trips=n,
        mean_efficiency=mean(1),
        walked_m=mean(2),
        shortest_m=mean(3),
        order_deviation_m=mean(4),
        travel_deviation_m=mean(5),
    )


async def paths(conn: AsyncConnection[Any], sel: Selection, *, top: int = 10) -> Paths:
    """Top paths, P(j | i), trip length and duration, and path efficiency from the facts."""
    (total, zones, dur), *_ = await rows(
        conn,
        "SELECT coalesce(sum(entries), 0)::int, coalesce(sum(zones), 0), "
        f"coalesce(sum(duration_s), 0) FROM fact_hour WHERE {_WHERE}",
        sel,
    )
    top_rows = await rows(
        conn,
        f"SELECT path, sum(trips)::int AS n FROM fact_path WHERE {_WHERE} "
        "GROUP BY path ORDER BY n DESC, path LIMIT %(top)s",
        Bound(sel, top=top),
    )
    moves = await rows(
        conn,
        f"SELECT source, target, sum(n)::int FROM fact_transition WHERE {_WHERE} "
        "GROUP BY source, target ORDER BY source, target",
        sel,
    )
    out_of: Counter[str] = Counter()
    for a, _, n in moves:
        out_of[a] += n
    eff = await rows(
        conn,
        "SELECT buying, sum(trips), sum(efficiency), sum(walked), sum(shortest), "
        f"sum(order_deviation), sum(travel_deviation) FROM fact_efficiency WHERE {_WHERE} "
        "GROUP BY buying",
        sel,
    )
    return Paths(
        trips=total,
        top_paths=[
            PathCount(path=list(p), trips=n, share=n / total if total else 0.0) for p, n in top_rows
        ],
        transitions=[
            Transition(source=a, target=b, count=n, probability=n / out_of[a]) for a, b, n in moves
        ],
        mean_zones=float(zones) / total if total else None,
        mean_duration_s=float(dur) / total if total else None,
        efficiency_buyers=_efficiency([r[1:] for r in eff if r[0]]),
        efficiency_all=_efficiency([r[1:] for r in eff]),
    )
