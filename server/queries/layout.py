"""Store layouts: import a :class:`StoreLayout` into the layout tables, and read it back."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from storeflow.layout import StoreLayout


async def import_layout(conn: AsyncConnection[Any], layout: StoreLayout) -> None:
    """Replace the store's layout (zones, counters, readers, adjacency, antenna map) at once."""
    sid = layout.store.id
    await conn.execute(
        "INSERT INTO store (id, name, timezone, take_target_per_m2) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone, "
        "take_target_per_m2 = EXCLUDED.take_target_per_m2",
        (sid, layout.store.name, layout.store.timezone, layout.store.take_target_per_m2),
    )
    for table in ("antenna_zone", "reader", "counter", "zone_adjacency", "zone", "floor"):
        await conn.execute(f"DELETE FROM {table} WHERE store_id = %s", (sid,))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO floor (store_id, id, name, width_m, height_m) VALUES (%s, %s, %s, %s, %s)",
            [(sid, f.id, f.name, f.width_m, f.height_m) for f in layout.floors],
        )
        await cur.executemany(
            "INSERT INTO zone (store_id, code, name, kind, floor_id, polygon, area_m2) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (sid, z.code, z.name, z.kind.value, z.floor, Jsonb(z.polygon), z.area_m2)
                for z in layout.zones
            ],
        )
        await cur.executemany(
            "INSERT INTO zone_adjacency (store_id, zone_a, zone_b) VALUES (%s, %s, %s)",
            [(sid, z.code, other) for z in layout.zones for other in z.adjacent],
        )
        await cur.executemany(
            "INSERT INTO counter (store_id, code, name, brand, category, zone_code, area_m2, "
            "rent_per_m2, commission_rate) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    sid,
                    c.code,
                    c.name,
                    c.brand,
                    c.category,
                    c.zone,
                    c.area_m2,
                    c.rent_per_m2,
                    c.commission_rate,
                )
                for c in layout.counters
            ],
        )
        await cur.executemany(
            "INSERT INTO reader (store_id, id, protocol, floor_id) VALUES (%s, %s, %s, %s)",
            [(sid, r.id, r.protocol, r.floor) for r in layout.readers],
        )
        await cur.executemany(
            "INSERT INTO antenna_zone (store_id, reader_id, port, zone_code, x, y, valid_from, "
            "valid_to) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (sid, r.id, a.port, a.zone, a.position[0], a.position[1], a.valid_from, a.valid_to)
                for r in layout.readers
                for a in r.antennas
            ],
        )


async def list_stores(conn: AsyncConnection[Any]) -> list[dict[str, str]]:
    cur = await conn.execute("SELECT id, name, timezone FROM store ORDER BY id")
    return [{"id": i, "name": n, "timezone": tz} for i, n, tz in await cur.fetchall()]


async def load_layout(conn: AsyncConnection[Any], store_id: str) -> StoreLayout | None:
    cur = await conn.execute(
        "SELECT id, name, timezone, take_target_per_m2 FROM store WHERE id = %s", (store_id,)
    )
    store = await cur.fetchone()
    if store is None:
        return None
    floors = await (
        await conn.execute(
            "SELECT id, name, width_m, height_m FROM floor WHERE store_id = %s ORDER BY id",
            (store_id,),
        )
    ).fetchall()
    zones = await (
        await conn.execute(
            "SELECT code, name, kind, floor_id, polygon FROM zone WHERE store_id = %s "
            "ORDER BY code",
            (store_id,),
        )
    ).fetchall()
    adj = await (
        await conn.execute(
            "SELECT zone_a, zone_b FROM zone_adjacency WHERE store_id = %s", (store_id,)
        )
    ).fetchall()
    counters = await (
        await conn.execute(
            "SELECT code, name, brand, category, zone_code, area_m2, rent_per_m2, "
            "commission_rate FROM counter "
            "WHERE store_id = %s ORDER BY code",
            (store_id,),
        )
    ).fetchall()
    readers = await (
        await conn.execute(
            "SELECT id, protocol, floor_id FROM reader WHERE store_id = %s ORDER BY id", (store_id,)
        )
    ).fetchall()
    antennas = await (
        await conn.execute(
            "SELECT reader_id, port, zone_code, x, y, valid_from, valid_to FROM antenna_zone "
            "WHERE store_id = %s ORDER BY reader_id, port, valid_from NULLS FIRST",
            (store_id,),
        )
    ).fetchall()
    neighbours: dict[str, list[str]] = {}
    for a, b in adj:
        neighbours.setdefault(a, []).append(b)
    doc: dict[str, Any] = {
        "store": {
            "id": store[0],
            "name": store[1],
            "timezone": store[2],
            "take_target_per_m2": store[3],
        },
        "floors": [{"id": f[0], "name": f[1], "width_m": f[2], "height_m": f[3]} for f in floors],
        "zones": [
            {
                "code": z[0],
                "name": z[1],
                "kind": z[2],
                "floor": z[3],
                "polygon": z[4],
                "adjacent": sorted(neighbours.get(z[0], [])),
            }
            for z in zones
        ],
        "counters": [
            {
                "code": c[0],
                "name": c[1],
                "brand": c[2],
                "category": c[3],
                "zone": c[4],
                "area_m2": c[5],
                "rent_per_m2": c[6],
                "commission_rate": c[7],
            }
            for c in counters
        ],
        "readers": [
            {
                "id": r[0],
                "protocol": r[1],
                "floor": r[2],
                "antennas": [
                    {
                        "port": a[1],
                        "zone": a[2],
                        "position": [a[3], a[4]],
                        "valid_from": a[5],
                        "valid_to": a[6],
                    }
                    for a in antennas
                    if a[0] == r[0]
                ],
            }
            for r in readers
        ],
    }
    return StoreLayout.model_validate(doc)
