"""The TimescaleDB decisions (pure), and on plain PostgreSQL: the plain path, the time-bounded
trip look-ups giving the same answers as full re-assembly, and the retention guard on facts."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from server.cli import run_migrate
from server.migrate import migrate
from server.queries.trips import rebuild_trips
from server.rollup import refresh_dirty
from server.timescale import (
    Probe,
    TimescaleConfig,
    TimescaleRequired,
    apply_timescale,
    choose_path,
    preloaded,
    raw_horizon,
    record_horizon,
    timescale_statements,
)
from server.trips import VisitRow, assemble_trips
from tests.fix_db import Api
from tests.helpers.ingest import load_layout

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
GAP_S = 1800.0

# ------------------------------------------------------------------------------ pure decisions


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", False),
        ("pg_stat_statements", False),
        ("timescaledb", True),
        ("pg_stat_statements, timescaledb", True),
        ('"timescaledb"', True),
        ("$libdir/timescaledb", True),
        ("timescaledb-2.28.0", False),  # the loader is always named timescaledb
        ("timescaledb_toolkit", False),
    ],
)
def test_preloaded_reads_shared_preload_libraries(setting: str, expected: bool) -> None:
    assert preloaded(setting) is expected


@pytest.mark.parametrize(
    ("mode", "available", "preload", "created", "use", "warn"),
    [
        ("auto", False, False, False, False, False),
        ("auto", True, False, False, False, True),  # installed, not preloaded: plain, warned
        ("auto", True, True, False, True, False),
        ("auto", True, False, True, True, False),  # already created: keep using it
        ("off", True, True, True, False, False),
        ("off", True, True, False, False, False),
        ("require", True, True, False, True, False),
        ("require", True, False, True, True, False),
    ],
)
def test_choose_path(
    mode: str, available: bool, preload: bool, created: bool, use: bool, warn: bool
) -> None:
    d = choose_path(mode, Probe(available=available, preloaded=preload, created=created))  # type: ignore[arg-type]
    assert (d.use, d.warn) == (use, warn)


@pytest.mark.parametrize(
    ("available", "preload", "says"),
    [(False, False, "is not installed"), (True, False, "shared_preload_libraries")],
)
def test_require_refuses_without_a_usable_timescaledb(
    available: bool, preload: bool, says: str
) -> None:
    with pytest.raises(TimescaleRequired) as refused:
        choose_path("require", Probe(available=available, preloaded=preload, created=False))
    # it says why it refuses, not what ``auto`` would have done instead
    assert "STOREFLOW_TIMESCALE=require" in str(refused.value) and says in str(refused.value)
    assert "plain PostgreSQL tables" not in str(refused.value)


def test_statements_no_default_indexes_tag_segments_and_compression_after_late_window() -> None:
    sql = "\n".join(timescale_statements(TimescaleConfig(late_data_days=10)))
    assert sql.count("create_default_indexes => false") == 2
    assert "compress_segmentby = 'store_id, epc'" in sql
    assert "compress_after => interval '17 days'" in sql
    assert "add_retention_policy" not in sql and "remove_retention_policy('trip'" in sql
    assert "CREATE MATERIALIZED VIEW" not in sql and "DROP MATERIALIZED VIEW" in sql


def test_statements_with_retention_drop_both_time_series() -> None:
    cfg = TimescaleConfig(late_data_days=10, raw_retention_days=400)
    sql = "\n".join(timescale_statements(cfg))
    assert "add_retention_policy('zone_visit', drop_after => interval '400 days')" in sql
    assert "add_retention_policy('trip', drop_after => interval '400 days')" in sql
    assert cfg.problem() is None


def test_retention_must_outlast_the_late_window_and_compression() -> None:
    assert TimescaleConfig(late_data_days=30, raw_retention_days=37).problem() is not None
    assert TimescaleConfig(late_data_days=30, raw_retention_days=38).problem() is None


# ------------------------------------------------------------------------- plain PostgreSQL


async def _plain_path(url: str, cfg: TimescaleConfig) -> bool:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await apply_timescale(conn, cfg)


def test_the_path_follows_the_setting_and_the_server(db_url: str) -> None:
    with psycopg.connect(db_url) as c:
        row = c.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        created = row.fetchone()
    assert created is not None
    assert asyncio.run(_plain_path(db_url, TimescaleConfig(mode="off"))) is False
    if created[0]:  # a TimescaleDB test server: the path stays taken
        assert asyncio.run(_plain_path(db_url, TimescaleConfig(mode="auto"))) is True
    else:
        assert asyncio.run(_plain_path(db_url, TimescaleConfig(mode="auto"))) is False
        with pytest.raises(TimescaleRequired):
            asyncio.run(_plain_path(db_url, TimescaleConfig(mode="require")))
    # migrate passes its configuration down
    assert asyncio.run(migrate(db_url, timescale=TimescaleConfig(mode="off"))) >= 1


def test_migrate_command_with_require_answers_in_a_line_not_a_traceback(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url) as c:
        row = c.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        created = row.fetchone()
    monkeypatch.setenv("STOREFLOW_TIMESCALE", "require")
    code = run_migrate(argparse.Namespace(database_url=db_url))
    out = capsys.readouterr().out
    if created and created[0]:  # a TimescaleDB test server: required and there
        assert code == 0 and "migrations applied" in out
    else:
        assert code == 2
        assert out.startswith("database error: STOREFLOW_TIMESCALE=require but timescaledb")


def _visit(c: psycopg.Connection[tuple[object, ...]], epc: str, zone: str, at: datetime) -> None:
    c.execute(
        "INSERT INTO zone_visit (event_id, store_id, zone, epc, tag_kind, enter_at, exit_at, "
        "reads, mean_rssi_dbm, reader_id, device_id) "
        "VALUES (%s, 'demo', %s, %s, 'cart', %s, %s, 3, -60, 'R1', 'edge-1')",
        (uuid.uuid4(), zone, epc, at, at + timedelta(seconds=60)),
    )


def _schedule() -> dict[str, list[tuple[str, datetime]]]:
    """Per tag: its visits in the order they arrive (late ones after later ones)."""
    long_trip = [("A1", T0 + timedelta(minutes=20 * i)) for i in range(40)]  # 13 h, one trip
    return {
        # the trip's start arrives late, then a visit in its middle, 6 h after the start
        "CART-LONG": long_trip[5:20] + long_trip[21:] + long_trip[:5] + [long_trip[20]],
        "CART-SHORT": [
            ("A1", T0 + timedelta(hours=30)),
            ("A1", T0 + timedelta(hours=30, minutes=10)),
            ("A1", T0 + timedelta(hours=2)),  # late, before the long trip of the other tag ends
            ("A1", T0 + timedelta(hours=31, minutes=5)),  # over the gap: a new trip
            ("A1", T0 + timedelta(hours=30, minutes=40)),  # late: joins the two trips
        ],
    }


async def _ingest_in_batches(url: str, batches: list[list[tuple[str, str, datetime]]]) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for b in batches:
            earliest: dict[str, datetime] = {}
            for epc, _zone, at in b:
                earliest[epc] = min(at, earliest.get(epc, at))
            await rebuild_trips(conn, store_id="demo", earliest=earliest, gap_s=GAP_S)
            await conn.commit()


def test_bounded_trip_rebuild_equals_full_reassembly(db_url: str) -> None:
    schedule = _schedule()
    batches: list[list[tuple[str, str, datetime]]] = []
    with psycopg.connect(db_url) as c:
        for i in range(max(len(v) for v in schedule.values())):
            batch = [(epc, *visits[i]) for epc, visits in schedule.items() if i < len(visits)]
            batches.append(batch)
    for batch in batches:
        with psycopg.connect(db_url) as c:
            for epc, zone, at in batch:
                _visit(c, epc, zone, at)
        asyncio.run(_ingest_in_batches(db_url, [batch]))
    with psycopg.connect(db_url) as c:
        got = c.execute(
            "SELECT epc, start_at, end_at, zones, visit_count FROM trip ORDER BY epc, start_at"
        ).fetchall()
        span = c.execute("SELECT max_span FROM trip_span WHERE store_id = 'demo'").fetchone()
    expected = []
    for epc in sorted(schedule):
        visits = [VisitRow(z, at, at + timedelta(seconds=60)) for z, at in schedule[epc]]
        for t in assemble_trips(visits, store_id="demo", epc=epc, zone_kinds={}, gap_s=GAP_S):
            expected.append((epc, t.start_at, t.end_at, list(t.zones), t.visit_count))
    assert got == expected
    assert [(r[0], r[4]) for r in got] == [("CART-LONG", 40), ("CART-SHORT", 1), ("CART-SHORT", 4)]
    assert span == (timedelta(minutes=20 * 39, seconds=60),)


def test_sale_trip_tag_found_inside_and_outside_the_bounded_window(db_url: str) -> None:
    long_start = T0
    with psycopg.connect(db_url) as c:
        for epc, start, hours in (("CARD-OLD", long_start, 5), ("CARD-NEW", T0, 0)):
            c.execute(
                "INSERT INTO trip (trip_id, store_id, epc, tag_kind, start_at, end_at, zones, "
                "visit_count) VALUES (%s, 'demo', %s, 'member_card', %s, %s, '{A1}', 1)",
                (uuid.uuid5(uuid.NAMESPACE_URL, epc), epc, start, start + timedelta(hours=hours)),
            )
        rows = []
        for epc, at in (
            ("CARD-OLD", long_start + timedelta(hours=5, minutes=10)),  # in the window
            ("CARD-NEW", T0 + timedelta(days=40)),  # any trip id: the full look-up answers
        ):
            row = c.execute(
                "INSERT INTO purchase (store_id, register_id, pos_id, at, total, trip_id, "
                "recorded_by) VALUES ('demo', 'R1', %s, %s, 10, %s, 'test') RETURNING trip_epc",
                (f"pos-{epc}", at, uuid.uuid5(uuid.NAMESPACE_URL, epc)),
            ).fetchone()
            rows.append(row)
    assert rows == [("CARD-OLD",), ("CARD-NEW",)]


def test_facts_older_than_the_retention_horizon_are_never_recomputed(api: Api) -> None:
    load_layout(api)
    db_url = api.db_url
    old, recent = date(2020, 1, 6), datetime.now(UTC).date() - timedelta(days=1)
    with psycopg.connect(db_url) as c:
        for day in (old, recent):
            c.execute(
                "INSERT INTO fact_hour (store_id, day, hour, segment, entries) "
                "VALUES ('demo', %s, 10, '*', 7)",
                (day,),
            )
            c.execute(
                "INSERT INTO rollup_day (store_id, day, dirty_since) VALUES ('demo', %s, now())",
                (day,),
            )

    async def run() -> tuple[datetime | None, int]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            # as the TimescaleDB path records it (there the row exists already: no retention)
            await record_horizon(conn, 400)
            await conn.commit()
            return await raw_horizon(conn), await refresh_dirty(conn)

    horizon, done = asyncio.run(run())
    assert horizon is not None and horizon.date() > old and done == 2
    with psycopg.connect(db_url) as c:
        facts = c.execute("SELECT day, entries FROM fact_hour ORDER BY day").fetchall()
        dirty = c.execute("SELECT count(*) FROM rollup_day WHERE dirty_since IS NOT NULL")
        left = dirty.fetchone()
    # the old day keeps its facts (its raw rows may be gone); the recent one is re-computed from
    # its (here: no) raw rows, which is what happened to every day before the guard
    assert facts == [(old, 7)] and left == (0,)


def test_horizon_survives_switching_retention_off(db_url: str) -> None:
    async def run() -> list[datetime | None]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            seen = [await raw_horizon(conn)]
            for days in (None, 400, None, 500):
                await record_horizon(conn, days)
                seen.append(await raw_horizon(conn))
            return seen

    never, still_none, kept, after_off, longer = asyncio.run(run())
    assert never is None and still_none is None
    assert kept is not None and after_off is not None and longer is not None
    # switched off: the mark of what 400 days' retention dropped stays; a longer retention
    # later does not un-drop it
    assert abs((after_off - kept).total_seconds()) < 60
    assert abs((longer - kept).total_seconds()) < 60
    assert timedelta(days=399) < datetime.now(UTC) - kept < timedelta(days=401)
