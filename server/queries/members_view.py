"""The Members page: classes, RFM segments, Pareto, tier shares of traffic and sales, lapse alerts.

Member figures come from the run of :mod:`server.member_status` as of the end of the selection
(classes use the 365 days before it); traffic and sales shares per tier come from the daily
facts of the selection. The five classes and RFM: server/analysis/members.py. The lapse rule
(:func:`lapse`): days since the last purchase > ``LAPSE_FACTOR`` x the member's median interval
between purchase days, for members with at least ``LAPSE_MIN_PURCHASES`` purchase days.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
from psycopg import AsyncConnection

from server.analysis.members import CLASS_PRIORITY, CORE_SHARE, VIP_TIERS, suggest_action
from server.privacy.profiling import unprofiled_members
from server.queries.facts import SEGMENT_SQL, Bound, Selection, rows
from storeflow.api.member_analytics import (
    ClassCount,
    Demographic,
    LapseAlert,
    MembersOverview,
    ParetoPoint,
    RfmSegment,
    TierShare,
)

PARETO_POINTS = 101
LAPSE_FACTOR = 2.0
LAPSE_MIN_PURCHASES = 3


_RUN = "store_id = %(s)s AND as_of = %(as_of)s"

# The lapse rule on the member figures ``s`` of the run (%(s)s, %(as_of)s): overdue against the
# member's own rhythm, P(alive) at most %(max_p)s (1: any), never a member who objects to
# profiling. The lapse alerts and the lapse trigger of a campaign both read it.
LAPSE_SQL = (
    "s.store_id = %(s)s AND s.as_of = %(as_of)s AND s.purchase_days >= %(min_n)s "
    "AND s.median_interval_days > 0 AND s.days_since > %(factor)s * s.median_interval_days "
    "AND (%(max_p)s >= 1 OR s.p_alive <= %(max_p)s) "
    "AND NOT s.member_id = ANY(%(unprofiled)s)"
)


def pareto_curve(
    sales: list[float], points: int = PARETO_POINTS
) -> tuple[float | None, list[ParetoPoint]]:
    """The Pareto curve of all members ranked by sales, sampled at ``points`` member shares,
    and the share of sales of the top ``CORE_SHARE`` of members (the core class)."""
    values = np.sort(np.asarray(sales, dtype=np.float64))[::-1]
    n, total = len(values), float(values.sum())
    if n == 0 or total <= 0:
        return None, []
    cum = np.concatenate([[0.0], np.cumsum(values)]) / total
    shares = np.linspace(0.0, 1.0, points)
    idx = np.minimum(np.ceil(shares * n).astype(np.int64), n)
    top = float(cum[math.ceil(CORE_SHARE * n)])
    return top, [
        ParetoPoint(member_share=float(s), sales_share=float(cum[i]))
        for s, i in zip(shares, idx, strict=True)
    ]


async def overview(
    conn: AsyncConnection[Any], sel: Selection, computed_at: datetime
) -> MembersOverview:
    p = Bound(sel, as_of=sel.end)
    classes = [
        ClassCount(member_class=c, members=n, referrers=r, sales=float(s))
        for c, n, r, s in await rows(
            conn,
            "SELECT primary_class, count(*)::int, count(*) FILTER (WHERE is_referrer)::int, "
            f"sum(sales_window) FROM member_status WHERE {_RUN} GROUP BY 1 "
            "ORDER BY array_position(%(order)s::text[], primary_class)",
            Bound(sel, as_of=sel.end, order=list(CLASS_PRIORITY)),
        )
    ]
    segments = [
        RfmSegment(segment=s, members=n, sales=float(m), mean_recency_days=rec, mean_frequency=fr)
        for s, n, m, rec, fr in await rows(
            conn,
            "SELECT rfm_segment, count(*)::int, sum(monetary), avg(recency_days), "
            f"avg(frequency) FROM member_status WHERE {_RUN} AND rfm_segment IS NOT NULL "
            "GROUP BY 1 ORDER BY 3 DESC",
            p,
        )
    ]
    sales = [
        float(r[0])
        for r in await rows(conn, f"SELECT sales_window FROM member_status WHERE {_RUN}", p)
    ]
    top, curve = pareto_curve(sales)
    demo = [
        Demographic(
            age_band=a,
            gender=g,
            members=n,
            buyers=b,
            sales=float(s),
            sales_per_buyer=float(s) / b if b else None,
        )
        for a, g, n, b, s in await rows(
            conn,
            "SELECT age_band, gender, count(*)::int, count(*) FILTER (WHERE purchases_window > 0)"
            f"::int, sum(sales_window) FROM member_status WHERE {_RUN} GROUP BY 1, 2 "
            "ORDER BY 1, 2",
            p,
        )
    ]
    shares = await rows(
        conn,
        "SELECT segment, sum(entries)::int, sum(sales) FROM fact_hour "
        f"WHERE store_id = %(s)s AND day BETWEEN %(d0)s AND %(d1)s AND {SEGMENT_SQL} "
        "GROUP BY segment ORDER BY segment",
        sel,
    )
    e_total = sum(r[1] for r in shares) or 1
    s_total = sum(float(r[2]) for r in shares) or 1.0
    (params,), *_ = await rows(conn, f"SELECT bgnbd FROM member_status_run WHERE {_RUN}", p) or [
        ({},)
    ]
    return MembersOverview(
        as_of=sel.end,
        computed_at=computed_at,
        members=sum(c.members for c in classes),
        buyers=sum(1 for v in sales if v > 0),
        classes=classes,
        rfm_segments=segments,
        pareto_top_share=top,
        pareto=curve,
        tiers=[
            TierShare(
                segment=s,
                vip=s in VIP_TIERS,
                entries=e,
                entries_share=e / e_total,
                sales=float(v),
                sales_share=float(v) / s_total,
            )
            for s, e, v in shares
        ],
        demographics=demo,
        bgnbd={k: float(v) for k, v in dict(params).items()},
    )


async def lapse(
    conn: AsyncConnection[Any],
    sel: Selection,
    *,
    factor: float,
    min_purchases: int,
    max_p_alive: float,
    limit: int,
) -> list[LapseAlert]:
    """Members whose time since the last purchase exceeds ``factor`` x their median interval."""
    got = await rows(
        conn,
        "SELECT m.member_no, s.tier, s.primary_class, s.purchase_days, s.last_purchase_at, "
        "s.days_since, s.median_interval_days, s.days_since / s.median_interval_days AS ratio, "
        "s.p_alive FROM member_status s JOIN member m ON m.id = s.member_id "
        f"WHERE {LAPSE_SQL} AND (%(segs)s::text[] IS NULL OR s.tier = ANY(%(segs)s)) "
        "ORDER BY ratio DESC LIMIT %(limit)s",
        Bound(
            sel,
            as_of=sel.end,
            min_n=min_purchases,
            factor=factor,
            max_p=max_p_alive,
            limit=limit,
            unprofiled=await unprofiled_members(conn),
        ),
    )
    return [
        LapseAlert(
            member_no=no,
            tier=tier,
            member_class=cls,
            purchases=n,
            last_purchase_at=last,
            days_since=since,
            median_interval_days=med,
            ratio=ratio,
            p_alive=pa,
            action=suggest_action(primary_class=cls, tier=tier, ratio=ratio, p_alive=pa),
        )
        for no, tier, cls, n, last, since, med, ratio, pa in got
    ]


async def lapsed_members(
    conn: AsyncConnection[Any],
    store_id: str,
    as_of: datetime,
    *,
    factor: float = LAPSE_FACTOR,
    min_purchases: int = LAPSE_MIN_PURCHASES,
    max_p_alive: float = 1.0,
) -> list[tuple[int, float, float, float]]:
    """The members :func:`lapse` names in the run of ``as_of`` (which must exist:
    :func:`server.member_status.ensure_status`): ``member_id, ratio, days_since,
    median_interval_days``, most overdue first."""
    cur = await conn.execute(
        "SELECT s.member_id, s.days_since / s.median_interval_days AS ratio, s.days_since, "
        f"s.median_interval_days FROM member_status s WHERE {LAPSE_SQL} "
        "ORDER BY ratio DESC, s.member_id",
        {
            "s": store_id,
            "as_of": as_of,
            "min_n": min_purchases,
            "factor": factor,
            "max_p": max_p_alive,
            "unprofiled": await unprofiled_members(conn),
        },
    )
    return [(int(m), float(r), float(d), float(i)) for m, r, d, i in await cur.fetchall()]
