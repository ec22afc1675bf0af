"""Referrals in the database: the referrer a code names, the reward on the referred member's first
purchase, and the referral tree below a member.

The referrer is ``member.referrer_id`` (set at enrolment, never changed). A code or a referrer
merged into another record answers for the record in use. The reward's points go through the one
ledger writer (:mod:`server.queries.ledger`) and are recorded in ``referral_reward`` first, whose
key (the referred member) makes the reward happen once however often a sale is retried.

Locks: a purchase holds the referred member's row; the reward then locks the referrer's. A
referrer existed before everyone it referred, so locks are always taken from the newer member to
the older and two sales cannot wait for each other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from server.crm.referrals import BadCode, Node, Referred, build_tree, count, normalise_code
from server.errors import InvalidRequest, NotFound
from server.loyalty import EarningRules, LedgerEntry, referral_entry
from server.queries import ledger
from storeflow.api.referrals import MemberRef, ReferralNode, ReferralTree

logger = logging.getLogger(__name__)

MAX_DEPTH = 10
MAX_NODES = 2000


async def referrer_for_code(conn: AsyncConnection[Any], text: str) -> int:
    """The member (in use) whose referral code ``text`` is; 422 for a code nobody has."""
    try:
        code = normalise_code(text)
    except BadCode as exc:
        raise InvalidRequest(str(exc)) from exc
    row = await (
        await conn.execute(
            "SELECT coalesce(merged_into, id), erased_at FROM member WHERE referral_code = %s",
            (code,),
        )
    ).fetchone()
    if row is None or row[1] is not None:
        raise InvalidRequest(f"unknown referral code {code!r}: no member has it")
    return int(row[0])


async def reward_first_purchase(
    conn: AsyncConnection[Any],
    *,
    member_id: int,
    purchase_id: int,
    total: Decimal,
    at: datetime,
    rules: EarningRules,
    actor: str,
) -> int:
    """Pay the referral reward if this sale is the referred member's first reaching the rule's
    minimum; returns the points paid to the referrer (0: no reward).

    The caller holds the member's row lock and records the sale in the same transaction."""
    rule = rules.referral
    if rule is None or total < rule.min_purchase:
        return 0
    row = await (
        await conn.execute(
            "SELECT coalesce(r.merged_into, r.id), r.erased_at FROM member m "
            "JOIN member r ON r.id = m.referrer_id WHERE m.id = %s",
            (member_id,),
        )
    ).fetchone()
    if row is None or row[1] is not None:
        return 0  # not referred, or the referrer's record was erased
    referrer_id = int(row[0])
    if referrer_id == member_id:
        return 0  # referred by a record later merged into this one: no reward to oneself
    earlier = await (
        await conn.execute(
            "SELECT 1 FROM purchase WHERE id <> %s AND total >= %s AND member_id IN "
            "(SELECT id FROM member WHERE id = %s OR merged_into = %s) LIMIT 1",
            (purchase_id, rule.min_purchase, member_id, member_id),
        )
    ).fetchone()
    if earlier is not None:
        return 0
    paid = await (
        await conn.execute(
            "INSERT INTO referral_reward (member_id, referrer_id, purchase_id, at, "
            "referrer_points, member_points) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (member_id) DO NOTHING RETURNING 1",
            (
                member_id,
                referrer_id,
                purchase_id,
                at,
                rule.referrer_points,
                rule.new_member_points,
            ),
        )
    ).fetchone()
    if paid is None:
        return 0
    for to, points, to_referrer in (
        (member_id, rule.new_member_points, False),
        (referrer_id, rule.referrer_points, True),
    ):
        if points <= 0:
            continue
        if to_referrer:
            await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (to,))
        entry: LedgerEntry = referral_entry(
            points,
            lot_id=await ledger.new_lot_id(conn),
            at=at,
            rules=rules,
            actor=actor,
            referred_member_id=member_id,
            to_referrer=to_referrer,
        )
        await ledger.append_entries(conn, to, [entry])
    logger.info(
        "referral reward for member %s's first purchase %s: %s points to member %s, %s to them",
        member_id,
        purchase_id,
        rule.referrer_points,
        referrer_id,
        rule.new_member_points,
    )
    return rule.referrer_points


# The records that answer for member ``t.id``: itself and the records merged into it.
_TREE = """
WITH RECURSIVE tree AS (
    SELECT m.id, %(root)s::bigint AS parent, 1 AS depth, ARRAY[%(root)s::bigint, m.id] AS path
      FROM member m
     WHERE m.merged_into IS NULL AND m.id <> %(root)s AND (m.referrer_id = %(root)s
           OR m.referrer_id IN (SELECT x.id FROM member x WHERE x.merged_into = %(root)s))
    UNION ALL
    SELECT m.id, t.id, t.depth + 1, t.path || m.id
      FROM tree t
     CROSS JOIN LATERAL (SELECT t.id AS rid
                         UNION ALL SELECT x.id FROM member x WHERE x.merged_into = t.id) r
      JOIN member m ON m.referrer_id = r.rid
     WHERE t.depth < %(depth)s AND m.merged_into IS NULL AND NOT m.id = ANY(t.path)
)
SELECT t.id, t.parent, t.depth, m.member_no, m.name, m.joined_at,
       (SELECT min(p.at) FROM purchase p WHERE p.member_id = t.id),
       (SELECT w.referrer_points FROM referral_reward w WHERE w.member_id = t.id),
       (SELECT count(*) FROM member c WHERE c.merged_into IS NULL AND c.id <> t.id
           AND (c.referrer_id = t.id
                OR c.referrer_id IN (SELECT x.id FROM member x WHERE x.merged_into = t.id)))
  FROM tree t JOIN member m ON m.id = t.id
 ORDER BY t.depth, m.joined_at, t.id
 LIMIT %(limit)s
"""


def _node(n: Node) -> ReferralNode:
    r: Referred = n.member
    return ReferralNode(
        member_id=r.member_id,
        member_no=r.member_no,
        name=r.name,
        joined_at=r.joined_at,
        first_purchase_at=r.first_purchase_at,
        reward_points=r.reward_points,
        referred=[_node(c) for c in n.children],
        not_shown=n.not_shown,
    )


async def tree(conn: AsyncConnection[Any], member_id: int, *, depth: int) -> ReferralTree:
    """The members ``member_id`` referred, and theirs, down to ``depth`` levels."""
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidRequest(f"depth is 1 to {MAX_DEPTH}")
    row = await (
        await conn.execute(
            "SELECT m.id, m.member_no, m.name, m.referral_code, m.merged_into, m.erased_at, "
            "r.id, r.member_no, r.name FROM member m LEFT JOIN member r "
            "ON r.id = (SELECT coalesce(x.merged_into, x.id) FROM member x "
            "WHERE x.id = m.referrer_id) WHERE m.id = %s",
            (member_id,),
        )
    ).fetchone()
    if row is None or row[5] is not None:
        raise NotFound("member not found")
    if row[4] is not None:
        raise NotFound(f"member {member_id} was merged into member {row[4]}")
    rows = await (
        await conn.execute(_TREE, {"root": member_id, "depth": depth, "limit": MAX_NODES + 1})
    ).fetchall()
    truncated = len(rows) > MAX_NODES
    nodes = build_tree(member_id, [Referred(*r) for r in rows[:MAX_NODES]])
    members, buyers = count(nodes)
    paid = await (
        await conn.execute(
            "SELECT coalesce(sum(referrer_points), 0) FROM referral_reward WHERE referrer_id = %s",
            (member_id,),
        )
    ).fetchone()
    return ReferralTree(
        member_id=row[0],
        member_no=row[1],
        name=row[2],
        referral_code=row[3],
        referred_by=(
            MemberRef(member_id=row[6], member_no=row[7], name=row[8])
            if row[6] is not None and row[6] != member_id
            else None
        ),
        depth=depth,
        referred=[_node(n) for n in nodes],
        members=members,
        buyers=buyers,
        reward_points=int(paid[0]) if paid else 0,
        truncated=truncated,
    )
