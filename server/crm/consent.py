"""Whether a member may be contacted, in customer care's words: the ``marketing`` purpose of the
one consent rule, :mod:`server.privacy.consent` (the latest recorded choice over the member's
record and every record merged into it; no choice, a withdrawal or an erased member: no).
Contact lists go through :func:`server.privacy.contacts.marketing_contacts`, which also needs a
phone or an e-mail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection

from server.privacy.consent import Purpose, allowed_members, may_use


async def contactable(conn: AsyncConnection[Any], member_ids: Iterable[int]) -> set[int]:
    """The members of ``member_ids`` whose marketing consent is in force."""
    ids = sorted(set(member_ids))
    if not ids:
        return set()
    return await allowed_members(conn, Purpose.MARKETING, ids)


async def may_contact(conn: AsyncConnection[Any], member_id: int) -> bool:
    """True when the member's marketing consent is in force."""
    return await may_use(conn, member_id, Purpose.MARKETING)
