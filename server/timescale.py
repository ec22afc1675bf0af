"""The TimescaleDB path, kept in this one module.

Plain PostgreSQL serves every query from ordinary tables (portable SQL: ``date_bin``, no
``time_bucket``); when TimescaleDB can be used, ``zone_visit`` and ``trip`` become hypertables
with compression and, when configured, a retention policy. Nothing else in the server knows
which path was taken.

Which path (:func:`choose_path`): ``STOREFLOW_TIMESCALE=off`` never uses it; ``auto`` uses it
when the extension is already created in the database, or installed *and* listed in
``shared_preload_libraries`` (read from ``pg_settings``; without the preload ``CREATE
EXTENSION`` fails and the server could not start), else warns and stays on plain PostgreSQL;
``require`` refuses to start without it.

What it sets up (:func:`timescale_statements`):

* hypertables in 7-day chunks, ``create_default_indexes => false`` (migration 0001 already
  creates ``(store_id, enter_at)``/``(store_id, start_at)`` and the tag indexes);
* ``zone_visit`` compressed segmented by ``store_id, epc``: the trip rebuild and the sale-to-trip
  link look visits up by tag, and a segment-by column is an index look-up on a compressed chunk
  (segmenting by zone made the rebuild's 50-tag query decompress whole chunks);
* chunks compressed only once every row is older than the late-data window plus one chunk, so
  late visits from an edge that was offline land in uncompressed chunks;
* optional retention (``STOREFLOW_RAW_RETENTION_DAYS``) dropping raw ``zone_visit`` and ``trip``
  chunks; the horizon is recorded in ``raw_retention`` so the daily facts of older days are never
  re-computed from the (missing) raw rows (:func:`raw_horizon`, read by server/rollup.py).

The hourly continuous aggregate of earlier versions is dropped: nothing read it (the dashboard
reads the daily fact tables of server/rollup.py) and its per-hour distinct counts could not be
summed to longer periods.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import psycopg

if TYPE_CHECKING:
    from server.settings import Settings

logger = logging.getLogger(__name__)

Mode = Literal["auto", "off", "require"]
CHUNK_DAYS = 7


class TimescaleRequired(RuntimeError):
    """``STOREFLOW_TIMESCALE=require`` but TimescaleDB cannot be used on this server."""


@dataclass(frozen=True)
class TimescaleConfig:
    mode: Mode = "auto"
    late_data_days: int = 30  # visits may arrive this late (an edge's outbox after an outage)
    raw_retention_days: int | None = None  # drop raw visits and trips older than this

    @property
    def compress_after_days(self) -> int:
        """Compress a chunk once all of it is older than the late-data window."""
        return self.late_data_days + CHUNK_DAYS

    def problem(self) -> str | None:
        """Why this configuration must not be applied, or None."""
        if self.late_data_days < 0:
            return "STOREFLOW_LATE_DATA_DAYS must not be negative"
        if self.raw_retention_days is not None and self.raw_retention_days <= (
            self.compress_after_days
        ):
            return (
                f"STOREFLOW_RAW_RETENTION_DAYS ({self.raw_retention_days}) must exceed the "
                f"late-data window plus one chunk ({self.compress_after_days} days): late "
                "visits would land in dropped time and their days' facts could not be re-computed"
            )
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> TimescaleConfig:
        return cls(
            mode=settings.timescale,
            late_data_days=settings.late_data_days,
            raw_retention_days=settings.raw_retention_days,
        )


@dataclass(frozen=True)
class Probe:
    """What the database server says about TimescaleDB."""

    available: bool  # installed: listed in pg_available_extensions
    preloaded: bool  # in shared_preload_libraries
    created: bool  # CREATE EXTENSION already ran in this database


@dataclass(frozen=True)
class Decision:
    use: bool
    reason: str
    warn: bool = False  # worth a warning: an operator probably expected TimescaleDB


def preloaded(shared_preload_libraries: str) -> bool:
    """Whether ``SHOW shared_preload_libraries`` lists timescaledb (a name or a path)."""
    for item in shared_preload_libraries.split(","):
        name = item.strip().strip('"').rsplit("/", 1)[-1].removesuffix(".so")
        if name == "timescaledb":
            return True
    return False


def choose_path(mode: Mode, probe: Probe) -> Decision:
    """Take the TimescaleDB path or the plain one; raises :class:`TimescaleRequired`."""
    if mode == "off":
        return Decision(False, "STOREFLOW_TIMESCALE=off: plain PostgreSQL tables")
    if probe.created:
        return Decision(True, "timescaledb extension present in the database")
    if probe.available and probe.preloaded:
        return Decision(True, "timescaledb installed and preloaded")
    if probe.available:
        if mode == "require":
            raise TimescaleRequired(
                "STOREFLOW_TIMESCALE=require but timescaledb is not in shared_preload_libraries "
                "(or this role cannot read it: grant pg_read_all_settings): add "
                "shared_preload_libraries = 'timescaledb' to postgresql.conf and restart the "
                "database server"
            )
        reason = (
            "timescaledb is installed but not in shared_preload_libraries (or this role "
            "cannot read it: grant pg_read_all_settings): using plain PostgreSQL tables "
            "(add shared_preload_libraries = 'timescaledb' to postgresql.conf "
            "and restart the server to use it, or set STOREFLOW_TIMESCALE=off to silence this)"
        )
        return Decision(False, reason, warn=True)
    if mode == "require":
        raise TimescaleRequired("STOREFLOW_TIMESCALE=require but timescaledb is not installed")
    reason = "timescaledb not installed: plain PostgreSQL tables"
    return Decision(False, reason)


def timescale_statements(cfg: TimescaleConfig) -> list[str]:
    """The statements of the TimescaleDB path, in order; each is idempotent."""
    chunk = f"interval '{CHUNK_DAYS} days'"
    out = ["CREATE EXTENSION IF NOT EXISTS timescaledb"]
    for table, column in (("zone_visit", "enter_at"), ("trip", "start_at")):
        out.append(
            f"SELECT create_hypertable('{table}', '{column}', chunk_time_interval => {chunk}, "
            "create_default_indexes => false, migrate_data => true, if_not_exists => true)"
        )
    out += [
        "DROP MATERIALIZED VIEW IF EXISTS zone_visit_hourly",
        "ALTER TABLE zone_visit SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'store_id, epc', "
        "timescaledb.compress_orderby = 'enter_at, event_id')",
        "SELECT remove_compression_policy('zone_visit', if_exists => true)",
        "SELECT add_compression_policy('zone_visit', "
        f"compress_after => interval '{cfg.compress_after_days} days')",
    ]
    for table in ("zone_visit", "trip"):
        out.append(f"SELECT remove_retention_policy('{table}', if_exists => true)")
        if cfg.raw_retention_days is not None:
            out.append(
                f"SELECT add_retention_policy('{table}', "
                f"drop_after => interval '{cfg.raw_retention_days} days')"
            )
    return out


# The horizon: data before greatest(now() - keep, dropped_before) may be gone. When retention is
# switched off, what it already dropped stays dropped: ``dropped_before`` keeps that mark.
_RECORD_HORIZON = """
INSERT INTO raw_retention AS r (id, keep, dropped_before)
VALUES (true, make_interval(days => %(days)s::integer), NULL)
ON CONFLICT (id) DO UPDATE SET
    dropped_before = CASE WHEN EXCLUDED.keep IS NULL AND r.keep IS NOT NULL
                          THEN greatest(r.dropped_before, now() - r.keep)
                          ELSE r.dropped_before END,
    keep = EXCLUDED.keep
"""


async def record_horizon(conn: psycopg.AsyncConnection[Any], days: int | None) -> None:
    """Record the retention now in force (None: none); what was dropped stays dropped."""
    await conn.execute(_RECORD_HORIZON, {"days": days})


async def raw_horizon(conn: psycopg.AsyncConnection[Any]) -> datetime | None:
    """Raw visits and trips before this time may have been dropped (None: nothing dropped)."""
    cur = await conn.execute(
        "SELECT CASE WHEN keep IS NULL THEN dropped_before "
        "ELSE greatest(now() - keep, dropped_before) END FROM raw_retention"
    )
    row = await cur.fetchone()
    return None if row is None else row[0]


async def probe(conn: psycopg.AsyncConnection[Any]) -> Probe:
    # pg_settings hides shared_preload_libraries from roles without pg_read_all_settings (where
    # SHOW would raise): then NULL, "not known to be preloaded".
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), "
        "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'), "
        "(SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries')"
    )
    row = await cur.fetchone()
    assert row is not None
    return Probe(
        available=bool(row[0]),
        preloaded=row[2] is not None and preloaded(str(row[2])),
        created=bool(row[1]),
    )


async def apply_timescale(
    conn: psycopg.AsyncConnection[Any], cfg: TimescaleConfig | None = None
) -> bool:
    """Take the TimescaleDB path if :func:`choose_path` says so; ``conn`` is in autocommit."""
    cfg = cfg or TimescaleConfig()
    if problem := cfg.problem():
        raise ValueError(problem)
    decision = choose_path(cfg.mode, await probe(conn))
    (logger.warning if decision.warn else logger.info)("%s", decision.reason)
    if not decision.use:
        if cfg.raw_retention_days is not None:
            logger.warning(
                "STOREFLOW_RAW_RETENTION_DAYS is set but only the TimescaleDB path drops raw "
                "chunks: nothing is dropped on plain PostgreSQL"
            )
        return False
    for statement in timescale_statements(cfg):
        try:
            await conn.execute(statement.encode())
        except psycopg.errors.FeatureNotSupported as exc:
            if not statement.startswith("ALTER TABLE zone_visit SET"):
                raise
            # an older version refuses new settings while chunks compressed under the old ones
            # exist: they keep working, only the tag look-ups on them stay slow
            logger.warning("zone_visit compression settings unchanged: %s", exc)
    await record_horizon(conn, cfg.raw_retention_days)
    logger.info(
        "timescaledb: hypertables; visits compressed after %d days; raw data kept %s",
        cfg.compress_after_days,
        "for ever" if cfg.raw_retention_days is None else f"{cfg.raw_retention_days} days",
    )
    return True


async def timescale_in_use(conn: psycopg.AsyncConnection[object]) -> bool:
    """Is the extension installed in this database (not merely available)?"""
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    return await cur.fetchone() is not None


async def ensure_retention_policies(conn: psycopg.AsyncConnection[object], *, days: int) -> None:
    """Drop chunks of visits and trips older than ``days`` (the longest retention period; the
    purge deletes what a shorter period covers). Replaces a policy of another length."""
    for table in ("zone_visit", "trip"):
        cur = await conn.execute(
            "SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' "
            "AND hypertable_name = %s "
            "AND (config->>'drop_after')::interval = make_interval(days => %s)",
            (table, days),
        )
        if await cur.fetchone() is not None:  # already in force
            continue
        await conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (table,))
        await conn.execute(
            "SELECT add_retention_policy(%s, make_interval(days => %s))", (table, days)
        )
        logger.info("timescaledb: %s chunks dropped after %s days", table, days)
