"""May we use purpose P for member M? The one place that decides; every feature asks here.

The rule (pure, :func:`decide`): an erased member allows nothing; otherwise the member's latest
recorded choice for the purpose (over the member's record and every record merged into it)
holds from the moment it was recorded; with no choice on record the purpose's default applies.

Defaults: ``in_store_tracking`` is where a person walked -- sensitive personal information under
PIPL (Art. 28-29), so it needs its own, explicit consent; ``marketing`` needs consent too
(PIPL Art. 13-14, GDPR Art. 6(1)(a), ePrivacy). ``profiling`` (classes, scores, lapse alerts) runs
on the programme's legitimate interest and stops when the member objects (GDPR Art. 21,
PIPL Art. 24): it defaults to allowed and a withdrawal is a recorded objection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel

logger = logging.getLogger(__name__)


class Purpose(StrEnum):
    IN_STORE_TRACKING = "in_store_tracking"
    MARKETING = "marketing"
    PROFILING = "profiling"


DEFAULTS: dict[Purpose, bool] = {
    Purpose.IN_STORE_TRACKING: False,
    Purpose.MARKETING: False,
    Purpose.PROFILING: True,
}

DESCRIPTIONS: dict[Purpose, str] = {
    Purpose.IN_STORE_TRACKING: "link the RFID tag in the member card to the member: the zones "
    "visited, the trips through the store and which trip ended in which purchase",
    Purpose.MARKETING: "contact the member (phone, e-mail) with offers and news",
    Purpose.PROFILING: "individual figures: member class, RFM score, purchase rhythm, lapse alerts",
}


@dataclass(frozen=True, slots=True)
class Choice:
    """A member's latest recorded choice for one purpose."""

    granted: bool
    recorded_at: datetime


def decide(purpose: Purpose, choice: Choice | None, *, erased: bool) -> bool:
    """The rule: erased -> no; a recorded choice -> that choice; none -> the default."""
    if erased:
        return False
    if choice is not None:
        return choice.granted
    return DEFAULTS[purpose]


class ConsentEntry(BaseModel):
    purpose: Purpose
    granted: bool
    recorded_at: datetime
    channel: str
    recorded_by: str


class ConsentState(BaseModel):
    purpose: Purpose
    allowed: bool
    granted: bool | None  # the latest recorded choice; None: the default applies
    default: bool
    since: datetime | None
    description: str


# The latest choice for one purpose of each member, over its record and those merged into it:
# for every member (``_ALL``) or for the members in %(ids)s (``_SOME``, index look-ups only).
_ALL = """
WITH latest AS (
    SELECT DISTINCT ON (coalesce(g.merged_into, g.id)) coalesce(g.merged_into, g.id) AS sid,
           c.granted, c.recorded_at
    FROM consent c JOIN member g ON g.id = c.member_id
    WHERE c.purpose = %(p)s
    ORDER BY coalesce(g.merged_into, g.id), c.recorded_at DESC
)
SELECT m.id, m.erased_at IS NOT NULL, l.granted, l.recorded_at
FROM member m LEFT JOIN latest l ON l.sid = coalesce(m.merged_into, m.id)
"""
_SOME = """
WITH target AS (
    SELECT m.id, coalesce(m.merged_into, m.id) AS sid, m.erased_at FROM member m
    WHERE m.id = ANY(%(ids)s)
), grp AS (
    SELECT g.id, coalesce(g.merged_into, g.id) AS sid FROM member g
    WHERE g.id = ANY(ARRAY(SELECT sid FROM target))
       OR g.merged_into = ANY(ARRAY(SELECT sid FROM target))
), latest AS (
    SELECT DISTINCT ON (grp.sid) grp.sid, c.granted, c.recorded_at
    FROM consent c JOIN grp ON grp.id = c.member_id
    WHERE c.member_id = ANY(ARRAY(SELECT id FROM grp)) AND c.purpose = %(p)s
    ORDER BY grp.sid, c.recorded_at DESC
)
SELECT t.id, t.erased_at IS NOT NULL, l.granted, l.recorded_at
FROM target t LEFT JOIN latest l ON l.sid = t.sid
"""


async def _choices(
    conn: AsyncConnection[Any], purpose: Purpose, member_ids: list[int] | None
) -> list[tuple[int, bool, Choice | None]]:
    sql = _ALL if member_ids is None else _SOME
    cur = await conn.execute(sql, {"p": purpose.value, "ids": member_ids})
    return [
        (int(mid), bool(erased), None if granted is None else Choice(granted, at))
        for mid, erased, granted, at in await cur.fetchall()
    ]


async def may_use(conn: AsyncConnection[Any], member_id: int, purpose: Purpose) -> bool:
    """May ``purpose`` be applied to ``member_id`` now? (An unknown member: no.)"""
    found = await _choices(conn, purpose, [member_id])
    return bool(found) and decide(purpose, found[0][2], erased=found[0][1])


async def denied_members(conn: AsyncConnection[Any], purpose: Purpose) -> list[int]:
    """Every member record ``purpose`` may not be applied to (for filters in bulk queries)."""
    return sorted(
        mid
        for mid, erased, c in await _choices(conn, purpose, None)
        if not decide(purpose, c, erased=erased)
    )


async def allowed_members(
    conn: AsyncConnection[Any], purpose: Purpose, member_ids: list[int]
) -> set[int]:
    return {
        mid
        for mid, erased, c in await _choices(conn, purpose, member_ids)
        if decide(purpose, c, erased=erased)
    }


async def states(conn: AsyncConnection[Any], member_id: int) -> list[ConsentState]:
    out = []
    for purpose in Purpose:
        found = await _choices(conn, purpose, [member_id])
        _, erased, choice = found[0]
        out.append(
            ConsentState(
                purpose=purpose,
                allowed=decide(purpose, choice, erased=erased),
                granted=None if choice is None else choice.granted,
                default=DEFAULTS[purpose],
                since=None if choice is None else choice.recorded_at,
                description=DESCRIPTIONS[purpose],
            )
        )
    return out


async def history(conn: AsyncConnection[Any], member_id: int) -> list[ConsentEntry]:
    """Every recorded choice of the member (and of records merged into it), oldest first."""
    cur = await conn.execute(
        "SELECT c.purpose, c.granted, c.recorded_at, coalesce(c.channel, 'enrolment'), c.source "
        "FROM consent c JOIN member g ON g.id = c.member_id "
        "WHERE coalesce(g.merged_into, g.id) = (SELECT coalesce(merged_into, id) FROM member "
        "WHERE id = %s) ORDER BY c.recorded_at, c.purpose",
        (member_id,),
    )
    return [
        ConsentEntry(purpose=p, granted=g, recorded_at=at, channel=ch, recorded_by=by)
        for p, g, at, ch, by in await cur.fetchall()
    ]


async def record(
    conn: AsyncConnection[Any],
    member_id: int,
    purpose: Purpose,
    *,
    granted: bool,
    channel: str,
    actor: str,
) -> ConsentEntry:
    """Append a choice (never overwrite); it holds from now on."""
    cur = await conn.execute(
        "INSERT INTO consent (member_id, purpose, granted, source, channel) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING recorded_at",
        (member_id, purpose.value, granted, actor, channel),
    )
    row = await cur.fetchone()
    assert row is not None
    logger.info(
        "consent %s %s for member %s (%s)",
        purpose.value,
        "given" if granted else "withdrawn",
        member_id,
        channel,
    )
    return ConsentEntry(
        purpose=purpose, granted=granted, recorded_at=row[0], channel=channel, recorded_by=actor
    )
