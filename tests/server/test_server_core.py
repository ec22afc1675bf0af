"""Trip assembly rules (table-driven), migrations re-run, and the embedded server's restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from server.embedded_pg import EmbeddedPostgres
from server.migrate import discover, migrate
from server.trips import VisitRow, assemble_trips, trip_id

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
KINDS = {
    "ENT": "entrance",
    "A1": "aisle",
    "C01": "counter",
    "CHK": "checkout",
    "EXIT": "exit",
}


def v(zone: str, start_s: float, dwell_s: float = 10) -> VisitRow:
    enter = T0 + timedelta(seconds=start_s)
    return VisitRow(zone=zone, enter_at=enter, exit_at=enter + timedelta(seconds=dwell_s))


CASES: list[tuple[str, list[VisitRow], list[tuple[str, ...]]]] = [
    ("no visits", [], []),
    (
        "one full trip",
        [v("ENT", 0), v("A1", 10), v("C01", 20), v("CHK", 30), v("EXIT", 40)],
        [("ENT", "A1", "C01", "CHK", "EXIT")],
    ),
    ("unsorted input is sorted", [v("C01", 20), v("ENT", 0), v("A1", 10)], [("ENT", "A1", "C01")]),
    ("gap just under the limit stays", [v("A1", 0), v("C01", 10 + 1800)], [("A1", "C01")]),
    ("gap over the limit splits", [v("A1", 0), v("C01", 10 + 1801)], [("A1",), ("C01",)]),
    ("a visit after an exit starts a new trip", [v("EXIT", 0), v("A1", 30)], [("EXIT",), ("A1",)]),
    (
        "entrance after checkout starts a new trip",
        [v("ENT", 0), v("CHK", 20), v("ENT", 60), v("A1", 80)],
        [("ENT", "CHK"), ("ENT", "A1")],
    ),
    (
        "entrance before checkout stays",
        [v("ENT", 0), v("A1", 20), v("ENT", 40)],
        [("ENT", "A1", "ENT")],
    ),
    ("repeats of one zone collapse in the path", [v("A1", 0), v("A1", 15)], [("A1",)]),
    (
        "overlapping long visit bridges the gap",
        [v("C01", 0, 3000), v("A1", 100), v("CHK", 2900)],
        [("C01", "A1", "CHK")],
    ),
    ("unknown zones count as aisles", [v("ZZ", 0), v("ENT", 10)], [("ZZ", "ENT")]),
]


@pytest.mark.parametrize(("visits", "paths"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_assemble_trips(visits: list[VisitRow], paths: list[tuple[str, ...]]) -> None:
    trips = assemble_trips(visits, store_id="s", epc="E1", zone_kinds=KINDS)
    assert [t.zones for t in trips] == paths
    assert sum(t.visit_count for t in trips) == len(visits)
    for t in trips:
        assert t.trip_id == trip_id(store_id="s", epc="E1", start_at=t.start_at)
        assert t.end_at >= t.start_at


def test_trip_ids_are_deterministic_and_gap_is_configurable() -> None:
    visits = [v("A1", 0), v("C01", 70)]
    a = assemble_trips(visits, store_id="s", epc="E1", zone_kinds=KINDS)
    b = assemble_trips(list(reversed(visits)), store_id="s", epc="E1", zone_kinds=KINDS)
    assert a == b and len(a) == 1
    assert len(assemble_trips(visits, store_id="s", epc="E1", zone_kinds=KINDS, gap_s=30)) == 2


def test_migrations_apply_once_and_rerun_as_noop(db_url: str) -> None:
    # db_url is cloned from a migrated template: running again must change nothing.
    total = len(discover())
    with psycopg.connect(db_url) as c:
        before = c.execute("SELECT version, applied_at FROM schema_migration ORDER BY 1").fetchall()
    assert asyncio.run(migrate(db_url)) == total
    assert asyncio.run(migrate(db_url)) == total
    with psycopg.connect(db_url) as c:
        after = c.execute("SELECT version, applied_at FROM schema_migration ORDER BY 1").fetchall()
        tables = {
            r[0]
            for r in c.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert before == after and [r[0] for r in after] == [m.version for m in discover()]
    assert {"store", "zone", "zone_visit", "trip", "api_credential", "card_scan"} <= tables


def test_embedded_postgres_keeps_data_across_stop_and_start(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pgdata", fsync=False)
    with pg:
        port = pg.port
        assert pg.url == f"postgresql://postgres@127.0.0.1:{port}/storeflow"
        with psycopg.connect(pg.url, autocommit=True) as c:
            c.execute("CREATE TABLE kept (x int)")
            c.execute("INSERT INTO kept VALUES (42)")
        pg.restart()
        assert pg.port == port
        with psycopg.connect(pg.url) as c:
            assert c.execute("SELECT x FROM kept").fetchall() == [(42,)]
        pg.stop()
        assert not pg.is_running()
        again = EmbeddedPostgres(tmp_path / "pgdata", fsync=False)
        with again:
            with psycopg.connect(again.url) as c:
                assert c.execute("SELECT x FROM kept").fetchall() == [(42,)]
    assert not again.is_running()
