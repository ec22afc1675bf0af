"""The one way to a contact list: members who consented to marketing, with a way to reach them.

Every feature that contacts members (a campaign export, an SMS, an e-mail) takes its list from
:func:`marketing_contacts`; a member who withdrew marketing consent, was erased or merged away is
never in it.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel

from server.privacy.consent import Purpose, allowed_members


class Contact(BaseModel):
    member_id: int
    member_no: str
    name: str
    phone: str | None
    email: str | None


async def marketing_contacts(
    conn: AsyncConnection[Any], member_ids: list[int] | None = None
) -> list[Contact]:
    """Every member who may be contacted, or those of ``member_ids`` who may."""
    cur = await conn.execute(
        "SELECT id, member_no, name, phone, email FROM member WHERE merged_into IS NULL "
        "AND erased_at IS NULL AND (phone IS NOT NULL OR email IS NOT NULL) "
        "AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s)) ORDER BY id",
        {"ids": member_ids},
    )
    rows = await cur.fetchall()
    ok = await allowed_members(conn, Purpose.MARKETING, [int(r[0]) for r in rows])
    return [
        Contact(member_id=r[0], member_no=r[1], name=r[2], phone=r[3], email=r[4])
        for r in rows
        if r[0] in ok
    ]
