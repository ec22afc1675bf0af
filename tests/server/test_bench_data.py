"""Bench data: a small history written straight into the database is complete and consistent."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, LiteralString

import psycopg
import pytest
from psycopg import sql

from orchestration.bench_data import PopulateResult, populate
from server.trips import VisitRow, assemble_trips
from storeflow.wire import SHOPPER_TAG_VALUES
from tests.fix_db import PgServer

Store = tuple[str, PopulateResult]  # a populated database and what populate() said
END = datetime(2026, 11, 7, tzinfo=UTC)  # Thursday and Friday: about an average week's days


def fill(url: str, *, workers: int = 2) -> PopulateResult:
    """2 days x 300 trips a day, 500 members."""
    lines: list[str] = []
    result = populate(
        url,
        days=2,
        trips_per_day=300,
        members=500,
        end=END,
        seed=11,
        workers=workers,
        progress=lines.append,
    )
    assert len(lines) == 3  # one per day and the ANALYZE
    return result


@pytest.fixture(scope="module")
def store(pg_server: PgServer, template_db: str) -> Iterator[Store]:
    """One populated database shared by the module's read-only checks."""
    name = f"sf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = pg_server.url_for(name)
    try:
        yield url, fill(url)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def rows(url: str, query: LiteralString, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as c:
        return c.execute(query, params).fetchall()


def one(url: str, query: LiteralString, *params: object) -> Any:
    return rows(url, query, *params)[0][0]


def test_counts_match_the_result_and_the_requested_traffic(store: Store) -> None:
    url, result = store
    assert result.days == 2
    assert 450 <= result.trips <= 750
    assert one(url, "SELECT count(*) FROM trip") == result.trips
    assert one(url, "SELECT count(*) FROM zone_visit") == result.visits
    assert one(url, "SELECT count(*) FROM purchase") == result.purchases
    assert result.members == 500 == one(url, "SELECT count(*) FROM card")
    assert 0 < result.purchases < result.trips
    span = rows(url, "SELECT min(enter_at), max(exit_at) FROM zone_visit")[0]
    assert datetime(2026, 11, 5, tzinfo=UTC) <= span[0] and span[1] < END


def test_every_trip_starts_at_the_entrance_and_its_visits_are_stored(store: Store) -> None:
    url, _ = store
    assert one(url, "SELECT count(*) FROM trip WHERE zones[1] <> 'ENT'") == 0
    assert (
        one(
            url,
            "SELECT count(*) FROM trip WHERE zones[1] NOT IN "
            "(SELECT code FROM zone WHERE kind = 'entrance')",
        )
        == 0
    )
    missing = one(
        url,
        "SELECT count(*) FROM trip t, unnest(t.zones) AS z(code) WHERE NOT EXISTS ("
        "SELECT 1 FROM zone_visit v WHERE v.store_id = t.store_id AND v.epc = t.epc "
        "AND v.zone = z.code AND v.enter_at >= t.start_at AND v.exit_at <= t.end_at)",
    )
    assert missing == 0
    counted = one(
        url,
        "SELECT count(*) FROM trip t WHERE visit_count <> (SELECT count(*) FROM zone_visit v "
        "WHERE v.epc = t.epc AND v.enter_at >= t.start_at AND v.exit_at <= t.end_at)",
    )
    assert counted == 0


def test_trips_are_the_ones_the_server_assembles_from_the_visits(store: Store) -> None:
    url, _ = store
    kinds = dict(rows(url, "SELECT code, kind FROM zone"))
    per_tag: dict[str, list[VisitRow]] = defaultdict(list)
    for epc, zone, enter_at, exit_at in rows(
        url,
        "SELECT epc, zone, enter_at, exit_at FROM zone_visit "
        "WHERE tag_kind = ANY(%s) ORDER BY epc, enter_at",
        list(SHOPPER_TAG_VALUES),
    ):
        per_tag[epc].append(VisitRow(zone, enter_at, exit_at))
    assembled = {
        (t.trip_id, t.zones, t.visit_count)
        for epc, visits in per_tag.items()
        for t in assemble_trips(visits, store_id="demo", epc=epc, zone_kinds=kinds)
    }
    stored = {
        (r[0], tuple(r[1]), r[2]) for r in rows(url, "SELECT trip_id, zones, visit_count FROM trip")
    }
    assert stored == assembled


def test_staff_visits_make_no_trips(store: Store) -> None:
    url, _ = store
    assert one(url, "SELECT count(*) FROM zone_visit WHERE tag_kind = 'staff'") > 0
    shoppers = list(SHOPPER_TAG_VALUES)
    assert one(url, "SELECT count(*) FROM trip WHERE tag_kind <> ALL(%s)", shoppers) == 0


def test_sales_have_lines_at_known_counters_and_add_up(store: Store) -> None:
    url, _ = store
    assert one(url, "SELECT count(*) FROM purchase p WHERE NOT EXISTS "
                    "(SELECT 1 FROM purchase_line l WHERE l.purchase_id = p.id)") == 0  # fmt: skip
    unknown = one(
        url,
        "SELECT count(*) FROM purchase_line l LEFT JOIN counter c "
        "ON c.store_id = 'demo' AND c.code = l.counter AND c.category = l.category "
        "WHERE c.code IS NULL",
    )
    assert unknown == 0
    wrong_total = one(
        url,
        "SELECT count(*) FROM purchase p WHERE total <> "
        "(SELECT sum(amount) FROM purchase_line l WHERE l.purchase_id = p.id)",
    )
    assert wrong_total == 0


def test_sales_point_at_their_trip_paid_at_the_checkout(store: Store) -> None:
    url, _ = store
    assert one(url, "SELECT count(*) FROM purchase WHERE trip_id IS NULL") == 0
    unlinked = one(
        url,
        "SELECT count(*) FROM purchase p LEFT JOIN trip t ON t.trip_id = p.trip_id "
        "WHERE t.trip_id IS NULL OR p.trip_epc IS DISTINCT FROM t.epc "
        "OR p.at NOT BETWEEN t.start_at AND t.end_at OR NOT 'CHK' = ANY(t.zones)",
    )
    assert unlinked == 0
    # every purchase line's counter is on the linked trip's path
    off_path = one(
        url,
        "SELECT count(*) FROM purchase_line l JOIN purchase p ON p.id = l.purchase_id "
        "JOIN trip t ON t.trip_id = p.trip_id WHERE NOT l.counter = ANY(t.zones)",
    )
    assert off_path == 0


def test_member_card_sales_carry_their_member(store: Store) -> None:
    url, _ = store
    card_sales = one(
        url,
        "SELECT count(*) FROM purchase p JOIN trip t ON t.trip_id = p.trip_id "
        "WHERE t.tag_kind = 'member_card'",
    )
    assert card_sales > 0
    wrong = one(
        url,
        "SELECT count(*) FROM purchase p JOIN trip t ON t.trip_id = p.trip_id "
        "LEFT JOIN card c ON c.card_number = p.card_number AND c.epc = t.epc "
        "WHERE t.tag_kind = 'member_card' "
        "AND (p.member_id IS NULL OR c.member_id IS DISTINCT FROM p.member_id)",
    )
    assert wrong == 0
    anonymous = one(
        url,
        "SELECT count(*) FROM purchase p JOIN trip t ON t.trip_id = p.trip_id "
        "WHERE t.tag_kind <> 'member_card' AND (p.member_id IS NOT NULL "
        "OR p.card_number IS NOT NULL)",
    )
    assert anonymous == 0


def test_same_seed_gives_the_same_history(store: Store, db_url: str) -> None:
    url, first = store
    second = fill(db_url, workers=0)  # all in this process: the pool changes nothing
    assert (first.trips, first.visits, first.purchases) == (
        second.trips,
        second.visits,
        second.purchases,
    )
    digest = (
        "SELECT md5(string_agg(trip_id::text || array_to_string(zones, ','), '' "
        "ORDER BY trip_id)), (SELECT sum(total) FROM purchase) FROM trip"
    )
    assert rows(url, digest) == rows(db_url, digest)
