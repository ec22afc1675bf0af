"""Whether a member may be contacted: the one place contact lists and "may contact" flags ask.

Reads the latest ``marketing`` consent of each member (consents are appended, never changed:
server/migrations/0002_membership.sql). No consent on record, or an erased member, means no.
The privacy module is meant to own this check; re-point these two functions at it then."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection

logger = logging.getLogger(__name__)


async def contactable(conn: AsyncConnection[Any], member_ids: Iterable[int]) -> set[int]:
    """The members of ``member_ids`` whose latest marketing consent is a grant."""
    ids = sorted(set(member_ids))
    if not ids:
        return set()
    rows = await (
        await conn.execute(
            "SELECT m.id FROM member m "
            "JOIN LATERAL (SELECT granted FROM consent c WHERE c.member_id = m.id "
            "AND c.purpose = 'marketing' ORDER BY c.recorded_at DESC LIMIT 1) last ON true "
            "WHERE m.id = ANY(%s) AND last.granted AND m.erased_at IS NULL",
            (ids,),
        )
    ).fetchall()
    return {int(r[0]) for r in rows}


async def may_contact(conn: AsyncConnection[Any], member_id: int) -> bool:
    """True when the member's latest marketing consent is a grant."""
    return member_id in await contactable(conn, [member_id])
