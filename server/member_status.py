"""Member figures as of a day (migration 0012), computed once and then read by queries.

:func:`ensure_status` computes the figures of every member for sales at one store up to
``as_of`` (the five classes, RFM, the purchase rhythm and BG/NBD P(alive), from
:func:`server.analysis.members.member_status`) unless a run for ``as_of`` exists that already
includes the store's newest sale or is younger than ``staleness_s``. A run replaces the older
runs of the store but the newest two; the classes of every run are kept as that day's class
snapshot (``member_stage``, :func:`server.queries.stages.record_snapshot`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from server.analysis.members import WINDOW_DAYS, dropout, member_status
from server.privacy.profiling import blank_unprofiled
from server.queries.stages import record_snapshot

logger = logging.getLogger(__name__)

AGE_BANDS = ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
KEEP_RUNS = 2

_COLUMNS = (
    "member_id, tier, age_band, gender, primary_class, is_core, is_referrer, referred_buyers, "
    "purchases_ever, purchases_window, sales_window, last_purchase_at, purchase_days, "
    "days_since, median_interval_days, p_alive, recency_days, frequency, monetary, r, f, m, "
    "rfm_segment"
)


def age_band(birth: date | None, as_of: date) -> str:
    if birth is None:
        return "unknown"
    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    for limit, name in AGE_BANDS:
        if age < limit:
            return name
    return "65+"


async def _newest_sale(conn: AsyncConnection[Any], store_id: str) -> int:
    cur = await conn.execute(
        "SELECT coalesce(max(id), 0) FROM purchase WHERE store_id = %s", (store_id,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def ensure_status(
    conn: AsyncConnection[Any], store_id: str, as_of: datetime, *, staleness_s: float
) -> datetime:
    """Make sure a run for ``as_of`` exists and is current; returns its ``computed_at``."""
    newest = await _newest_sale(conn, store_id)
    cur = await conn.execute(
        "SELECT computed_at, last_purchase_id, computed_at > now() - make_interval(secs => %s) "
        "FROM member_status_run WHERE store_id = %s AND as_of = %s",
        (staleness_s, store_id, as_of),
    )
    row = await cur.fetchone()
    if row is not None and (row[1] >= newest or row[2]):
        computed: datetime = row[0]
        return computed
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"members|{store_id}|{as_of}",)
    )
    return await compute_status(conn, store_id, as_of, newest)


async def _frames(
    conn: AsyncConnection[Any], store_id: str, as_of: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cur = await conn.execute(
        # the referrer recorded at enrolment, as the record in use (a merged referrer answers
        # for the record it was merged into): the referrer class counts referrals who bought
        "SELECT m.id, coalesce(r.merged_into, r.id), m.tier, m.birth_date, m.gender, "
        "m.joined_at FROM member m LEFT JOIN member r ON r.id = m.referrer_id "
        "WHERE m.merged_into IS NULL AND m.erased_at IS NULL AND m.joined_at < %s",
        (as_of,),
    )
    members = pd.DataFrame(
        await cur.fetchall(),
        columns=["member_id", "referrer_id", "tier", "birth_date", "gender", "joined_at"],
    )
    # net of returns; a sale returned in full is no purchase
    cur = await conn.execute(
        "SELECT member_id, id, at, net::float8 FROM ("
        "SELECT coalesce(m.merged_into, p.member_id) AS member_id, p.id, p.at, p.total - coalesce(("
        "SELECT sum(r.amount) FROM purchase_return r WHERE r.purchase_id = p.id), 0) AS net "
        "FROM purchase p JOIN member m ON m.id = p.member_id "
        "WHERE p.store_id = %s AND p.at < %s AND p.at >= %s) x WHERE net > 0",
        (store_id, as_of, as_of - timedelta(days=WINDOW_DAYS)),
    )
    purchases = pd.DataFrame(
        await cur.fetchall(), columns=["member_id", "purchase_id", "at", "amount"]
    )
    return members, purchases


def _value(v: Any) -> Any:
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _value(v.item())
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


async def compute_status(
    conn: AsyncConnection[Any], store_id: str, as_of: datetime, newest: int
) -> datetime:
    t0 = time.perf_counter()
    members, purchases = await _frames(conn, store_id, as_of)
    status, params = member_status(members, purchases, as_of, fit=len(purchases) > 0)
    info = members.set_index("member_id")
    status["tier"] = info["tier"].reindex(status["member_id"]).to_numpy()
    status["gender"] = info["gender"].reindex(status["member_id"]).to_numpy()
    for col in ("frequency", "r", "f", "m"):
        status[col] = status[col].astype("Int64")
    day = as_of.date()
    status["age_band"] = [
        age_band(None if pd.isna(b) else b, day)
        for b in info["birth_date"].reindex(status["member_id"])
    ]
    await conn.execute(
        "DELETE FROM member_status_run WHERE store_id = %s AND as_of = %s", (store_id, as_of)
    )
    cur = await conn.execute(
        "INSERT INTO member_status_run (store_id, as_of, last_purchase_id, bgnbd) "
        "VALUES (%s, %s, %s, %s) RETURNING computed_at",
        (store_id, as_of, newest, Jsonb({**asdict(params), "dropout": dropout(params)})),
    )
    row = await cur.fetchone()
    assert row is not None
    cols = [c.strip() for c in _COLUMNS.split(",")]
    async with conn.cursor() as c:
        async with c.copy(f"COPY member_status (store_id, as_of, {_COLUMNS}) FROM STDIN") as copy:
            for rec in status[cols].itertuples(index=False, name=None):
                await copy.write_row((store_id, as_of, *(_value(v) for v in rec)))
    await blank_unprofiled(conn, store_id=store_id)  # no individual scores without consent
    await record_snapshot(conn, store_id, as_of)
    await conn.execute(
        "DELETE FROM member_status_run WHERE store_id = %s AND as_of NOT IN ("
        "SELECT as_of FROM member_status_run WHERE store_id = %s "
        "ORDER BY computed_at DESC LIMIT %s)",
        (store_id, store_id, KEEP_RUNS),
    )
    logger.info(
        "member figures of %s as of %s: %s members, %s sales, %.2f s",
        store_id,
        as_of,
        len(status),
        len(purchases),
        time.perf_counter() - t0,
    )
    computed: datetime = row[0]
    return computed
