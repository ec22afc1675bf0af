"""Member search, profile and edit for customer care (personal data: the crm and admin roles).

Search by member number, phone, card number or part of the name; merged records answer as the
member they were merged into, erased members are not found."""

from __future__ import annotations

import logging
from typing import Any

from psycopg import AsyncConnection, errors

from server.crm.consent import may_contact
from server.errors import Conflict, InvalidRequest, NotFound
from server.queries.ledger import balance
from server.queries.membership import normalise_phone
from storeflow.api.members import (
    CardOnFile,
    MemberFound,
    MemberPatch,
    MemberProfile,
    RecentPurchase,
)
from storeflow.api.referrals import MemberRef

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 50
RECENT_PURCHASES = 20

_FIELDS = "m.id, m.member_no, m.name, m.phone, m.email, m.tier"


async def search(conn: AsyncConnection[Any], query: str) -> list[MemberFound]:
    """Exact member number, phone or card number first; then names containing the query."""
    text = query.strip()
    if len(text) < 2:
        raise InvalidRequest("give at least two characters to search for")
    phone = normalise_phone(text)
    rows = await (
        await conn.execute(
            f"""
            WITH hit AS (
                SELECT coalesce(m.merged_into, m.id) AS id, 'member_no' AS how, 1 AS rank
                  FROM member m WHERE upper(m.member_no) = upper(%(q)s)
                UNION ALL
                SELECT m.id, 'phone', 2 FROM member m
                 WHERE %(phone)s::text IS NOT NULL AND m.phone = %(phone)s
                   AND m.merged_into IS NULL
                UNION ALL
                SELECT c.member_id, 'card', 3 FROM card c WHERE c.card_number = %(q)s
                UNION ALL
                SELECT m.id, 'name', 4 FROM member m
                 WHERE m.name ILIKE '%%' || %(like)s || '%%' AND m.merged_into IS NULL
            ), best AS (
                SELECT DISTINCT ON (id) id, how, rank FROM hit ORDER BY id, rank
            )
            SELECT {_FIELDS}, best.how FROM best JOIN member m ON m.id = best.id
             WHERE m.erased_at IS NULL
             ORDER BY best.rank, m.name, m.id LIMIT %(limit)s
            """,
            {
                "q": text,
                "phone": phone,
                "like": text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),
                "limit": SEARCH_LIMIT,
            },
        )
    ).fetchall()
    return [
        MemberFound(
            member_id=r[0],
            member_no=r[1],
            name=r[2],
            phone=r[3],
            email=r[4],
            tier=r[5],
            matched_on=r[6],
        )
        for r in rows
    ]


async def profile(conn: AsyncConnection[Any], member_id: int) -> MemberProfile:
    row = await (
        await conn.execute(
            "SELECT id, member_no, name, phone, email, birth_date, gender, joined_at, tier, "
            "tier_since, merged_into, referral_code, referrer_id FROM member "
            "WHERE id = %s AND erased_at IS NULL",
            (member_id,),
        )
    ).fetchone()
    if row is None:
        raise NotFound("member not found")
    if row[10] is not None:
        raise NotFound(f"member {member_id} was merged into member {row[10]}")
    cards = await (
        await conn.execute(
            "SELECT card_number, status, issued_at FROM card WHERE member_id = %s "
            "ORDER BY issued_at DESC, card_number",
            (member_id,),
        )
    ).fetchall()
    purchases = await (
        await conn.execute(
            "SELECT id, at, store_id, total, points_earned FROM purchase WHERE member_id = %s "
            "ORDER BY at DESC, id DESC LIMIT %s",
            (member_id, RECENT_PURCHASES),
        )
    ).fetchall()
    referred_by, referred = await _referrals(conn, member_id, row[12])
    return MemberProfile(
        member_id=row[0],
        member_no=row[1],
        name=row[2],
        phone=row[3],
        email=row[4],
        birth_date=row[5],
        gender=row[6],
        joined_at=row[7],
        tier=row[8],
        tier_since=row[9],
        points_balance=await balance(conn, member_id),
        may_contact=await may_contact(conn, member_id),
        cards=[CardOnFile(card_number=c[0], status=c[1], issued_at=c[2]) for c in cards],
        purchases=[
            RecentPurchase(purchase_id=p[0], at=p[1], store_id=p[2], total=p[3], points_earned=p[4])
            for p in purchases
        ],
        referral_code=row[11],
        referred_by=referred_by,
        referrals=referred,
    )


async def _referrals(
    conn: AsyncConnection[Any], member_id: int, referrer_id: int | None
) -> tuple[MemberRef | None, int]:
    """Who referred the member (the record in use), and how many members gave their code."""
    by = None
    if referrer_id is not None:
        row = await (
            await conn.execute(
                "SELECT r.id, r.member_no, r.name FROM member r WHERE r.id = "
                "(SELECT coalesce(merged_into, id) FROM member WHERE id = %s) AND r.id <> %s",
                (referrer_id, member_id),
            )
        ).fetchone()
        if row is not None:
            by = MemberRef(member_id=row[0], member_no=row[1], name=row[2])
    n = await (
        await conn.execute(
            "SELECT count(*) FROM member m WHERE m.merged_into IS NULL AND m.id <> %s AND "
            "m.referrer_id IN (SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            (member_id, member_id, member_id),
        )
    ).fetchone()
    return by, int(n[0]) if n else 0


async def update(
    conn: AsyncConnection[Any], member_id: int, patch: MemberPatch, *, actor: str
) -> MemberProfile:
    """Change the fields given (``exclude_unset``); a phone or email another member has is 409."""
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise InvalidRequest("a member's name cannot be cleared")
    if "gender" in changes and changes["gender"] is None:
        changes["gender"] = "unknown"
    if "phone" in changes:
        changes["phone"] = normalise_phone(changes["phone"])
    await profile(conn, member_id)  # 404 for a missing, merged or erased member
    if changes:
        columns = ", ".join(f"{name} = %({name})s" for name in sorted(changes))
        try:
            async with conn.transaction():
                await conn.execute(
                    f"UPDATE member SET {columns} WHERE id = %(member_id)s",
                    {**changes, "member_id": member_id},
                )
        except errors.UniqueViolation as exc:
            field = "email" if "email" in str(exc) else "phone"
            raise Conflict(f"another member has this {field}") from exc
        logger.info("member %s: %s changed by %s", member_id, ", ".join(sorted(changes)), actor)
    return await profile(conn, member_id)
