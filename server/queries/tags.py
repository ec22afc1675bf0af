"""The tag registry: what a tag is, decided by the server (migration 0090).

* **Classification at ingest** (:func:`classify_visits`): a tag registered in ``tag`` (carts,
  baskets, staff badges, member cards) or inside a member card (``card``) is of the registered
  kind, whatever the edge's hint said. A tag the registry does not know keeps the edge's kind
  unless that is ``unknown``: then its visits are stored under a keyed-hash pseudonym and its
  pattern (scheme, company, object class; no serial) is recorded in ``unknown_tag``.
* **Registration** (:func:`register_tags`): a tag registered later re-classifies its stored
  visits (under its EPC or its pseudonym), rebuilds its trips and marks the days concerned dirty,
  so the daily facts are computed again (``server/rollup.py``).
* **Unknown tags** (:func:`unknown_tags`): their visits per reader and zone, the patterns seen
  most, and the goods reads the edge counted per reader (heartbeats).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.queries.staged import StagedVisit
from server.queries.trips import rebuild_trips
from server.rollup import mark_dirty
from storeflow.api.tags import (
    GoodsReads,
    Reclassified,
    RegisteredTag,
    TagIn,
    UnknownPattern,
    UnknownPlace,
    UnknownTags,
)
from storeflow.epc import epc_pattern
from storeflow.wire import SHOPPER_TAG_KINDS, TagKind

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "X"  # never a hex digit: a pseudonym is never mistaken for an EPC
_SHOPPER = {k.value for k in SHOPPER_TAG_KINDS}
_UNKNOWN = TagKind.UNKNOWN.value


async def _key(conn: AsyncConnection[Any]) -> bytes:
    cur = await conn.execute("SELECT key FROM tag_pseudonym_key WHERE id = 1")
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("tag_pseudonym_key is empty: was migration 0090 applied?")
    return bytes(row[0])


def pseudonym(key: bytes, epc: str) -> str:
    """The stored id of an unknown tag: 128 bits of HMAC-SHA256(key, EPC), after a marker."""
    digest = hmac.new(key, epc.upper().encode(), hashlib.sha256).hexdigest()[:32]
    return PSEUDONYM_PREFIX + digest.upper()


async def registry_kinds(conn: AsyncConnection[Any], epcs: Iterable[str]) -> dict[str, TagKind]:
    """The registered kind of each EPC the registry knows (``tag`` first, then ``card``)."""
    wanted = sorted(set(epcs))
    if not wanted:
        return {}
    cur = await conn.execute(
        "SELECT e.epc, coalesce(t.kind, CASE WHEN EXISTS "
        "(SELECT 1 FROM card c WHERE c.epc = e.epc) THEN 'member_card' END) "
        "FROM unnest(%b::text[]) AS e(epc) LEFT JOIN tag t ON t.epc = e.epc",
        (wanted,),
    )
    return {epc: TagKind(kind) for epc, kind in await cur.fetchall() if kind is not None}


async def classify_visits(
    conn: AsyncConnection[Any], visits: Sequence[StagedVisit]
) -> list[StagedVisit]:
    """The visits as they are stored: of the registry's kind, unknown tags under pseudonyms."""
    if not visits:
        return []
    known = {
        epc: kind.value
        for epc, kind in (await registry_kinds(conn, (v.epc for v in visits))).items()
    }
    out: list[StagedVisit] = []
    unknown: dict[tuple[str, str], tuple[str, datetime, datetime]] = {}
    key: bytes | None = None
    for v in visits:
        kind = known.get(v.epc, v.tag_kind)
        if kind == _UNKNOWN:
            key = key if key is not None else await _key(conn)
            p = pseudonym(key, v.epc)
            first, last = v.enter_at, v.exit_at
            seen = unknown.get((v.store_id, p))
            if seen is not None:
                first, last = min(first, seen[1]), max(last, seen[2])
            unknown[(v.store_id, p)] = (v.epc, first, last)
            out.append(v._replace(epc=p, tag_kind=kind))
        elif kind != v.tag_kind:
            out.append(v._replace(tag_kind=kind))
        else:
            out.append(v)
    if unknown:
        await _record_unknown(conn, unknown)
    return out


async def _record_unknown(
    conn: AsyncConnection[Any], seen: Mapping[tuple[str, str], tuple[str, datetime, datetime]]
) -> None:
    rows = []
    for (store_id, p), (epc, first, last) in sorted(seen.items()):
        pat = epc_pattern(epc)
        prefix = pat.hex_prefix if pat.scheme == "unknown" else ""
        rows.append(
            (store_id, p, pat.scheme, pat.bits, pat.company, pat.object_class, prefix, first, last)
        )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO unknown_tag AS u (store_id, pseudonym, scheme, bits, company, "
            "object_class, hex_prefix, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (store_id, pseudonym) "
            "DO UPDATE SET first_seen = least(u.first_seen, EXCLUDED.first_seen), "
            "last_seen = greatest(u.last_seen, EXCLUDED.last_seen)",
            rows,
        )


async def register_tags(
    conn: AsyncConnection[Any], store_id: str, tags: Sequence[TagIn], *, gap_s: float
) -> Reclassified:
    """Register (or re-register) tags for a store, then re-classify what was stored of them."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO tag AS t (epc, kind, store_id, label) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (epc) DO UPDATE SET kind = EXCLUDED.kind, store_id = EXCLUDED.store_id, "
            "label = coalesce(EXCLUDED.label, t.label), updated_at = now()",
            [(t.epc, t.kind.value, store_id, t.label) for t in tags],
        )
    result = await reclassify(conn, {t.epc: t.kind for t in tags}, stores=[store_id], gap_s=gap_s)
    return result.model_copy(update={"registered": len({t.epc for t in tags})})


async def reclassify(
    conn: AsyncConnection[Any],
    kinds: Mapping[str, TagKind],
    *,
    stores: Sequence[str] | None,
    gap_s: float,
) -> Reclassified:
    """Give the stored visits of ``kinds`` (EPC -> kind) that kind, in ``stores`` (None: every
    store), and rebuild their trips and the daily facts of the days concerned."""
    if not kinds:
        return Reclassified()
    key = await _key(conn)
    epcs = sorted(kinds)
    if stores is None:
        cur = await conn.execute("SELECT id FROM store")
        stores = [r[0] for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT DISTINCT store_id FROM unknown_tag WHERE pseudonym = ANY(%s)",
        ([pseudonym(key, e) for e in epcs],),
    )
    in_stores = sorted({*stores, *(r[0] for r in await cur.fetchall())})
    cur = await conn.execute(
        "WITH m AS (SELECT * FROM unnest(%(epc)s::text[], %(pseu)s::text[], %(kind)s::text[]) "
        "AS m(epc, pseudonym, kind)), "
        "k AS (SELECT s.store_id, m.epc, m.kind, x.stored FROM m "
        "CROSS JOIN unnest(%(stores)s::text[]) AS s(store_id) "
        "CROSS JOIN LATERAL (VALUES (m.epc), (m.pseudonym)) AS x(stored)) "
        "UPDATE zone_visit v SET epc = k.epc, tag_kind = k.kind FROM k "
        "WHERE v.store_id = k.store_id AND v.epc = k.stored "
        "AND (v.epc <> k.epc OR v.tag_kind <> k.kind) "
        "RETURNING v.store_id, v.epc, v.enter_at",
        {
            "epc": epcs,
            "pseu": [pseudonym(key, e) for e in epcs],
            "kind": [kinds[e].value for e in epcs],
            "stores": in_stores,
        },
    )
    changed = await cur.fetchall()
    await conn.execute(
        "DELETE FROM unknown_tag WHERE pseudonym = ANY(%s)", ([pseudonym(key, e) for e in epcs],)
    )
    earliest: dict[str, dict[str, datetime]] = {}
    for store_id, epc, enter_at in changed:
        per_store = earliest.setdefault(store_id, {})
        if epc not in per_store or enter_at < per_store[epc]:
            per_store[epc] = enter_at
    trips = 0
    for store_id, tags in earliest.items():
        shoppers = {e: t for e, t in tags.items() if kinds[e].value in _SHOPPER}
        others = [e for e in tags if e not in shoppers]
        times = [t for s, _, t in changed if s == store_id]
        if others:
            cur = await conn.execute(
                "DELETE FROM trip WHERE store_id = %s AND epc = ANY(%s) RETURNING start_at",
                (store_id, others),
            )
            times += [r[0] for r in await cur.fetchall()]
        trips += await rebuild_trips(conn, store_id=store_id, earliest=shoppers, gap_s=gap_s)
        # a trip may have started up to the gap before its first re-classified visit
        times += [t - timedelta(seconds=gap_s) for t in shoppers.values()]
        await mark_dirty(conn, store_id, times)
    logger.info(
        "re-classified %d stored visit(s) of %d tag(s); %d trip(s) rebuilt",
        len(changed),
        len(kinds),
        trips,
    )
    return Reclassified(visits=len(changed), trips=trips)


async def list_tags(
    conn: AsyncConnection[Any], store_id: str, kind: TagKind | None
) -> list[RegisteredTag]:
    cur = await conn.execute(
        "SELECT epc, kind, label, created_at, updated_at FROM tag WHERE store_id = %s "
        "AND (%s::text IS NULL OR kind = %s) ORDER BY kind, epc",
        (store_id, kind, kind),
    )
    return [
        RegisteredTag(epc=e, kind=TagKind(k), label=label, created_at=c, updated_at=u)
        for e, k, label, c, u in await cur.fetchall()
    ]


async def unknown_tags(
    conn: AsyncConnection[Any],
    store_id: str,
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int,
) -> UnknownTags:
    """Unknown tags of a store in ``[start, end)`` (None: open): where, which patterns, goods."""
    window = {"s": store_id, "lo": start, "hi": end, "limit": limit}
    in_window = (
        "v.store_id = %(s)s AND v.tag_kind = 'unknown' "
        "AND (%(lo)s::timestamptz IS NULL OR v.enter_at >= %(lo)s) "
        "AND (%(hi)s::timestamptz IS NULL OR v.enter_at < %(hi)s)"
    )
    cur = await conn.execute(
        f"SELECT count(*), count(DISTINCT v.epc) FROM zone_visit v WHERE {in_window}", window
    )
    row = await cur.fetchone()
    total_visits, total_tags = (int(row[0]), int(row[1])) if row else (0, 0)
    cur = await conn.execute(
        f"SELECT v.reader_id, v.zone, count(*), count(DISTINCT v.epc) FROM zone_visit v "
        f"WHERE {in_window} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        window,
    )
    places = [
        UnknownPlace(reader_id=r, zone=z, visits=n, tags=t) for r, z, n, t in await cur.fetchall()
    ]
    cur = await conn.execute(
        f"SELECT u.scheme, u.bits, u.company, u.object_class, nullif(u.hex_prefix, ''), "
        f"count(DISTINCT u.pseudonym), count(*), min(v.enter_at), max(v.exit_at) "
        f"FROM unknown_tag u JOIN zone_visit v ON v.store_id = u.store_id "
        f"AND v.epc = u.pseudonym WHERE u.store_id = %(s)s AND {in_window} "
        f"GROUP BY 1, 2, 3, 4, 5 ORDER BY 7 DESC, 6 DESC LIMIT %(limit)s",
        window,
    )
    patterns = [
        UnknownPattern(
            scheme=scheme,
            bits=bits,
            company=company,
            object_class=oc,
            hex_prefix=prefix,
            tags=tags,
            visits=visits,
            first_seen=first,
            last_seen=last,
        )
        for scheme, bits, company, oc, prefix, tags, visits, first, last in await cur.fetchall()
    ]
    cur = await conn.execute(
        "SELECT h.device_id, r.key, coalesce((r.value ->> 'goods_reads')::bigint, 0), h.sent_at "
        "FROM device_heartbeat h, jsonb_each(h.readers) AS r WHERE h.store_id = %s "
        "ORDER BY 1, 2",
        (store_id,),
    )
    goods = [
        GoodsReads(device_id=d, reader_id=r, reads=n, as_of=at)
        for d, r, n, at in await cur.fetchall()
    ]
    return UnknownTags(
        store_id=store_id,
        visits=total_visits,
        tags=total_tags,
        places=places,
        patterns=patterns,
        goods=goods,
    )
