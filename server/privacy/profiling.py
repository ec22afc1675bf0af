"""Profiling consent on the member figures: an objecting member keeps no individual score.

Their row in ``member_status`` stays (so members, sales and the Pareto curve still count them)
but class, RFM, purchase rhythm and P(alive) are blanked; the class reads ``unprofiled``, and no
lapse alert can name them; their class history (``member_stage``) reads ``unprofiled`` too.
Applied when figures are computed and at once on withdrawal.
"""

from __future__ import annotations

import logging
from typing import Any

from psycopg import AsyncConnection

from server.privacy.consent import Purpose, denied_members

logger = logging.getLogger(__name__)

UNPROFILED = "unprofiled"

_BLANK = (
    "UPDATE member_status SET primary_class = %(c)s, is_core = false, is_referrer = false, "
    "days_since = NULL, median_interval_days = NULL, p_alive = NULL, recency_days = NULL, "
    "frequency = NULL, monetary = NULL, r = NULL, f = NULL, m = NULL, rfm_segment = NULL "
    "WHERE member_id = ANY(%(ids)s) AND (%(s)s::text IS NULL OR store_id = %(s)s)"
)

# the class history (member_stage) keeps the days, not the classes
_BLANK_HISTORY = (
    "UPDATE member_stage SET member_class = %(c)s, is_referrer = false "
    "WHERE member_id = ANY(%(ids)s) AND (%(s)s::text IS NULL OR store_id = %(s)s) "
    "AND (member_class <> %(c)s OR is_referrer)"
)


async def blank_unprofiled(
    conn: AsyncConnection[Any], *, store_id: str | None = None, member_ids: list[int] | None = None
) -> int:
    """Blank the individual figures of ``member_ids`` (default: every member who objects), and
    their class history likewise; returns the number of figure rows blanked."""
    ids = member_ids if member_ids is not None else await denied_members(conn, Purpose.PROFILING)
    if not ids:
        return 0
    cur = await conn.execute(_BLANK, {"c": UNPROFILED, "ids": ids, "s": store_id})
    await conn.execute(_BLANK_HISTORY, {"c": UNPROFILED, "ids": ids, "s": store_id})
    return cur.rowcount


async def unprofiled_members(conn: AsyncConnection[Any]) -> list[int]:
    """Members no individual score or alert may name (for read-time filters)."""
    return await denied_members(conn, Purpose.PROFILING)
