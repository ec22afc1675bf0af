"""The TimescaleDB path, kept in this one module.

When the ``timescaledb`` extension is available, the time series become hypertables with
compression and an hourly continuous aggregate of zone visits. Without it nothing here runs and
plain PostgreSQL serves the same queries from ordinary tables (portable SQL uses ``date_bin``).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from storeflow.wire import SHOPPER_TAG_VALUES

logger = logging.getLogger(__name__)

_HYPERTABLES = """
CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT create_hypertable('zone_visit', 'enter_at', chunk_time_interval => interval '7 days',
                         migrate_data => true, if_not_exists => true);
SELECT create_hypertable('trip', 'start_at', chunk_time_interval => interval '7 days',
                         migrate_data => true, if_not_exists => true);
ALTER TABLE zone_visit SET (timescaledb.compress,
                            timescaledb.compress_segmentby = 'store_id, zone',
                            timescaledb.compress_orderby = 'enter_at');
SELECT add_compression_policy('zone_visit', interval '30 days', if_not_exists => true);
"""

_AGGREGATE = """
CREATE MATERIALIZED VIEW IF NOT EXISTS zone_visit_hourly
WITH (timescaledb.continuous) AS
SELECT store_id, zone, time_bucket(interval '1 hour', enter_at) AS bucket,
       count(*) AS visits, count(DISTINCT epc) AS visitors, avg(dwell_s) AS mean_dwell_s
FROM zone_visit
WHERE tag_kind IN ({shopper_kinds})
GROUP BY store_id, zone, bucket
WITH NO DATA;
SELECT add_continuous_aggregate_policy('zone_visit_hourly',
    start_offset => interval '3 days', end_offset => interval '1 hour',
    schedule_interval => interval '15 minutes', if_not_exists => true);
"""


async def timescale_available(conn: psycopg.AsyncConnection[object]) -> bool:
    cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return await cur.fetchone() is not None


async def apply_timescale(conn: psycopg.AsyncConnection[object]) -> bool:
    """Set up hypertables, compression and the continuous aggregate if TimescaleDB is there."""
    if not await timescale_available(conn):
        logger.info("timescaledb not available: using plain PostgreSQL tables")
        return False
    # Continuous aggregates cannot be created inside a transaction: ``conn`` is in autocommit.
    await conn.execute(_HYPERTABLES)
    shopper_kinds = sql.SQL(", ").join(sql.Literal(k) for k in SHOPPER_TAG_VALUES)
    await conn.execute(sql.SQL(_AGGREGATE).format(shopper_kinds=shopper_kinds))
    logger.info("timescaledb: hypertables, compression and hourly aggregate in place")
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
