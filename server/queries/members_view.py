"""The Members page: classes, RFM segments, Pareto, tier shares of traffic and sales, lapse alerts.

Member figures come from the run of :mod:`server.member_status` as of the end of the selection
(classes use the 365 days before it); traffic and sales shares per tier come from the daily
facts of the selection. Rules: server/analysis/members.py (the five classes, RFM, lapse).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
from psycopg import AsyncConnection
from pydantic import BaseModel

from server.analysis.members import VIP_TIERS, suggest_action
from server.privacy.profiling import unprofiled_members
from server.queries.facts import SEGMENT_SQL, Bound, Selection, rows

PARETO_POINTS = 101


class ClassCount(BaseModel):
    member_class: str
    members: int
    referrers: int
    sales: float


class RfmSegment(BaseModel):
    segment: str
    members: int
    sales: float
    mean_recency_days: float
    mean_frequency: float


class ParetoPoint(BaseModel):
    member_share: float
    sales_share: float


class TierShare(BaseModel):
    segment: str
    vip: bool
    entries: int
    entries_share: float
    sales: float
    sales_share: float


class Demographic(BaseModel):
    age_band: str
    gender: str
    members: int
    buyers: int
    sales: float
    sales_per_buyer: float | None


class MembersOverview(BaseModel):
    as_of: datetime
    computed_at: datetime
    members: int
    buyers: int
    classes: list[ClassCount]
    rfm_segments: list[RfmSegment]
    pareto_top_share: float | None
    pareto: list[ParetoPoint]
    tiers: list[TierShare]
    demographics: list[Demographic]
    bgnbd: dict[str, float]


class LapseAlert(BaseModel):
    member_no: str
    tier: str
    member_class: str
    purchases: int
    last_purchase_at: datetime
    days_since: float
    median_interval_days: float
    ratio: float
    p_alive: float
    action: str


_RUN = "store_id = %(s)s AND as_of = %(as_of)s"


def pareto_curve(
    sales: list[float], points: int = PARETO_POINTS
) -> tuple[float | None, list[ParetoPoint]]:
    """Share of sales of the top x % of members (all members, ranked by sales), sampled."""
    values = np.sort(np.asarray(sales, dtype=np.float64))[::-1]
    n, total = len(values), float(values.sum())
    if n == 0 or total <= 0:
        return None, []
    cum = np.concatenate([[0.0], np.cumsum(values)]) / total
    shares = np.linspace(0.0, 1.0, points)
    idx = np.minimum(np.ceil(shares * n).astype(np.int64), n)
    top = float(cum[math.ceil(0.2 * n)])
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
            "ORDER BY array_position(ARRAY['core','loyal','occasional','potential'], "
            "primary_class)",
            p,
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
        "WHERE s.store_id = %(s)s AND s.as_of = %(as_of)s AND s.purchase_days >= %(min_n)s "
        "AND s.median_interval_days > 0 AND s.days_since > %(factor)s * s.median_interval_days "
        "AND s.p_alive <= %(max_p)s AND (%(segs)s::text[] IS NULL OR s.tier = ANY(%(segs)s)) "
        "AND NOT s.member_id = ANY(%(unprofiled)s) "
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
