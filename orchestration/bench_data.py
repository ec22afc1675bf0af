"""Bench data: months of a busy store's history written straight into PostgreSQL.

:func:`populate` imports the demo layout, enrols demo members with their cards, runs the shopper
simulator a day at a time on a process pool and loads what it planted with ``COPY`` — zone visits
(shoppers' and staff's), trips, and sales with their lines — so a latency benchmark can time the
planner's API on, say, 90 days x 5,000 trips a day without waiting for the edge pipeline.

The rows follow the real system's conventions: visit ids from :func:`storeflow.wire.
visit_event_id`, trips assembled from the visits by :func:`server.trips.assemble_trips` (so ids
and zone paths are the ones the server would compute), one sale per buying trip paid at the
checkout, with a line per counter bought at, linked to the shopper's own trip. Member cards are
the ones ``DEMO_CARDS_SQL`` issues, so a card sale carries its member. Points are not earned
(``points_earned`` stays 0, no points lots); ``received_at`` is the load time.

Deterministic for a seed: each day is simulated from its own generators, so the pool's order of
work does not matter, and days are written in date order.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import psycopg

from firmware_sim.model import TruePurchase, TrueVisit
from firmware_sim.pos import card_for_epc
from firmware_sim.scenario import LayoutChange, Promotion, Scenario, load_scenario
from firmware_sim.shoppers import ShopperSimulator, iter_days
from firmware_sim.truth import TrueTrip
from orchestration import demo_data
from server.loyalty.rules import TierRules
from server.queries.ingest import VISIT_COLUMNS
from server.queries.membership import review_tiers
from server.rollup import mark_range_dirty
from server.trips import TripRow, VisitRow, assemble_trips
from storeflow.layout import StoreLayout
from storeflow.wire import TagKind, visit_event_id

logger = logging.getLogger(__name__)

REGISTER_ID = "POS1"
DEVICE_ID = "bench"
RECORDED_BY = "bench"
MEAN_RSSI_DBM = -60.0

TRIP_COLUMNS = "trip_id, store_id, epc, tag_kind, start_at, end_at, zones, visit_count"
PURCHASE_COLUMNS = (
    "id, store_id, register_id, pos_id, at, member_id, card_number, total, trip_id, recorded_by"
)
LINE_COLUMNS = "purchase_id, line_no, sku, counter, category, quantity, amount, points"
LOADED_TABLES = ("zone_visit", "trip", "purchase", "purchase_line", "member", "card", "consent")


@dataclass(frozen=True)
class PopulateResult:
    days: int
    trips: int
    visits: int  # shoppers' and staff's
    purchases: int
    members: int
    seconds: float


@dataclass(frozen=True, slots=True)
class SaleLine:
    sku: str
    counter: str
    category: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Sale:
    """One till transaction: everything a shopper bought, paid at the checkout."""

    pos_id: str
    at: datetime
    member: int | None  # the member number (the card's GID-96 serial)
    card_number: str | None
    trip_id: uuid.UUID
    lines: tuple[SaleLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0"))


@dataclass(frozen=True, slots=True)
class DayPlan:
    scenario: Scenario
    seed: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DayRows:
    """One simulated day, ready to load: visits and trips as COPY text, sales as records."""

    start: datetime
    visits_copy: bytes
    trips_copy: bytes
    sales: tuple[Sale, ...]
    visits: int
    trips: int


# -- the world ------------------------------------------------------------------------------


def bench_scenario(*, trips_per_day: int, members: int) -> Scenario:
    """The demo scenario scaled to ``trips_per_day`` on average over the week."""
    scenario = load_scenario(demo_data.SCENARIO_PATH)
    factors = scenario.traffic.weekday_factors
    traffic = scenario.traffic.model_copy(
        update={"trips_per_day": trips_per_day * len(factors) / sum(factors), "members": members}
    )
    return scenario.model_copy(update={"traffic": traffic})


def history_window(*, days: int, end: datetime | None) -> tuple[datetime, datetime]:
    """[end - days, end); ``end`` defaults to today's midnight (UTC)."""
    if end is None:
        now = datetime.now(UTC)
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    return end - timedelta(days=days), end


@cache
def _layout() -> StoreLayout:
    return demo_data.layout()


@dataclass(frozen=True)
class _Floor:
    """What rows need from the layout, escaped for COPY once."""

    store_id: str
    zone_kinds: dict[str, str]
    reader_of: dict[str, str]
    categories: dict[str, str]


@cache
def _floor() -> _Floor:
    lay = _layout()
    reader_of: dict[str, str] = {}
    for reader in lay.readers:
        for antenna in reader.antennas:
            reader_of.setdefault(antenna.zone, reader.id)
    fallback = lay.readers[0].id if lay.readers else "none"
    return _Floor(
        store_id=lay.store.id,
        zone_kinds={z.code: z.kind.value for z in lay.zones},
        reader_of={z.code: reader_of.get(z.code, fallback) for z in lay.zones},
        categories={c.code: c.category for c in lay.counters},
    )


# -- one day, in a worker -------------------------------------------------------------------


def _copy_text(value: str) -> str:
    """A value escaped for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _pg_array(items: Sequence[str]) -> str:
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    return _copy_text("{" + ",".join(quoted) + "}")


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def reads_for(dwell_s: float, *, read_rate_hz: float, miss_rate: float) -> int:
    """About as many reads as the zone's antenna reports for a stay of ``dwell_s``."""
    return max(1, round(dwell_s * read_rate_hz * (1.0 - miss_rate)))


class _DayWriter:
    """Turns one day's truth into COPY text and sales."""

    def __init__(self, scenario: Scenario) -> None:
        self.floor = _floor()
        self.rf = scenario.rf
        self.visit_lines: list[str] = []
        self.trip_lines: list[str] = []
        self.sales: list[Sale] = []
        self.trips = 0

    def visit(self, v: TrueVisit, kind: str) -> tuple[datetime, datetime]:
        f = self.floor
        enter, leave = _at(v.enter), _at(v.exit)
        eid = visit_event_id(store_id=f.store_id, zone=v.zone, epc=v.epc, enter_at=enter)
        rf = self.rf
        reads = reads_for(v.exit - v.enter, read_rate_hz=rf.read_rate_hz, miss_rate=rf.miss_rate)
        self.visit_lines.append(
            f"{eid}\t{_copy_text(f.store_id)}\t{_copy_text(v.zone)}\t{v.epc}\t{kind}\t"
            f"{enter.isoformat()}\t{leave.isoformat()}\t{reads}\t{MEAN_RSSI_DBM}\t"
            f"{_copy_text(f.reader_of.get(v.zone, ''))}\t{DEVICE_ID}\n"
        )
        return enter, leave

    def shopper(
        self, trip: TrueTrip, visits: list[TrueVisit], purchases: list[TruePurchase]
    ) -> None:
        rows = [VisitRow(v.zone, *self.visit(v, trip.tag_kind.value)) for v in visits]
        f = self.floor
        assembled = assemble_trips(rows, store_id=f.store_id, epc=trip.epc, zone_kinds=f.zone_kinds)
        for t in assembled:
            self.trip_lines.append(
                f"{t.trip_id}\t{_copy_text(f.store_id)}\t{trip.epc}\t{trip.tag_kind.value}\t"
                f"{t.start_at.isoformat()}\t{t.end_at.isoformat()}\t{_pg_array(t.zones)}\t"
                f"{t.visit_count}\n"
            )
        self.trips += len(assembled)
        if purchases:
            self.sales.append(self._sale(trip, purchases, assembled))

    def _sale(self, trip: TrueTrip, purchases: list[TruePurchase], trips: list[TripRow]) -> Sale:
        at = _at(purchases[0].at)
        linked = next((t for t in reversed(trips) if t.start_at <= at), trips[0])
        lines = tuple(
            SaleLine(
                sku=f"{p.counter}-{int(p.amount * 100) % 997:03d}",
                counter=p.counter,
                category=self.floor.categories.get(p.counter),
                amount=Decimal(f"{p.amount:.2f}"),
            )
            for p in purchases
        )
        card = card_for_epc(trip.epc) if trip.tag_kind == TagKind.MEMBER_CARD else None
        return Sale(
            pos_id=f"BENCH-{trip.shopper_id}",
            at=at,
            member=trip.member,
            card_number=card,
            trip_id=linked.trip_id,
            lines=lines,
        )


def simulate_day(plan: DayPlan) -> DayRows:
    """Simulate [plan.start, plan.end) and turn it into rows (runs in a pool worker).

    A fresh simulator per day: tags are free again overnight, so this is the same world as one
    simulator run over consecutive days, whichever worker gets which day.
    """
    truth = ShopperSimulator(plan.scenario, _layout(), seed=plan.seed).simulate(
        plan.start, plan.end
    )
    by_shopper: dict[int, list[TrueVisit]] = defaultdict(list)
    for v in truth.visits:
        by_shopper[v.shopper_id].append(v)
    bought: dict[int, list[TruePurchase]] = defaultdict(list)
    for p in truth.purchases:
        bought[p.shopper_id].append(p)
    writer = _DayWriter(plan.scenario)
    for trip in truth.trips:
        writer.shopper(trip, by_shopper[trip.shopper_id], bought.get(trip.shopper_id, []))
    for v in truth.staff_visits:
        writer.visit(v, TagKind.STAFF.value)
    return DayRows(
        start=plan.start,
        visits_copy="".join(writer.visit_lines).encode(),
        trips_copy="".join(writer.trip_lines).encode(),
        sales=tuple(writer.sales),
        visits=len(writer.visit_lines),
        trips=writer.trips,
    )


def _in_order(plans: list[DayPlan], workers: int) -> Iterator[DayRows]:
    """Days simulated on ``workers`` processes (0: in this one), yielded in date order with only
    a few days in flight, so memory stays bounded."""
    if workers <= 0:
        yield from map(simulate_day, plans)
        return
    context = multiprocessing.get_context("spawn")  # the caller may hold connections, threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        todo = iter(plans)
        pending: deque[Future[DayRows]] = deque()
        for plan in todo:
            pending.append(pool.submit(simulate_day, plan))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# -- loading --------------------------------------------------------------------------------


async def _prepare(database_url: str, members: int) -> None:
    from server.queries.layout import import_layout

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await import_layout(conn, _layout())
        await demo_data.enrol_demo_members(conn, members)
        await conn.execute(demo_data.DEMO_EXTRAS_SQL)
        await conn.commit()


def _member_ids(conn: psycopg.Connection[Any]) -> dict[int, int]:
    """Member number (the card's serial) -> member.id, for the demo members."""
    rows = conn.execute(
        "SELECT substr(member_no, 2)::int, id FROM member WHERE member_no ~ '^D[0-9]+$'"
    ).fetchall()
    return {int(n): int(i) for n, i in rows}


def _reserve_purchase_ids(conn: psycopg.Connection[Any], n: int) -> int:
    """The first of ``n`` consecutive purchase ids taken from the table's sequence."""
    row = conn.execute(
        "SELECT nextval(pg_get_serial_sequence('purchase', 'id'))",
    ).fetchone()
    assert row is not None
    first = int(row[0])
    if n > 1:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('purchase', 'id'), %s)", (first + n - 1,)
        )
    return first


def _copy_bytes(conn: psycopg.Connection[Any], table: str, columns: str, data: bytes) -> None:
    if not data:
        return
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(data)


def _copy_sales(
    conn: psycopg.Connection[Any], sales: Sequence[Sale], member_ids: dict[int, int], store_id: str
) -> None:
    if not sales:
        return
    first = _reserve_purchase_ids(conn, len(sales))
    with conn.cursor() as cur:
        with cur.copy(f"COPY purchase ({PURCHASE_COLUMNS}) FROM STDIN") as copy:
            for i, s in enumerate(sales):
                member_id = member_ids.get(s.member) if s.member is not None else None
                copy.write_row(
                    (first + i, store_id, REGISTER_ID, s.pos_id, s.at, member_id)
                    + (s.card_number, s.total, s.trip_id, RECORDED_BY)
                )
        with cur.copy(f"COPY purchase_line ({LINE_COLUMNS}) FROM STDIN") as copy:
            for i, s in enumerate(sales):
                for no, ln in enumerate(s.lines, start=1):
                    copy.write_row(
                        (first + i, no, ln.sku, ln.counter, ln.category, 1, ln.amount, 0)
                    )


def load_day(conn: psycopg.Connection[Any], day: DayRows, member_ids: dict[int, int]) -> None:
    """One day's rows in one transaction; trips before sales (a trigger reads the trip)."""
    with conn.transaction():
        _copy_bytes(conn, "zone_visit", VISIT_COLUMNS, day.visits_copy)
        _copy_bytes(conn, "trip", TRIP_COLUMNS, day.trips_copy)
        _copy_sales(conn, day.sales, member_ids, _floor().store_id)


async def _finish(database_url: str, store_id: str, end: datetime) -> None:
    """Give members the tier their spend earned, and mark the days for the daily facts."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await review_tiers(conn, as_of=end, tiers=TierRules())
        await mark_range_dirty(conn, store_id)
        await conn.commit()


def _analyze(conn: psycopg.Connection[Any]) -> None:
    for table in LOADED_TABLES:
        conn.execute(f"ANALYZE {table}")


def populate(
    database_url: str,
    *,
    days: int = 90,
    trips_per_day: int = 5000,
    members: int = 20000,
    end: datetime | None = None,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
    workers: int = 2,
    promotion: Promotion | None = None,
    layout_change: LayoutChange | None = None,
) -> PopulateResult:
    """Fill a migrated database with ``days`` of the demo store's history before ``end``.

    ``promotion`` and ``layout_change`` plant known effects (see :class:`Scenario`). Every
    loaded day is marked for the daily facts, which the server computes when they are read.

    ``workers`` processes simulate days ahead while this one loads them (0: all in here); they
    are spawned, so a script calling this needs the ``if __name__ == "__main__":`` guard.
    """
    say = progress or (lambda msg: logger.info("%s", msg))
    t0 = time.monotonic()
    start, stop = history_window(days=days, end=end)
    asyncio.run(_prepare(database_url, members))
    scenario = bench_scenario(trips_per_day=trips_per_day, members=members).model_copy(
        update={"promotion": promotion, "layout_change": layout_change}
    )
    plans = [DayPlan(scenario, seed, a, b) for a, b in iter_days(start, stop)]
    trips = visits = purchases = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        member_ids = _member_ids(conn)
        for n, day in enumerate(_in_order(plans, workers), start=1):
            load_day(conn, day, member_ids)
            trips, visits = trips + day.trips, visits + day.visits
            purchases += len(day.sales)
            say(
                f"[{n}/{len(plans)}] {day.start:%a %Y-%m-%d}: {day.trips:,} trips, "
                f"{day.visits:,} visits, {len(day.sales):,} sales "
                f"({time.monotonic() - t0:.0f} s)"
            )
        say("analyzing ...")
        _analyze(conn)
    asyncio.run(_finish(database_url, _floor().store_id, stop))
    return PopulateResult(
        days=len(plans),
        trips=trips,
        visits=visits,
        purchases=purchases,
        members=len(member_ids),
        seconds=time.monotonic() - t0,
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m orchestration.bench_data DATABASE_URL [--days N ...]``"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("database_url")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--trips-per-day", type=int, default=5000)
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    result = populate(
        args.database_url,
        days=args.days,
        trips_per_day=args.trips_per_day,
        members=args.members,
        seed=args.seed,
        workers=args.workers,
        progress=lambda msg: print(msg, flush=True),
    )
    print(result, flush=True)


if __name__ == "__main__":
    main()
