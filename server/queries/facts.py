"""Reading the daily facts (server/rollup.py) for a planner's selection: days, segments, floor.

A selection is whole store-local days ``[first, last]``; its ``start``/``end`` are the local
midnights around them. The facts of those days are brought up to date first (see
:func:`server.rollup.ensure_fresh`), so every read below is a scan of small tables.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from server import histogram
from server.errors import InvalidRequest
from server.rollup import day_bounds, ensure_fresh, store_timezone

DEFAULT_DAYS = 7
EARLIEST = date(1970, 1, 1)  # selections (and the baselines before them) stay in range
LATEST = date(2999, 12, 31)


@dataclass(frozen=True, slots=True)
class Selection:
    store_id: str
    first: date
    last: date
    tz: str
    segments: tuple[str, ...] | None = None  # None: every shopper
    floor: str | None = None  # None: every floor

    @property
    def start(self) -> datetime:
        return day_bounds(self.first, self.tz).lo

    @property
    def end(self) -> datetime:
        return day_bounds(self.last, self.tz).hi

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def shifted(self, days: int) -> Selection:
        d = timedelta(days=days)
        return replace(self, first=self.first + d, last=self.last + d)

    def params(self) -> dict[str, Any]:
        return {
            "s": self.store_id,
            "d0": self.first,
            "d1": self.last,
            "segs": list(self.segments) if self.segments else None,
            "floor": self.floor,
        }


SEGMENT_SQL = "(%(segs)s::text[] IS NULL OR segment = ANY(%(segs)s))"
FLOOR_ZONE_SQL = (
    "(%(floor)s::text IS NULL OR {col} IN "
    "(SELECT code FROM zone WHERE store_id = %(s)s AND floor_id = %(floor)s))"
)
FLOOR_COUNTER_SQL = (
    "(%(floor)s::text IS NULL OR {col} IN (SELECT c.code FROM counter c JOIN zone z "
    "ON z.store_id = c.store_id AND z.code = c.zone_code "
    "WHERE c.store_id = %(s)s AND z.floor_id = %(floor)s))"
)


async def latest_day(conn: AsyncConnection[Any], store_id: str, tz: str) -> date:
    cur = await conn.execute(
        "SELECT max(enter_at) FROM zone_visit WHERE store_id = %s", (store_id,)
    )
    row = await cur.fetchone()
    latest = row[0] if row and row[0] is not None else datetime.now().astimezone()
    local: date = latest.astimezone(ZoneInfo(tz)).date()
    return local


async def select(
    conn: AsyncConnection[Any],
    store_id: str,
    start: datetime | date | None,
    end: datetime | date | None,
    *,
    segments: tuple[str, ...] | None = None,
    floor: str | None = None,
    staleness_s: float = 0.0,
    max_days: int | None = None,
) -> Selection:
    """The days from ``start``'s local day to the day before ``end`` (``end`` is exclusive;
    default: the day of the latest visit), ``DEFAULT_DAYS`` days when ``start`` is missing.
    A selection of more than ``max_days`` days, or outside the years ``EARLIEST``..``LATEST``,
    is an :class:`InvalidRequest`."""
    tz = await store_timezone(conn, store_id)
    zone = ZoneInfo(tz)

    def local(value: datetime | date) -> tuple[date, bool]:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=zone)
            try:
                loc = value.astimezone(zone)
            except OverflowError as exc:
                raise InvalidRequest(f"dates must lie between {EARLIEST} and {LATEST}") from exc
            return loc.date(), loc.time() == datetime.min.time()
        return value, True

    if end is None:
        last = await latest_day(conn, store_id, tz)
    else:
        d, at_midnight = local(end)
        last = d - timedelta(days=1) if at_midnight else d
    first = local(start)[0] if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidRequest("end must be after start")
    if first < EARLIEST or last > LATEST:
        raise InvalidRequest(f"dates must lie between {EARLIEST} and {LATEST}")
    if max_days is not None and (last - first).days + 1 > max_days:
        raise InvalidRequest(f"a selection may span at most {max_days} days")
    sel = Selection(store_id, first, last, tz, segments or None, floor or None)
    await ensure_fresh(conn, store_id, first, last, staleness_s=staleness_s)
    return sel


class HasParams(Protocol):
    def params(self) -> dict[str, Any]: ...


class Bound:
    """A selection's parameters with extra named values (``lo``/``hi``: its instants)."""

    def __init__(self, sel: Selection, **extra: Any) -> None:
        self.sel, self.extra = sel, extra

    def params(self) -> dict[str, Any]:
        return {**self.sel.params(), "lo": self.sel.start, "hi": self.sel.end, **self.extra}


async def rows(conn: AsyncConnection[Any], sql: str, sel: HasParams) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, sel.params())
    return list(await cur.fetchall())


async def histograms(
    conn: AsyncConnection[Any], table: str, key: str, sel: Selection, *, floor_sql: str
) -> dict[str, dict[int, int]]:
    """Per ``key`` (zone or counter) the summed dwell histogram of the selection."""
    sql = (
        f"SELECT {key}, bin, sum(n)::int FROM {table} "
        f"WHERE store_id = %(s)s AND day BETWEEN %(d0)s AND %(d1)s AND {SEGMENT_SQL} "
        f"AND {floor_sql.format(col=key)} GROUP BY {key}, bin"
    )
    out: dict[str, dict[int, int]] = {}
    for k, b, n in await rows(conn, sql, sel):
        out.setdefault(k, {})[b] = n
    return out


def quantiles(hist: dict[int, int]) -> tuple[float | None, float | None]:
    return histogram.percentile(hist, 0.5), histogram.percentile(hist, 0.9)
