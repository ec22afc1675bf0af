"""Referrals in the database: the referrer a code names, the reward on the referred member's first
qualifying purchase, taking it back when that purchase is returned, and the referral tree below a
member.

The referrer is ``member.referrer_id`` (set at enrolment, never changed). A code or a referrer
merged into another record answers for the record in use. The reward's points go through the one
ledger writer (:mod:`server.queries.ledger`) and are recorded in ``referral_reward`` first, where
a unique index (one reward in force per referred member) makes the reward happen once however
often a sale is retried.

A purchase *qualifies* while its net amount (total less what was returned of it) reaches the
rule's ``min_purchase`` and is above zero (:func:`server.crm.referrals.keeps_reward`). A return
that leaves the rewarded purchase short moves the reward to another qualifying purchase of the
member, or else reverses its points (the row is kept, marked reversed) so that the next
qualifying purchase pays it again (:func:`take_back_on_return`, docs/crm.md).

Locks: a purchase or a return holds the referred member's row; the reward then locks the
referrer's. A referrer existed before everyone it referred, so locks are always taken from the
newer member to the older and two sales cannot wait for each other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from server.crm.referrals import (
    BadCode,
    Node,
    Referred,
    build_tree,
    count,
    keeps_reward,
    normalise_code,
)
from server.errors import InvalidRequest, NotFound
from server.loyalty import EarningRules, LedgerEntry, referral_entry, referral_reversal_entries
from server.queries import ledger
from storeflow.api.referrals import MemberRef, ReferralNode, ReferralTree

logger = logging.getLogger(__name__)

MAX_DEPTH = 10
MAX_NODES = 2000

# What is kept of purchase ``p`` (total less its returns), and the records that answer for the
# member with id %(member)s: the record in use and every record merged into it.
_NET = (
    "(p.total - coalesce((SELECT sum(r.amount) FROM purchase_return r "
    "WHERE r.purchase_id = p.id), 0))"
)
_SAME_PERSON = (
    "p.member_id IN (SELECT x.id FROM member x WHERE coalesce(x.merged_into, x.id) = "
    "(SELECT coalesce(y.merged_into, y.id) FROM member y WHERE y.id = %(member)s))"
)
# Another purchase of the same person that qualifies (server.crm.referrals.keeps_reward in SQL).
_OTHER_QUALIFYING = (
    f"SELECT p.id FROM purchase p WHERE p.id <> %(purchase)s AND {_SAME_PERSON} "
    f"AND {_NET} > 0 AND {_NET} >= %(min)s ORDER BY p.at, p.id LIMIT 1"
)


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
    """Pay the referral reward if this sale is the referred member's first qualifying one (its
    total reaches the rule's minimum, and no other purchase of theirs still qualifies net of
    returns); returns the points paid to the referrer (0: no reward).

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
            _OTHER_QUALIFYING,
            {"purchase": purchase_id, "member": member_id, "min": rule.min_purchase},
        )
    ).fetchone()
    if earlier is not None:
        return 0
    paid = await (
        await conn.execute(
            "INSERT INTO referral_reward (member_id, referrer_id, purchase_id, at, "
            "referrer_points, member_points, min_purchase) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (member_id) WHERE reversed_at IS NULL DO NOTHING RETURNING id",
            (
                member_id,
                referrer_id,
                purchase_id,
                at,
                rule.referrer_points,
                rule.new_member_points,
                rule.min_purchase,
            ),
        )
    ).fetchone()
    if paid is None:
        return 0
    lot_ids: dict[bool, str] = {}
    for to, points, to_referrer in (
        (member_id, rule.new_member_points, False),
        (referrer_id, rule.referrer_points, True),
    ):
        if points <= 0:
            continue
        if to_referrer:
            await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (to,))
        lot_ids[to_referrer] = await ledger.new_lot_id(conn)
        entry: LedgerEntry = referral_entry(
            points,
            lot_id=lot_ids[to_referrer],
            at=at,
            rules=rules,
            actor=actor,
            referred_member_id=member_id,
            to_referrer=to_referrer,
        )
        await ledger.append_entries(conn, to, [entry])
    await conn.execute(
        "UPDATE referral_reward SET referrer_lot_id = %s, member_lot_id = %s WHERE id = %s",
        (lot_ids.get(True), lot_ids.get(False), paid[0]),
    )
    logger.info(
        "referral reward for member %s's first purchase %s: %s points to member %s, %s to them",
        member_id,
        purchase_id,
        rule.referrer_points,
        referrer_id,
        rule.new_member_points,
    )
    return rule.referrer_points


async def take_back_on_return(
    conn: AsyncConnection[Any], *, purchase_id: int, at: datetime, actor: str, return_ref: str
) -> int:
    """After a return of ``purchase_id`` (recorded, in the caller's transaction, which holds the
    referred member's row): if the referral reward in force was paid on this purchase and what is
    kept of it no longer qualifies, move the reward to the member's oldest other qualifying
    purchase, or else reverse its points (referrer's and welcome bonus, each out of its own lot
    first, what was spent as a debt) and mark it reversed by ``return_ref``. Returns the
    referrer's points taken back (0: none). A second call finds no reward in force on the sale
    and does nothing."""
    w = await (
        await conn.execute(
            f"SELECT w.id, w.member_id, w.referrer_id, w.referrer_points, w.member_points, "
            f"w.referrer_lot_id, w.member_lot_id, w.min_purchase, {_NET} "
            "FROM referral_reward w JOIN purchase p ON p.id = w.purchase_id "
            "WHERE w.purchase_id = %s AND w.reversed_at IS NULL FOR UPDATE OF w",
            (purchase_id,),
        )
    ).fetchone()
    if w is None:
        return 0
    reward_id, referred, referrer, referrer_points, member_points = w[:5]
    referrer_lot, member_lot, min_purchase, net = w[5:]
    if keeps_reward(net, min_purchase):
        return 0
    other = await (
        await conn.execute(
            _OTHER_QUALIFYING, {"purchase": purchase_id, "member": referred, "min": min_purchase}
        )
    ).fetchone()
    if other is not None:
        await conn.execute(
            "UPDATE referral_reward SET purchase_id = %s WHERE id = %s", (other[0], reward_id)
        )
        logger.info(
            "referral reward of member %s moved from returned purchase %s to purchase %s",
            referred,
            purchase_id,
            other[0],
        )
        return 0
    await conn.execute(
        "UPDATE referral_reward SET reversed_at = %s, reversed_by = %s WHERE id = %s",
        (at, return_ref, reward_id),
    )
    for lot_id, points, to_referrer in (
        (member_lot, member_points, False),
        (referrer_lot, referrer_points, True),
    ):
        if points <= 0:
            continue
        owner = await _lot_owner(conn, lot_id, referred=referred, referrer=referrer, to=to_referrer)
        if owner is None:
            continue  # the record was erased: nothing left to take back
        await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (owner,))
        reversal = referral_reversal_entries(
            await ledger.lots(conn, owner),
            points,
            at=at,
            actor=actor,
            referred_member_id=referred,
            to_referrer=to_referrer,
            reward_lot_ids=() if lot_id is None else {str(lot_id)},
        )
        await ledger.append_entries(conn, owner, reversal.entries)
    logger.info(
        "referral reward of member %s reversed (%s): %s points from member %s, %s from them",
        referred,
        return_ref,
        referrer_points,
        referrer,
        member_points,
    )
    return int(referrer_points)


async def _lot_owner(
    conn: AsyncConnection[Any], lot_id: int | None, *, referred: int, referrer: int, to: bool
) -> int | None:
    """Whose ledger a reward's points are taken back from: the member holding the reward's lot
    now (lots follow merges), or without a lot the record in use of the referrer (``to``) or of
    the referred member; None when that record was erased."""
    holder = None if lot_id is None else await ledger.lot_holder(conn, lot_id)
    if holder is None:  # no lot recorded: the record in use of the member it was paid to
        holder = referrer if to else referred
    row = await (
        await conn.execute(
            "SELECT m.id, m.erased_at FROM member x JOIN member m "
            "ON m.id = coalesce(x.merged_into, x.id) WHERE x.id = %s",
            (holder,),
        )
    ).fetchone()
    if row is None or row[1] is not None:
        return None
    return int(row[0])


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
       (SELECT w.referrer_points FROM referral_reward w
         WHERE w.member_id = t.id AND w.reversed_at IS NULL),
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
            "SELECT coalesce(sum(referrer_points), 0) FROM referral_reward "
            "WHERE referrer_id = %s AND reversed_at IS NULL",
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
