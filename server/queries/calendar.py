"""The store's calendar: events recorded by planners (``store_event``) and the days the
antenna mapping changed (the layout's validity periods), in one list by day."""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import AsyncConnection

from server.errors import InvalidRequest, NotFound
from server.queries.experiments import layout_changes
from storeflow.api.calendar import EventIn, StoreEvent

_COLUMNS = "id, kind, title, first_day, last_day, counters"


def _event(row: tuple[Any, ...]) -> StoreEvent:
    i, kind, title, first, last, counters = row
    return StoreEvent(
        id=i,
        kind=kind,
        title=title,
        first_day=first,
        last_day=last,
        counters=list(counters),
        source="recorded",
    )


async def add_event(
    conn: AsyncConnection[Any], store_id: str, event: EventIn, *, recorded_by: str
) -> StoreEvent:
    """Record an event; its counters must be the store's."""
    cur = await conn.execute(
        "SELECT s.id, array_agg(c.code) FILTER (WHERE c.code IS NOT NULL) FROM store s "
        "LEFT JOIN counter c ON c.store_id = s.id WHERE s.id = %s GROUP BY s.id",
        (store_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"store {store_id!r} not found")
    known = set(row[1] or [])
    unknown = sorted(set(event.counters) - known)
    if unknown:
        raise InvalidRequest(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a counter of "
            f"this store (its counters: {', '.join(sorted(known)) or 'none'})"
        )
    cur = await conn.execute(
        "INSERT INTO store_event (store_id, kind, title, first_day, last_day, counters, "
        f"recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (
            store_id,
            event.kind,
            event.title,
            event.first_day,
            event.last_day or event.first_day,
            sorted(set(event.counters)),
            recorded_by,
        ),
    )
    got = await cur.fetchone()
    assert got is not None
    return _event(got)


async def delete_event(conn: AsyncConnection[Any], store_id: str, event_id: int) -> StoreEvent:
    cur = await conn.execute(
        f"DELETE FROM store_event WHERE store_id = %s AND id = %s RETURNING {_COLUMNS}",
        (store_id, event_id),
    )
    got = await cur.fetchone()
    if got is None:
        raise NotFound(f"no event {event_id} in the calendar of store {store_id!r}")
    return _event(got)


async def events(
    conn: AsyncConnection[Any], store_id: str, tz: str, first: date, last: date
) -> list[StoreEvent]:
    """Events overlapping ``[first, last]``, recorded and from the layout, by first day."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM store_event WHERE store_id = %s AND first_day <= %s "
        "AND last_day >= %s ORDER BY first_day, id",
        (store_id, last, first),
    )
    out = [_event(r) for r in await cur.fetchall()]
    for change in await layout_changes(conn, store_id, tz):
        if first <= change.day <= last:
            out.append(
                StoreEvent(
                    id=None,
                    kind="layout_change",
                    title="Antenna mapping changed: " + ", ".join(change.antennas),
                    first_day=change.day,
                    last_day=change.day,
                    counters=[],
                    source="layout",
                )
            )
    return sorted(out, key=lambda e: (e.first_day, e.id or 0))
