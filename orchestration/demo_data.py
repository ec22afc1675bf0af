"""The demo's data side: database preparation, back-fill, the live plan and the truth score."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from firmware_sim.encoders import GID_MANAGER
from firmware_sim.model import TruePurchase, TrueVisit
from firmware_sim.pos import member_card_number
from storeflow.clock import ScaledClock
from storeflow.epc import OBJECT_CLASS_MEMBER_CARD, encode_gid96
from storeflow.layout import StoreLayout, load_layout
from storeflow.wire import SHOPPER_TAG_VALUES

logger = logging.getLogger(__name__)

STORE_ID = "demo"
LAYOUT_PATH = Path(str(resources.files("firmware_sim") / "stores" / "demo.yaml"))
SCENARIO_PATH = Path(str(resources.files("firmware_sim") / "scenarios" / "demo.yaml"))
OPENING_HOUR = 11  # the live part starts at 11:00 store time, when the store is busy


def layout() -> StoreLayout:
    return load_layout(LAYOUT_PATH)


def serial_readers() -> list[str]:
    return [r.id for r in layout().readers if r.protocol == "r2000"]


def reader_protocols() -> dict[str, str]:
    return {r.id: r.protocol for r in layout().readers}


def mqtt_topic(reader_id: str) -> str:
    return f"storeflow/{STORE_ID}/{reader_id}/events"


@dataclass(frozen=True)
class Credentials:
    edge_token: str
    planner_token: str
    admin_token: str
    pos_token: str
    register_token: str  # the till's card scanner (``storeflow register``)
    crm_token: str = ""  # customer care's console


DEMO_MEMBERS_SQL = """
WITH names AS (
    SELECT ARRAY['Wang','Li','Zhang','Liu','Chen','Yang','Huang','Zhao','Wu','Zhou','Xu','Sun',
                 'Ma','Zhu','Hu','Guo','He','Lin','Luo','Gao'] AS family,
           ARRAY['Wei','Fang','Min','Jing','Lei','Yan','Jun','Ying','Hao','Xin','Lan','Tao',
                 'Ning','Bo','Hui','Qiang','Li','Yu','Chen','Mei'] AS given
)
INSERT INTO member (member_no, name, phone, birth_date, gender, joined_at, last_review)
SELECT 'D' || lpad(n::text, 6, '0'),
       family[1 + n %% 20] || ' ' || given[1 + (n / 20) %% 20],
       '138' || lpad(n::text, 8, '0'),
       date '1950-01-01' + (n * 7919) %% 20000,
       CASE WHEN n %% 5 < 3 THEN 'female' ELSE 'male' END,
       now() - ((n * 37) %% 900) * interval '1 day',
       current_date - 30
FROM names, generate_series(1, %s) AS n
ON CONFLICT (member_no) DO NOTHING
"""

DEMO_CARDS_SQL = """
INSERT INTO card (card_number, member_id, epc)
SELECT c.card_number, m.id, c.epc
FROM unnest(%s::text[], %s::text[], %s::text[]) AS c(member_no, card_number, epc)
JOIN member m USING (member_no)
ON CONFLICT (card_number) DO NOTHING
"""

DEMO_EXTRAS_SQL = """
UPDATE member m SET referrer_id = r.id FROM member r
WHERE m.member_no LIKE 'D%' AND r.member_no = 'D' || lpad(
        (substr(m.member_no, 2)::int / 10 + 1)::text, 6, '0')
  AND substr(m.member_no, 2)::int % 10 = 3 AND m.referrer_id IS NULL;
INSERT INTO consent (member_id, purpose, granted, source)
SELECT id, p, substr(member_no, 2)::int % 9 <> 0, 'demo enrolment'
FROM member, unnest(ARRAY['marketing', 'in_store_tracking']) AS p
WHERE member_no LIKE 'D%' AND NOT EXISTS (SELECT 1 FROM consent c WHERE c.member_id = id);
"""


async def enrol_demo_members(conn: psycopg.AsyncConnection[Any], members: int) -> None:
    """Members D000001 ... with one card each: member ``n``'s card tag has GID-96 serial ``n``."""
    await conn.execute(DEMO_MEMBERS_SQL, (members,))
    serials = range(1, members + 1)
    await conn.execute(
        DEMO_CARDS_SQL,
        (
            [f"D{n:06d}" for n in serials],
            [member_card_number(n) for n in serials],
            [encode_gid96(GID_MANAGER, OBJECT_CLASS_MEMBER_CARD, n) for n in serials],
        ),
    )


async def prepare_database(db_url: str) -> Credentials:
    """Wait for the database, migrate, import the demo layout, mint the demo's credentials."""
    from server.db import wait_for_database
    from server.migrate import migrate
    from server.queries.credentials import create_credential
    from server.queries.layout import import_layout

    await wait_for_database(db_url, timeout_s=60)
    await migrate(db_url)
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await import_layout(conn, layout())
        cur = await conn.execute("SELECT count(*) FROM member WHERE member_no LIKE 'D%'")
        row = await cur.fetchone()
        if row is None or row[0] == 0:
            members = load_scenario_for_demo().traffic.members
            await enrol_demo_members(conn, members)
            await conn.execute(DEMO_EXTRAS_SQL)
            await record_planted(conn)
        await seed_customer_care(conn)
        edge = await create_credential(conn, name="demo-edge", role="edge", store_id=STORE_ID)
        pos = await create_credential(
            conn, name="demo-pos", role="cashier", store_id=STORE_ID, register_id="POS1"
        )
        scanner = await create_credential(
            conn, name="demo-scanner", role="register", store_id=STORE_ID, register_id="POS1"
        )
        planner = await create_credential(conn, name="demo-dashboard", role="planner", chain=True)
        admin = await create_credential(conn, name="demo-admin", role="admin")
        care = await create_credential(conn, name="demo-care", role="crm")
        await conn.commit()
    return Credentials(
        edge_token=edge,
        planner_token=planner,
        admin_token=admin,
        pos_token=pos,
        register_token=scanner,
        crm_token=care,
    )


def server_env(data_dir: Path, *, headless: bool) -> dict[str, str]:
    """The demo server's settings: earning rules with a referral reward (unless rules are set
    already); headless, nobody reads the dashboard facts, so the server does not keep them warm
    (the live store at 30x needs every core it can get)."""
    from orchestration import demo_crm

    env = {"STOREFLOW_ROLLUP_INTERVAL_S": "3600"} if headless else {}
    if "STOREFLOW_EARNING_RULES" not in os.environ:
        env["STOREFLOW_EARNING_RULES"] = str(demo_crm.earning_rules_file(data_dir))
    return env


async def seed_customer_care(conn: psycopg.AsyncConnection[Any]) -> None:
    """Complaints, follow-ups, referrals and past months' class snapshots (once per database;
    orchestration/demo_crm.py). The snapshots wait for the store's first sales."""
    from orchestration import demo_crm

    tz, now = layout().store.timezone, datetime.now(UTC)
    if await demo_crm.seed_crm(conn, store_id=STORE_ID, timezone=tz, now=now):
        _say("seeded the customer care console: complaints, follow-ups, referrals")
    await plant_class_history(conn)


async def plant_class_history(conn: psycopg.AsyncConnection[Any]) -> None:
    """Past months' class snapshots ending in each member's current class, once the store has
    sales and no history yet (orchestration/demo_crm.py)."""
    from orchestration import demo_crm

    planted = await demo_crm.plant_class_history(
        conn, store_id=STORE_ID, timezone=layout().store.timezone, now=datetime.now(UTC)
    )
    if planted:
        _say(f"planted {planted:,} class snapshots of past months, ending in today's classes")


async def plant_class_history_at(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await plant_class_history(conn)


async def record_planted(conn: psycopg.AsyncConnection[Any]) -> None:
    """The planted promotion and layout change in the store's calendar, as a planner records
    them: the dashboard's charts mark them and the overview says what they did."""
    from server.queries.calendar import add_event
    from storeflow.api.calendar import EventIn

    scenario = load_scenario_for_demo()
    promo, change = scenario.promotion, scenario.layout_change
    if promo is not None:
        event = EventIn(
            kind="promotion",
            title=f"Promotion of {promo.counter}",
            first_day=promo.start,
            last_day=promo.end,
            counters=[promo.counter],
        )
        await add_event(conn, STORE_ID, event, recorded_by="demo")
    if change is not None:
        moved = [change.counter] + ([change.swap_with] if change.swap_with else [])
        event = EventIn(
            kind="layout_change",
            title=f"{' and '.join(moved)} trade places" if change.swap_with else "Layout change",
            first_day=change.date,
            counters=moved,
        )
        await add_event(conn, STORE_ID, event, recorded_by="demo")


def load_scenario_for_demo(noise: str | None = None, *, today: date | None = None) -> Any:
    """The demo scenario with a promotion and a layout change planted in the back-fill window
    (unless the scenario file plants its own): counter C06 promoted (+50 % attraction, +20 %
    conversion) from 6 to 3 days ago, and counters C03 and C07 trading places 7 days ago."""
    from firmware_sim.scenario import LayoutChange, Promotion, load_scenario

    scenario = load_scenario(SCENARIO_PATH, noise=noise)
    day = today or datetime.now(ZoneInfo(layout().store.timezone)).date()
    planted: dict[str, Any] = {}
    if scenario.promotion is None:
        planted["promotion"] = Promotion(
            counter="C06",
            start=day - timedelta(days=6),
            end=day - timedelta(days=3),
            attraction_uplift=0.5,
            conversion_uplift=0.2,
        )
    if scenario.layout_change is None:
        planted["layout_change"] = LayoutChange(
            counter="C03", date=day - timedelta(days=7), swap_with="C07"
        )
    return scenario.model_copy(update=planted)


async def data_end(db_url: str) -> datetime | None:
    """When the stored history ends (the latest visit exit), or None for an empty store."""
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        cur = await conn.execute(
            "SELECT max(exit_at) FROM zone_visit WHERE store_id = %s", (STORE_ID,)
        )
        row = await cur.fetchone()
    return row[0] if row else None


def choose_live_start(*, now: datetime, data_end: datetime | None) -> datetime:
    """Start the live simulation at the latest 11:00 (store time) not in the future, or where the
    stored history ends if that is later (a second run continues the first)."""
    start = now.replace(hour=OPENING_HOUR, minute=0, second=0, microsecond=0)
    if start > now:
        start -= timedelta(days=1)
    if data_end is not None and data_end > start:
        start = data_end.replace(microsecond=0) + timedelta(minutes=1)
    return start


@dataclass
class LivePlan:
    sim_epoch: float
    wall_start: float
    speed: float
    mqtt_url: str
    serial_ports: dict[str, int]
    truth_dir: Path
    noise: str
    api_url: str
    scanner_port: int
    clock: ScaledClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = ScaledClock(
            sim_epoch=self.sim_epoch, wall_start=self.wall_start, scale=self.speed
        )

    def sim_now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), tz=UTC)

    def sim_args(self) -> list[str]:
        ports = ",".join(f"{rid}={port}" for rid, port in self.serial_ports.items())
        return [
            "sim",
            "run",
            "--speed",
            str(self.speed),
            "--sim-epoch",
            str(self.sim_epoch),
            "--wall-start",
            str(self.wall_start),
            "--mqtt-url",
            self.mqtt_url,
            "--serial-ports",
            ports,
            "--truth-dir",
            str(self.truth_dir),
            "--noise",
            self.noise,
            "--pos-url",
            self.api_url,
            "--scanner-port",
            str(self.scanner_port),
        ]


def edge_readers(live: LivePlan) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rid, proto in reader_protocols().items():
        if proto == "r2000":
            port = live.serial_ports[rid]
            out.append(
                {"id": rid, "protocol": proto, "serial": {"url": f"socket://127.0.0.1:{port}"}}
            )
        else:
            out.append(
                {
                    "id": rid,
                    "protocol": proto,
                    "mqtt": {"url": live.mqtt_url, "topic": mqtt_topic(rid)},
                }
            )
    return out


@dataclass(frozen=True)
class DayResult:
    day: str
    reads: int
    visits: int
    seconds: float
    left: int
    purchases: list[TruePurchase] = field(default_factory=list)  # the day's sales, to post


# Set in back-fill worker processes (by _init_worker): where a slice reports how far it got.
_PROGRESS: Any = None
PROGRESS_EVERY_READS = 20_000
OUTBOX_BATCH = 2_000  # closed visits written to a slice's outbox together
UPLOAD_BATCH = 5_000  # visits per ingest request (the columnar encoding)


def backfill_workers() -> int:
    """The back-fill's worker processes: one per core (at least two)."""
    return max(2, os.cpu_count() or 1)


def _init_worker(progress: Any, nice: int) -> None:
    """A back-fill worker: below the live store in CPU priority, quiet in the log (no line per
    HTTP request), reporting progress to the parent."""
    global _PROGRESS
    _PROGRESS = progress
    if nice:
        os.nice(nice)
    logging.getLogger().setLevel(logging.WARNING)


def _report(key: str, sim_t: float, reads: int) -> None:
    if _PROGRESS is not None:
        _PROGRESS.put((key, sim_t, reads))


def backfill_day(
    *,
    api_url: str,
    token: str,
    start: datetime,
    end: datetime,
    noise: str,
    work_dir: Path,
) -> DayResult:
    """One slice of history through the real edge code (encode, decode, track, outbox, uplink);
    returns the counts and the slice's sales, for the tills to post once its visits are in.

    The reads go to the edge's decoders a block at a time (:func:`replay_blocks`: the same
    bytes, chunks and times as read by read); the visits leave the outbox on a thread of their
    own while the next reads are tracked, so the slice does not wait for the server."""
    from edge.agent import tag_kind
    from edge.outbox import Outbox
    from edge.pipeline import EdgePipeline
    from edge.uplink import Uplink
    from edge.zones import AntennaMap
    from firmware_sim.live import backfill_read_blocks
    from orchestration.replay import replay_blocks

    scenario = load_scenario_for_demo(noise)
    lay = layout()
    key = start.isoformat()
    outbox = Outbox(work_dir / f"backfill-{start:%Y%m%d%H%M}.outbox.sqlite")
    uplink = Uplink(
        server_url=api_url,
        token=token,
        device_id="edge-demo-backfill",
        outbox=outbox,
        batch_size=UPLOAD_BATCH,
    )
    pipeline = EdgePipeline(
        store_id=STORE_ID,
        antenna_map=AntennaMap.from_layout(lay),
        kind_of=tag_kind,
        outbox=outbox,
        outbox_batch=OUTBOX_BATCH,
    )
    blocks, truth = backfill_read_blocks(scenario, lay, start, end)
    sent = threading.Event()
    sender = threading.Thread(
        target=uplink.run, args=(sent,), kwargs={"idle_s": 0.2}, name="uplink", daemon=True
    )
    sender.start()
    try:
        stats = replay_blocks(
            blocks,
            pipeline=pipeline,
            protocols=reader_protocols(),
            progress=lambda s: _report(key, s.last_ts, s.reads_in),
            progress_every=PROGRESS_EVERY_READS,
        )
    finally:
        sent.set()
        sender.join()
    left = uplink.drain(max_attempts=50)
    uplink.close()
    outbox.close()
    _report(key, end.timestamp(), stats.reads_in)
    return DayResult(
        f"{start:%a %d %b}",
        stats.reads_in,
        pipeline.visits_out,
        stats.seconds,
        left,
        sorted(truth.purchases, key=lambda p: p.at),
    )


SALES_LANES = 4  # tills posting a back-filled day's sales side by side


def sales_lane(purchase: TruePurchase, lanes: int) -> int:
    """The lane (till) that posts ``purchase``: one per tag, so a member's sales keep their
    order (each sees the tier and points the sales before it left). Pure."""
    return zlib.crc32(purchase.epc.encode()) % lanes


class SalesPoster:
    """The tills' sales of back-filled days, posted through the POS API on threads of their
    own, a day at a time once the day's visits are in (a sale is linked to its trip when it is
    recorded), while the workers simulate the next days. A sale waits on the server's
    transaction, so ``lanes`` tills post side by side, each a share of the tags
    (:func:`sales_lane`)."""

    def __init__(
        self, *, api_url: str, pos_token: str, stop: threading.Event, lanes: int = SALES_LANES
    ) -> None:
        import queue

        self._api_url = api_url
        self._token = pos_token
        self._stop = stop
        self._queues: list[queue.Queue[list[TruePurchase] | None]] = [
            queue.Queue() for _ in range(max(1, lanes))
        ]
        self._done: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name=f"sales-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        for t in self._threads:
            t.start()

    @property
    def posted(self) -> int:
        with self._lock:
            return sum(p for p, _ in self._done)

    @property
    def failed(self) -> int:
        with self._lock:
            return sum(f for _, f in self._done)

    def add(self, purchases: list[TruePurchase]) -> None:
        """A day's sales, in time order."""
        shares: list[list[TruePurchase]] = [[] for _ in self._queues]
        for p in purchases:
            shares[sales_lane(p, len(shares))].append(p)
        for q, share in zip(self._queues, shares, strict=True):
            q.put(share)

    def finish(self) -> None:
        """Wait until every day added so far is posted (or the back-fill was stopped)."""
        for q in self._queues:
            q.put(None)
        for t in self._threads:
            t.join()

    def _run(self, days: Any) -> None:
        from firmware_sim.pos import PosClient

        pos = PosClient(
            base_url=self._api_url,
            token=self._token,
            store_id=STORE_ID,
            register_id="POS1",
            categories={c.code: c.category for c in layout().counters},
        )
        try:
            while (day := days.get()) is not None:
                for purchase in day:
                    if self._stop.is_set():
                        break
                    pos.post(purchase)
        finally:
            with self._lock:
                self._done.append((pos.posted, pos.failed))
            pos.close()


@dataclass(frozen=True)
class BackfillSummary:
    """What a back-fill did: slices (calendar days) done, reads simulated, visits tracked."""

    slices: int
    done: int
    reads: int
    visits: int
    seconds: float
    interrupted: bool = False


@dataclass
class BackfillProgress:
    """How far a back-fill of several slices is, from the workers' reports."""

    slices: list[tuple[datetime, datetime]]
    reached: dict[str, float] = field(default_factory=dict)  # slice start -> simulated time
    reads: dict[str, int] = field(default_factory=dict)
    done: int = 0

    def note(self, key: str, sim_t: float, reads: int) -> None:
        self.reached[key] = max(self.reached.get(key, 0.0), sim_t)
        self.reads[key] = max(self.reads.get(key, 0), reads)

    def fraction(self) -> float:
        """Share of the simulated time covered, over all slices."""
        total = sum((b - a).total_seconds() for a, b in self.slices)
        covered = 0.0
        for a, b in self.slices:
            t = self.reached.get(a.isoformat())
            if t is not None:
                covered += min(max(t - a.timestamp(), 0.0), (b - a).total_seconds())
        return covered / total if total > 0 else 1.0

    def line(self, elapsed_s: float) -> str:
        from orchestration.progress import eta_text, progress_bar

        f = self.fraction()
        reads = sum(self.reads.values())
        rate = reads / elapsed_s if elapsed_s > 0 else 0.0
        return (
            f"back-fill {progress_bar(f)} {f:4.0%}  {self.done}/{len(self.slices)} days  "
            f"{reads:,} reads ({rate:,.0f}/s)  about {eta_text(f, elapsed_s)} left"
        )


def backfill(
    *,
    api_url: str,
    token: str,
    start: datetime,
    end: datetime,
    noise: str,
    work_dir: Path,
    stop: threading.Event,
    pos_token: str | None = None,
    workers: int | None = None,
    nice: int = 0,
    db_url: str | None = None,
) -> BackfillSummary:
    """Simulate [start, end) a day at a time, newest day first, on ``workers`` processes
    (``nice``: their CPU priority below this one's, so a live store next to them keeps up);
    with ``pos_token``, each day's sales follow its visits through the POS API
    (:class:`SalesPoster`). With ``db_url``, a back-fill that ran to the end plants the past
    months' class snapshots from the classes its sales give (:func:`plant_class_history`)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from queue import Empty

    from firmware_sim.shoppers import iter_days
    from orchestration.progress import ProgressLine

    if end <= start:
        return BackfillSummary(slices=0, done=0, reads=0, visits=0, seconds=0.0)
    slices = list(iter_days(start, end))[::-1]
    workers = workers or backfill_workers()
    _say(
        f"back-filling {len(slices)} simulated days ({start:%Y-%m-%d} .. {end:%Y-%m-%d %H:%M}), "
        f"newest first, through the edge decoders and tracker on {workers} processes"
    )
    t0 = time.monotonic()
    state = BackfillProgress(slices)
    shown = ProgressLine()
    total_reads = total_visits = 0
    reports: Any = multiprocessing.Queue()
    sales = SalesPoster(api_url=api_url, pos_token=pos_token, stop=stop) if pos_token else None

    def summary(*, interrupted: bool = False) -> BackfillSummary:
        if sales is not None:
            sales.finish()
        return BackfillSummary(
            slices=len(slices),
            done=state.done,
            reads=total_reads,
            visits=total_visits,
            seconds=round(time.monotonic() - t0, 1),
            interrupted=interrupted,
        )

    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(reports, nice)
    ) as pool:
        pending: set[Future[DayResult]] = {
            pool.submit(
                backfill_day,
                api_url=api_url,
                token=token,
                start=a,
                end=b,
                noise=noise,
                work_dir=work_dir,
            )
            for a, b in slices
        }
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while True:
                try:
                    state.note(*reports.get_nowait())
                except Empty:
                    break
            for fut in finished:
                try:
                    r = fut.result()
                except Exception:
                    if stop.is_set():  # Ctrl-C reached the workers too
                        shown.done("back-fill interrupted")
                        return summary(interrupted=True)
                    raise
                state.done += 1
                total_reads += r.reads
                total_visits += r.visits
                if sales is not None:
                    sales.add(r.purchases)
            shown.update(state.line(time.monotonic() - t0))
            if stop.is_set():
                for fut in pending:
                    fut.cancel()
                shown.done("back-fill interrupted")
                return summary(interrupted=True)
    if sales is not None:
        shown.update(state.line(time.monotonic() - t0) + "  (the last sales)")
        sales.finish()
    elapsed = time.monotonic() - t0
    shown.done(
        f"back-fill done: {len(slices)} days, {total_reads:,} reads -> {total_visits:,} visits "
        f"in {elapsed:.0f} s ({total_reads / elapsed:,.0f} reads/s)"
    )
    if db_url is not None:
        asyncio.run(plant_class_history_at(db_url))
    return BackfillSummary(
        slices=len(slices),
        done=state.done,
        reads=total_reads,
        visits=total_visits,
        seconds=round(elapsed, 1),
    )


async def score_live(
    db_url: str, *, truth_dir: Path, start: datetime, end: datetime
) -> dict[str, Any]:
    """Visits and trips stored for the live window, scored against the simulator's truth.

    The card tags of members who did not consent to tracking are stored under the server's
    keyed pseudonym (server/privacy/tracking.py); the simulator knows the true tags, so each
    pseudonym is mapped back to its tag before scoring (the same tag, stored as the law asks)."""
    from firmware_sim.evaluate import DetectedVisit, score_visits
    from firmware_sim.truth import read_truth_visits
    from server.privacy.keys import hasher, keys_from
    from server.settings import Settings

    margin = 15.0  # visits still open when the simulation stopped are not judged
    lo, hi = start.timestamp(), end.timestamp() - margin
    truth: list[TrueVisit] = [
        v for v in read_truth_visits(truth_dir) if v.enter >= lo and v.exit <= hi
    ]
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        keyed = await hasher(conn, keys_from(Settings()))
        true_tag = {keyed.untracked_epc(t.epc): t.epc for t in truth}
        cur = await conn.execute(
            "SELECT epc, zone, extract(epoch from enter_at)::float8, "
            "extract(epoch from exit_at)::float8 FROM zone_visit "
            "WHERE store_id = %s AND enter_at >= %s AND enter_at < %s "
            "AND tag_kind = ANY(%s)",
            (STORE_ID, start, end, list(SHOPPER_TAG_VALUES)),
        )
        rows = await cur.fetchall()
        cur = await conn.execute(
            "SELECT count(*) FROM trip WHERE store_id = %s AND start_at >= %s AND start_at < %s",
            (STORE_ID, start, end),
        )
        trips_row = await cur.fetchone()
    detected = [
        DetectedVisit(epc=true_tag.get(r[0]) or r[0], zone=r[1], enter=r[2], exit=r[3])
        for r in rows
        if lo <= r[2] and r[3] <= hi
    ]
    score = score_visits(truth, detected)
    return {
        "visits": len(rows),
        "trips": int(trips_row[0]) if trips_row else 0,
        "visit_precision": round(score.precision, 4),
        "visit_recall": round(score.recall, 4),
        "dwell_median_abs_error_s": round(score.dwell_median_abs_error_s, 2),
        "dwell_p90_abs_error_s": round(score.dwell_p90_abs_error_s, 2),
        "exact_path_share": round(score.exact_path_share, 4),
        "truth_visits": len(truth),
        "sim_minutes": round((end - start).total_seconds() / 60, 1),
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
