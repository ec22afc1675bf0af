"""Shopper paths: the most common zone sequences and the first-order transition matrix.

Definitions (METRICS.md): a trip's path is its ordered zone sequence (consecutive repeats of a
zone collapsed); P(j | i) = n_ij / sum_k n_ik over consecutive zones in trips (Farley & Ring);
a Sankey link's width is the flow n_ij.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel

from server.queries.analytics import Period


class PathCount(BaseModel):
    path: list[str]
    trips: int
    share: float


class Transition(BaseModel):
    source: str
    target: str
    count: int
    probability: float


class Paths(BaseModel):
    trips: int
    top_paths: list[PathCount]
    transitions: list[Transition]


def summarise(paths: list[list[str]], *, top: int = 10) -> Paths:
    """Top paths and the transition matrix from trips' zone sequences (pure)."""
    counts = Counter(tuple(p) for p in paths)
    pairs: Counter[tuple[str, str]] = Counter()
    for p in paths:
        pairs.update(zip(p, p[1:], strict=False))
    out_of: Counter[str] = Counter()
    for (a, _), n in pairs.items():
        out_of[a] += n
    total = len(paths)
    return Paths(
        trips=total,
        top_paths=[
            PathCount(path=list(p), trips=n, share=n / total) for p, n in counts.most_common(top)
        ],
        transitions=[
            Transition(source=a, target=b, count=n, probability=n / out_of[a])
            for (a, b), n in sorted(pairs.items())
        ],
    )


async def paths(conn: AsyncConnection[Any], store_id: str, p: Period, *, top: int = 10) -> Paths:
    cur = await conn.execute(
        "SELECT zones FROM trip WHERE store_id = %s AND start_at >= %s AND start_at < %s",
        (store_id, p.start, p.end),
    )
    return summarise([list(r[0]) for r in await cur.fetchall()], top=top)
