"""In-store tracking consent, enforced where visits arrive and when consent goes.

* :func:`tracking_renames` runs on each ingest batch (on its distinct tags, before the visits are
  stored): a tag sent as an edge pseudonym is matched to its registered card by the same keyed
  hash; then the tag of a member card whose member may not be tracked (no consent, withdrawn,
  erased) is replaced by a pseudonym under the server secret (:func:`substitutions`, the rule).
  Its visits and trips still count in every aggregate, as a tag nobody is linked to.
* :func:`forget_member_tracking` runs when a member withdraws (and on erasure): past visits and
  trips of the member's tags move to the same pseudonym and the member's sales lose their trip.
  Daily facts already computed are left as they are (they hold counts, not people).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from server.privacy.consent import Purpose, allowed_members, denied_members
from server.privacy.keys import Hasher, PrivacyKeys, hasher
from server.queries.trips import rebuild_trips
from storeflow.pseudonym import edge_epc, key_id

logger = logging.getLogger(__name__)


async def refresh_edge_aliases(conn: AsyncConnection[Any], key: bytes) -> None:
    """Record the edge pseudonym of every registered card tag that has none under ``key``."""
    kid = key_id(key)
    cur = await conn.execute(
        "SELECT DISTINCT c.epc FROM card c WHERE c.epc IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM card_epc_alias a WHERE a.key_id = %s AND a.epc = c.epc)",
        (kid,),
    )
    rows = [(kid, edge_epc(key, epc), epc) for (epc,) in await cur.fetchall()]
    if rows:
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO card_epc_alias (key_id, alias, epc) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                rows,
            )


async def substitutions(
    conn: AsyncConnection[Any], epcs: list[str], hasher: Hasher
) -> dict[str, str]:
    """Tag -> the pseudonym to store it under, for the member-card tags that may not be tracked."""
    if not epcs:
        return {}
    by_hash = {hasher.erased_epc(e): e for e in epcs}
    async with conn.pipeline():  # the two look-ups in one round trip
        # the tags as binary arrays: a text array checks each element for quoting
        owners = await conn.execute(
            "SELECT DISTINCT ON (epc) epc, member_id FROM card WHERE epc = ANY(%b::text[]) "
            "ORDER BY epc, (status = 'active') DESC, issued_at DESC",
            (epcs,),
        )
        erased = await conn.execute(
            "SELECT epc FROM card WHERE epc = ANY(%b::text[])", (list(by_hash),)
        )
    owner = {epc: int(mid) for epc, mid in await owners.fetchall()}
    allowed = (
        await allowed_members(conn, Purpose.IN_STORE_TRACKING, sorted(set(owner.values())))
        if owner
        else set()
    )
    out = {epc: hasher.untracked_epc(epc) for epc, mid in owner.items() if mid not in allowed}
    # a tag whose card was erased: the card now holds the tag's keyed hash
    for (h,) in await erased.fetchall():
        if by_hash[h] not in owner:
            out[by_hash[h]] = hasher.untracked_epc(by_hash[h])
    return out


async def tracking_renames(
    conn: AsyncConnection[Any], epcs: Collection[str], keys: PrivacyKeys
) -> dict[str, str]:
    """Apply tracking consent to a batch's distinct tags: tag as sent -> the tag to store it
    under, for the tags that change (an edge pseudonym resolved to its card's tag, then a member
    card that may not be tracked to its pseudonym); a tag not in the answer is stored as sent."""
    if not epcs:
        return {}
    resolved: dict[str, str] = {}
    if keys.edge_epc_key:
        await refresh_edge_aliases(conn, keys.edge_epc_key)
        cur = await conn.execute(
            "SELECT alias, epc FROM card_epc_alias WHERE key_id = %s AND alias = ANY(%b::text[])",
            (key_id(keys.edge_epc_key), list(epcs)),
        )
        resolved = dict(await cur.fetchall())
    tags = {e: resolved.get(e, e) for e in epcs}
    subs = await substitutions(conn, sorted(set(tags.values())), await hasher(conn, keys))
    out = {}
    for sent, tag in tags.items():
        stored = subs.get(tag, tag)
        if stored != sent:
            out[sent] = stored
    return out


async def member_group(conn: AsyncConnection[Any], member_id: int) -> list[int]:
    """The member's record in use and every record merged into it."""
    cur = await conn.execute(
        "SELECT id FROM member WHERE coalesce(merged_into, id) = (SELECT coalesce(merged_into, "
        "id) FROM member WHERE id = %s) ORDER BY id",
        (member_id,),
    )
    return [int(r[0]) for r in await cur.fetchall()]


async def forget_member_tracking(
    conn: AsyncConnection[Any], member_id: int, hasher: Hasher, *, gap_s: float
) -> dict[str, int]:
    """Unlink the member's floor data: trips off their sales, tags to the untracked pseudonym."""
    group = await member_group(conn, member_id)
    cur = await conn.execute(
        "UPDATE purchase SET trip_id = NULL WHERE member_id = ANY(%s) AND trip_id IS NOT NULL",
        (group,),
    )
    unlinked = cur.rowcount
    cur = await conn.execute(
        "SELECT epc, ended_at FROM card WHERE member_id = ANY(%s) AND epc IS NOT NULL", (group,)
    )
    visits = trips = 0
    earliest: dict[str, dict[str, datetime]] = defaultdict(dict)
    for epc, ended_at in await cur.fetchall():
        alias = hasher.untracked_epc(epc)
        cur = await conn.execute(
            "UPDATE zone_visit SET epc = %s WHERE epc = %s "
            "AND (%s::timestamptz IS NULL OR enter_at < %s) RETURNING store_id, enter_at",
            (alias, epc, ended_at, ended_at),
        )
        for store_id, enter_at in await cur.fetchall():
            visits += 1
            seen = earliest[store_id].get(alias)
            if seen is None or enter_at < seen:
                earliest[store_id][alias] = enter_at
        cur = await conn.execute(
            "DELETE FROM trip WHERE epc = %s AND (%s::timestamptz IS NULL OR start_at < %s) "
            "RETURNING trip_id",
            (epc, ended_at, ended_at),
        )
        gone = [r[0] for r in await cur.fetchall()]
        trips += len(gone)
        if gone:
            cur = await conn.execute(
                "UPDATE purchase SET trip_id = NULL WHERE trip_id = ANY(%s)", (gone,)
            )
            unlinked += cur.rowcount
    for store_id, tags in earliest.items():
        await rebuild_trips(conn, store_id=store_id, earliest=tags, gap_s=gap_s)
    logger.info(
        "tracking of member %s forgotten: %s visits and %s trips now pseudonymous, "
        "%s sales unlinked",
        member_id,
        visits,
        trips,
        unlinked,
    )
    return {"visits": visits, "trips": trips, "sales_unlinked": unlinked}


async def catch_up(conn: AsyncConnection[Any], hasher: Hasher, *, gap_s: float) -> int:
    """Unlink members who may not be tracked but still have floor data under their tag or a sale
    linked to a trip (data stored before consents were enforced); returns how many."""
    denied = await denied_members(conn, Purpose.IN_STORE_TRACKING)
    cur = await conn.execute(
        "SELECT DISTINCT coalesce(m.merged_into, m.id) FROM member m WHERE m.id = ANY(%(d)s) AND ("
        "EXISTS (SELECT 1 FROM purchase p WHERE p.member_id = m.id AND p.trip_id IS NOT NULL) OR "
        "EXISTS (SELECT 1 FROM card c JOIN trip t ON t.epc = c.epc WHERE c.member_id = m.id) OR "
        "EXISTS (SELECT 1 FROM card c JOIN zone_visit v ON v.epc = c.epc "
        "WHERE c.member_id = m.id))",
        {"d": denied},
    )
    todo = [int(r[0]) for r in await cur.fetchall()]
    for member_id in todo:
        await forget_member_tracking(conn, member_id, hasher, gap_s=gap_s)
    return len(todo)
