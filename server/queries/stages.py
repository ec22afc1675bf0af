"""Stage history in the database: the class snapshot a class run leaves (``member_stage``), one
member's history, and the monthly transitions between classes (server/analysis/stages.py has
the definitions). The transitions read only each member's last snapshot of a month
(``month_end``, kept by triggers: migration 0136).

:func:`record_snapshot` copies a run's classes from ``member_status`` after the profiling
objections were applied there, so a member who objects is kept as ``unprofiled``; a second run
for the same day replaces that day's rows (one snapshot per store, member and day).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection

from server.analysis.stages import (
    TRANSITIONS_DEFINITION,
    Snapshot,
    periods,
    snapshot_day,
    stage_rank,
)
from server.errors import InvalidRequest, NotFound
from server.loyalty.rules import add_months
from server.rollup import store_timezone
from storeflow.api.stages import (
    MemberStages,
    StagePeriod,
    StageSnapshot,
    StageTransition,
    StageTransitions,
)

logger = logging.getLogger(__name__)

MAX_MONTHS = 36
SNAPSHOT_LIMIT = 400


async def record_snapshot(conn: AsyncConnection[Any], store_id: str, as_of: datetime) -> date:
    """Keep the classes of the run of ``store_id`` as of ``as_of`` as that day's snapshot;
    returns the day. Idempotent per day: a member's row of the day is replaced, not added to."""
    day = snapshot_day(as_of, await store_timezone(conn, store_id))
    cur = await conn.execute(
        "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
        "SELECT store_id, member_id, %(day)s, primary_class, is_referrer FROM member_status "
        "WHERE store_id = %(s)s AND as_of = %(as_of)s "
        "ON CONFLICT (store_id, member_id, as_of) DO UPDATE SET "
        "member_class = EXCLUDED.member_class, is_referrer = EXCLUDED.is_referrer, "
        "recorded_at = now()",
        {"s": store_id, "as_of": as_of, "day": day},
    )
    logger.info("class snapshot of %s as of %s: %s members", store_id, day, cur.rowcount)
    return day


async def member_stages(
    conn: AsyncConnection[Any], member_id: int, *, limit: int = SNAPSHOT_LIMIT
) -> MemberStages:
    """One member's class over time, in every store: periods in one class, newest snapshots."""
    row = await (
        await conn.execute("SELECT merged_into, erased_at FROM member WHERE id = %s", (member_id,))
    ).fetchone()
    if row is None or row[1] is not None:
        raise NotFound("member not found")
    if row[0] is not None:
        raise NotFound(f"member {member_id} was merged into member {row[0]}")
    rows = await (
        await conn.execute(
            "SELECT store_id, as_of, member_class, is_referrer FROM member_stage "
            "WHERE member_id = %s ORDER BY store_id, as_of",
            (member_id,),
        )
    ).fetchall()
    snaps = [Snapshot(*r) for r in rows]
    newest = sorted(snaps, key=lambda s: (s.as_of, s.store_id))[-limit:]
    return MemberStages(
        member_id=member_id,
        periods=[
            StagePeriod(
                store_id=p.store_id,
                member_class=p.member_class,
                is_referrer=p.is_referrer,
                first=p.first,
                last=p.last,
                snapshots=p.snapshots,
            )
            for p in periods(snaps)
        ],
        snapshots=[
            StageSnapshot(
                store_id=s.store_id,
                as_of=s.as_of,
                member_class=s.member_class,
                is_referrer=s.is_referrer,
            )
            for s in newest
        ],
    )


# Month ends only (``month_end``, migration 0136: a member's last snapshot of a month, read from
# a partial index in member order): each one's "from" is the member's previous month end. Counted
# per snapshot day first (few distinct days), then summed per month.
_TRANSITIONS = """
WITH moves AS (
    SELECT as_of, member_class AS to_class,
           coalesce(lag(member_class) OVER (PARTITION BY member_id ORDER BY as_of), 'new')
               AS from_class
      FROM member_stage
     WHERE store_id = %(s)s AND as_of < %(until)s AND month_end
), per_day AS (
    SELECT as_of, from_class, to_class, count(*) AS members
      FROM moves
     WHERE as_of >= greatest(%(first)s::date, (
               SELECT (date_trunc('month', min(as_of)::timestamp) + interval '1 month')::date
                 FROM member_stage WHERE store_id = %(s)s))
     GROUP BY 1, 2, 3
)
SELECT date_trunc('month', as_of::timestamp)::date, from_class, to_class, sum(members)::int
  FROM per_day
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3
"""


async def transitions(
    conn: AsyncConnection[Any], store_id: str, *, last_day: date, months: int
) -> StageTransitions:
    """Counts of members moving from class to class in each of the ``months`` months up to the
    one of ``last_day`` (definition: :data:`server.analysis.stages.TRANSITIONS_DEFINITION`)."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidRequest(f"months is 1 to {MAX_MONTHS}")
    last_month = last_day.replace(day=1)
    first = add_months(last_month, -(months - 1))
    rows = await (
        await conn.execute(
            _TRANSITIONS,
            {"s": store_id, "first": first, "until": add_months(last_month, 1)},
        )
    ).fetchall()
    found = {c for r in rows for c in (r[1], r[2])}
    return StageTransitions(
        store_id=store_id,
        months=sorted({r[0] for r in rows}),
        classes=sorted(found, key=lambda c: (stage_rank(c), c)),
        transitions=[
            StageTransition(month=r[0], from_class=r[1], to_class=r[2], members=r[3]) for r in rows
        ],
        definition=TRANSITIONS_DEFINITION,
    )
