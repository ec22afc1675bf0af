"""Retention: how long each kind of data is kept, and the purge that enforces it.

Periods (settings, in days): anonymous visits (carts, baskets, untracked member tags),
member-linked visits (a registered card's tag), purchases of erased members, audit entries
(access log, purge log, completed requests), members' class snapshots (``member_stage``, the
stage history; by their store-local day). The purge runs in the server on a schedule and from
``storeflow db purge``; each run is a row in ``privacy_purge_run`` and a log line.

Visits and trips go by whole store-local days. Before a day loses raw data its daily facts are
brought up to date, and the day is sealed (``retention_seal``): a later mark cannot make it be
re-computed from what is left, so purging never zeroes the facts. With TimescaleDB the hypertables
also get a retention policy (server/timescale.py) a little longer than the longest visit period;
plain PostgreSQL deletes day by day.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from server.privacy.keys import PrivacyKeys, hasher
from server.privacy.tracking import catch_up
from server.queries import ledger
from server.queries import privacy as log
from server.rollup import refresh_days, store_timezone
from server.settings import Settings
from server.timescale import ensure_retention_policies, timescale_in_use

logger = logging.getLogger(__name__)

_MEMBER_TAG = "epc IN (SELECT epc FROM card WHERE epc IS NOT NULL)"


@dataclass(frozen=True, slots=True)
class Retention:
    anonymous_visits_days: int = 395
    member_visits_days: int = 180
    erased_purchases_days: int = 3650
    audit_days: int = 1095
    class_history_days: int = 730

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            anonymous_visits_days=settings.retain_anonymous_visits_days,
            member_visits_days=settings.retain_member_visits_days,
            erased_purchases_days=settings.retain_erased_purchases_days,
            audit_days=settings.retain_audit_days,
            class_history_days=settings.retain_class_history_days,
        )

    def as_days(self) -> dict[str, int]:
        return asdict(self)

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Data older than these instants is past its period."""
        return {k.removesuffix("_days"): now - timedelta(days=v) for k, v in asdict(self).items()}


def first_kept_day(cutoff: datetime, tz: str) -> date:
    """Whole days only: days before the store-local day of ``cutoff`` are purged."""
    return cutoff.astimezone(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    run_id: int
    cutoffs: dict[str, str]
    deleted: dict[str, int]


async def _stores(conn: AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute(
        "SELECT id FROM store UNION SELECT DISTINCT store_id FROM rollup_day ORDER BY 1"
    )
    return [r[0] for r in await cur.fetchall()]


async def _seal(conn: AsyncConnection[Any], store_id: str, before: date) -> None:
    """Bring the facts of the days before ``before`` up to date, then seal those days."""
    cur = await conn.execute(
        "SELECT day FROM rollup_day WHERE store_id = %s AND dirty_since IS NOT NULL AND day < %s "
        "ORDER BY day",
        (store_id, before),
    )
    await refresh_days(conn, store_id, [r[0] for r in await cur.fetchall()])
    await conn.execute(
        "INSERT INTO retention_seal AS s (store_id, sealed_before) VALUES (%s, %s) "
        "ON CONFLICT (store_id) DO UPDATE SET sealed_before = greatest(s.sealed_before, "
        "EXCLUDED.sealed_before)",
        (store_id, before),
    )
    await conn.commit()


async def _purge_day(
    conn: AsyncConnection[Any], store_id: str, lo: datetime, hi: datetime, which: str
) -> tuple[int, int]:
    """Delete one day's visits and trips of one kind of tag (``which``: SQL on ``epc``)."""
    cur = await conn.execute(
        f"DELETE FROM zone_visit WHERE store_id = %s AND enter_at >= %s AND enter_at < %s "
        f"AND {which}",
        (store_id, lo, hi),
    )
    visits = cur.rowcount
    cur = await conn.execute(
        f"DELETE FROM trip WHERE store_id = %s AND start_at >= %s AND start_at < %s AND {which} "
        "RETURNING trip_id",
        (store_id, lo, hi),
    )
    gone = [r[0] for r in await cur.fetchall()]
    if gone:
        await conn.execute("UPDATE purchase SET trip_id = NULL WHERE trip_id = ANY(%s)", (gone,))
    await conn.commit()
    return visits, len(gone)


async def _purge_visits(
    conn: AsyncConnection[Any], store_id: str, tz: str, kept: dict[str, date]
) -> dict[str, int]:
    out = {"member_visits": 0, "member_trips": 0, "anonymous_visits": 0, "anonymous_trips": 0}
    last = max(kept.values())
    cur = await conn.execute(
        "SELECT min(enter_at) FROM zone_visit WHERE store_id = %s AND enter_at < %s",
        (store_id, day_start(last, tz)),
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return out
    day = first_kept_day(row[0], tz)
    while day < last:
        lo, hi = day_start(day, tz), day_start(day + timedelta(days=1), tz)
        for kind, which in (("member", _MEMBER_TAG), ("anonymous", f"NOT {_MEMBER_TAG}")):
            if day < kept[kind]:
                v, t = await _purge_day(conn, store_id, lo, hi, which)
                out[f"{kind}_visits"] += v
                out[f"{kind}_trips"] += t
        day += timedelta(days=1)
    return out


async def _purge_erased_purchases(conn: AsyncConnection[Any], cutoff: datetime) -> int:
    cur = await conn.execute(
        "SELECT p.id FROM purchase p JOIN member m ON m.id = p.member_id "
        "WHERE m.erased_at IS NOT NULL AND p.at < %s",
        (cutoff,),
    )
    ids = [r[0] for r in await cur.fetchall()]
    if not ids:
        return 0
    await conn.execute(
        "DELETE FROM purchase_return_line WHERE return_pk IN (SELECT id FROM purchase_return "
        "WHERE purchase_id = ANY(%s))",
        (ids,),
    )
    await conn.execute("DELETE FROM purchase_return WHERE purchase_id = ANY(%s)", (ids,))
    await conn.execute("DELETE FROM purchase_line WHERE purchase_id = ANY(%s)", (ids,))
    await ledger.forget_purchases(conn, ids)  # entries and balances stay
    cur = await conn.execute("DELETE FROM purchase WHERE id = ANY(%s)", (ids,))
    await conn.commit()
    return cur.rowcount


async def _purge_class_history(conn: AsyncConnection[Any], cutoff: datetime) -> int:
    """Class snapshots of store-local days before the day of ``cutoff`` (in each store's zone)."""
    cur = await conn.execute(
        "DELETE FROM member_stage s WHERE s.as_of < (%s::timestamptz AT TIME ZONE coalesce("
        "(SELECT timezone FROM store WHERE id = s.store_id), 'UTC'))::date",
        (cutoff,),
    )
    await conn.commit()
    return cur.rowcount


async def _purge_audit(conn: AsyncConnection[Any], cutoff: datetime, run_id: int) -> int:
    n = 0
    for sql in (
        "DELETE FROM privacy_access_log WHERE at < %s",
        "DELETE FROM privacy_request WHERE completed_at < %s",
        "DELETE FROM privacy_purge_run WHERE finished_at < %s AND id <> %s",
    ):
        cur = await conn.execute(sql, (cutoff, run_id) if "%s AND id" in sql else (cutoff,))
        n += cur.rowcount
    await conn.commit()
    return n


async def purge(
    conn: AsyncConnection[Any],
    retention: Retention,
    *,
    trigger: str,
    now: datetime | None = None,
    keys: PrivacyKeys | None = None,
    trip_gap_s: float = 1800.0,
) -> PurgeReport:
    """Delete what is past its period; commits as it goes; logs the run (table and log line).

    First it catches up on tracking consent: members who may not be tracked but still have floor
    data or linked sales from before consents were enforced are unlinked (``tracking.catch_up``).
    """
    now = now or datetime.now(UTC)
    cutoffs = retention.cutoffs(now)
    shown = {k: v.isoformat() for k, v in cutoffs.items()}
    await conn.rollback()  # start clean: this job commits step by step
    run_id = await log.start_purge_run(conn, trigger, shown)
    await conn.commit()
    deleted: dict[str, int] = {}
    try:
        deleted["untracked_members_unlinked"] = await catch_up(
            conn, await hasher(conn, keys or PrivacyKeys()), gap_s=trip_gap_s
        )
        await conn.commit()
        if await timescale_in_use(conn):
            await ensure_retention_policies(
                conn, days=max(retention.anonymous_visits_days, retention.member_visits_days) + 2
            )
            await conn.commit()
        for store_id in await _stores(conn):
            tz = await store_timezone(conn, store_id)
            kept = {
                "member": first_kept_day(cutoffs["member_visits"], tz),
                "anonymous": first_kept_day(cutoffs["anonymous_visits"], tz),
            }
            erased = first_kept_day(cutoffs["erased_purchases"], tz)
            await _seal(conn, store_id, max(*kept.values(), erased))
            for k, v in (await _purge_visits(conn, store_id, tz, kept)).items():
                deleted[k] = deleted.get(k, 0) + v
        deleted["erased_member_purchases"] = await _purge_erased_purchases(
            conn, cutoffs["erased_purchases"]
        )
        deleted["class_snapshots"] = await _purge_class_history(conn, cutoffs["class_history"])
        deleted["audit_entries"] = await _purge_audit(conn, cutoffs["audit"], run_id)
    except Exception as exc:
        await conn.rollback()
        await log.finish_purge_run(conn, run_id, deleted=deleted, error=repr(exc))
        await conn.commit()
        logger.exception("retention purge %s failed", run_id)
        raise
    await log.finish_purge_run(conn, run_id, deleted=deleted, error=None)
    await conn.commit()
    logger.info("retention purge %s (%s): deleted %s", run_id, trigger, deleted)
    return PurgeReport(run_id=run_id, cutoffs=shown, deleted=deleted)


async def purge_every(
    pool: AsyncConnectionPool[Any],
    retention: Retention,
    interval_s: float,
    *,
    keys: PrivacyKeys | None = None,
    trip_gap_s: float = 1800.0,
) -> None:
    """The scheduled purge in the server: once per ``interval_s`` (0: never)."""
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with pool.connection() as conn:
                await purge(conn, retention, trigger="schedule", keys=keys, trip_gap_s=trip_gap_s)
        except asyncio.CancelledError:
            raise
        except Exception:  # logged in the run's row and here; tried again next time
            logger.exception("scheduled retention purge failed")
