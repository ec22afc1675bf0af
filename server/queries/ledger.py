"""The points ledger and its lots in the database: the only code that touches either table.

Entries are made by the pure builders in :mod:`server.loyalty.points`, which enforce the
ledger's rules; :func:`append_entries` stores a batch of them for one member and keeps every lot
they touch in step (a lot-creating entry inserts its lot, the others lower ``remaining``), in the
caller's transaction. The caller holds the lock that serialises the member's points (the member
row, or the lots for the expiry job). The ledger itself refuses UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from server.loyalty import LedgerEntry, Lot, lot_changes

logger = logging.getLogger(__name__)


async def new_lot_id(conn: AsyncConnection[Any]) -> str:
    """An id for a lot an entry is about to create (drawn from the lots' own sequence)."""
    row = await (
        await conn.execute("SELECT nextval(pg_get_serial_sequence('points_lot', 'id'))")
    ).fetchone()
    assert row is not None
    return str(row[0])


async def append_entries(
    conn: AsyncConnection[Any],
    member_id: int,
    entries: Sequence[LedgerEntry],
    *,
    purchase_id: int | None = None,
) -> None:
    """Append ``entries`` (in order) to ``member_id``'s ledger and apply them to the lots.

    ``purchase_id`` is the sale that earned the lots this batch creates, if any. Raises
    ``ValueError`` when an entry takes from a lot that is not the member's.
    """
    if not entries:
        return
    changes = lot_changes(entries)
    if changes.created:
        new = changes.created
        await conn.execute(
            "INSERT INTO points_lot (id, member_id, earned_at, expires_at, points, remaining, "
            "purchase_id) SELECT n.id, %s, n.earned_at, n.expires_at, n.points, n.remaining, %s "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::int[], "
            "%s::int[]) AS n(id, earned_at, expires_at, points, remaining)",
            (
                member_id,
                purchase_id,
                [int(lot.lot_id) for lot in new],
                [lot.earned_at for lot in new],
                [lot.expires_at for lot in new],
                [lot.points for lot in new],
                [lot.remaining for lot in new],
            ),
        )
    if changes.taken:
        cur = await conn.execute(
            "UPDATE points_lot l SET remaining = l.remaining - t.points "
            "FROM unnest(%s::bigint[], %s::int[]) AS t(id, points) "
            "WHERE l.id = t.id AND l.member_id = %s",
            ([int(i) for i in changes.taken], list(changes.taken.values()), member_id),
        )
        if cur.rowcount != len(changes.taken):
            raise ValueError(
                f"entries take from lots {sorted(changes.taken)} of which only {cur.rowcount} "
                f"belong to member {member_id}"
            )
    await conn.execute(
        "INSERT INTO points_ledger (member_id, kind, points, lot_id, at, actor, reason, ref) "
        "SELECT %s, e.kind, e.points, e.lot_id, e.at, e.actor, e.reason, e.ref "
        "FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::timestamptz[], %s::text[], "
        "%s::text[], %s::text[]) WITH ORDINALITY AS e(kind, points, lot_id, at, actor, reason, "
        "ref, n) ORDER BY e.n",
        (
            member_id,
            [e.kind for e in entries],
            [e.points for e in entries],
            [None if e.lot_id is None else int(e.lot_id) for e in entries],
            [e.at for e in entries],
            [e.actor for e in entries],
            [e.reason for e in entries],
            [e.ref for e in entries],
        ),
    )
    logger.debug("member %s: %s ledger entries appended", member_id, len(entries))


async def move_lots(conn: AsyncConnection[Any], source: int, into: int) -> None:
    """A merge: ``source``'s lots become ``into``'s. The ledger rows stay where they are (it is
    append-only); :func:`balance` and :func:`owed` count every record merged into a member."""
    await conn.execute("UPDATE points_lot SET member_id = %s WHERE member_id = %s", (into, source))


async def balance(conn: AsyncConnection[Any], member_id: int) -> int:
    """The member's points: the sum of its ledger and of every record merged into it."""
    row = await (
        await conn.execute(
            "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE member_id IN "
            "(SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            (member_id, member_id),
        )
    ).fetchone()
    return int(row[0]) if row else 0


async def lots(conn: AsyncConnection[Any], member_id: int) -> list[Lot]:
    """The member's lots with points left (expired ones included, for the rules to judge)."""
    rows = await (
        await conn.execute(
            "SELECT id, earned_at, expires_at, points, remaining FROM points_lot "
            "WHERE member_id = %s AND remaining > 0 ORDER BY expires_at, id",
            (member_id,),
        )
    ).fetchall()
    return [Lot(str(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


async def due_lots(conn: AsyncConnection[Any], *, as_of: datetime) -> dict[int, list[Lot]]:
    """Lots past their expiry at ``as_of`` with points left, by member, locked for the job."""
    rows = await (
        await conn.execute(
            "SELECT member_id, id, earned_at, expires_at, points, remaining FROM points_lot "
            "WHERE expires_at <= %s AND remaining > 0 ORDER BY id FOR UPDATE",
            (as_of,),
        )
    ).fetchall()
    by_member: defaultdict[int, list[Lot]] = defaultdict(list)
    for r in rows:
        by_member[int(r[0])].append(Lot(str(r[1]), r[2], r[3], r[4], r[5]))
    return dict(by_member)


async def expiring(
    conn: AsyncConnection[Any], *, start: datetime, end: datetime
) -> list[tuple[int, int, datetime]]:
    """Points in lots earned before ``start`` that expire in ``[start, end)`` with points left:
    ``member_id, points, first expiry`` per member not erased (merges move the lots).
    Points left are those of now, so for a past ``start`` they may since have been spent."""
    rows = await (
        await conn.execute(
            "SELECT l.member_id, sum(l.remaining)::int, min(l.expires_at) FROM points_lot l "
            "JOIN member m ON m.id = l.member_id AND m.erased_at IS NULL "
            "WHERE l.expires_at >= %s AND l.expires_at < %s AND l.earned_at < %s "
            "AND l.remaining > 0 GROUP BY l.member_id ORDER BY l.member_id",
            (start, end, start),
        )
    ).fetchall()
    return [(int(m), int(p), at) for m, p, at in rows]


async def purchase_lot_ids(conn: AsyncConnection[Any], purchase_id: int) -> set[str]:
    """The lots a purchase's points went into."""
    rows = await (
        await conn.execute("SELECT id FROM points_lot WHERE purchase_id = %s", (purchase_id,))
    ).fetchall()
    return {str(r[0]) for r in rows}


async def lot_holder(conn: AsyncConnection[Any], lot_id: int) -> int | None:
    """The member lot ``lot_id`` belongs to now (a merge moves lots); None for no such lot."""
    row = await (
        await conn.execute("SELECT member_id FROM points_lot WHERE id = %s", (lot_id,))
    ).fetchone()
    return None if row is None else int(row[0])


async def owed(conn: AsyncConnection[Any], member_id: int) -> int:
    """Points the member (and the records merged into it) owes: minus the lot-less entries."""
    row = await (
        await conn.execute(
            "SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE lot_id IS NULL AND "
            "member_id IN (SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            (member_id, member_id),
        )
    ).fetchone()
    return int(row[0]) if row else 0


# -------------------------------------------------------------------- data rights (server/privacy)

# The ledger's personal data, for the record of processing.
PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    "points_ledger": {"member_id": "points", "points": "points", "at": "points"},
    "points_lot": {"member_id": "points", "points": "points", "purchase_id": "purchases"},
}


async def member_entries(conn: AsyncConnection[Any], member_ids: list[int]) -> list[dict[str, Any]]:
    """The ledger entries of ``member_ids`` (a member and its merged records), oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, member_id, kind, points, lot_id, at, reason, ref FROM points_ledger "
            "WHERE member_id = ANY(%s) ORDER BY at, id",
            (member_ids,),
        )
        return list(await cur.fetchall())


async def member_lots(conn: AsyncConnection[Any], member_ids: list[int]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, earned_at, expires_at, points, remaining, purchase_id FROM points_lot "
            "WHERE member_id = ANY(%s) ORDER BY earned_at, id",
            (member_ids,),
        )
        return list(await cur.fetchall())


async def forget_purchases(conn: AsyncConnection[Any], purchase_ids: list[int]) -> None:
    """Before purchases are deleted (retention): their lots keep the points, not the sale."""
    await conn.execute(
        "UPDATE points_lot SET purchase_id = NULL WHERE purchase_id = ANY(%s)", (purchase_ids,)
    )
