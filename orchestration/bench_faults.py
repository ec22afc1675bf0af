"""``storeflow bench faults``: visits lost or duplicated while one fault at a time hits the live
pipeline, scored against the simulator's ground truth.

The live pipeline, every part a real process or socket: simulated readers (R2000 serial frames on
TCP sockets, Impinj IoT JSON on MQTT) -> an edge agent process -> a TCP proxy (the network that can
be cut) -> a ``storeflow server`` process -> a TCP proxy -> a private PostgreSQL. One row per fault:

* ``none``: no fault (the baseline);
* ``edge_kill``: the edge agent is killed with SIGKILL and started again;
* ``server_kill``: the server is killed with SIGKILL and started again;
* ``db_restart``: PostgreSQL is stopped and started again;
* ``broker_restart``: the MQTT broker is stopped and started again (the readers queue meanwhile);
* ``network_cut``: the edge -> server network is cut, then restored;
* ``disk_full``: the edge's outbox cannot write (the edge process may not grow any file: a real
  "file too large" from the kernel through ``RLIMIT_FSIZE``), then can again;
* ``db_cut_at_commit``: the server's PostgreSQL connections are cut at the COMMIT of a write, the
  moment before the edge is answered 200.

**Time is simulated and in lock-step**, so the figures do not depend on spare CPU: the edge reads
its clock from a file (``clock.file`` in its config) that the bench sets. The bench advances
simulated time a step at a time: it sets the clock to the step's end, sends the step's reads, and
waits (on the edge's ``/metrics``) until the edge has taken every one of them before the next
step. A fault lasts ``outage_s`` simulated seconds (the simulated readers go on reading; a serial
reader with no host loses its reads, an MQTT reader queues them) and at least ``min_wall_s`` wall
seconds; while the edge or the broker is down the bench does not wait for the readers it cannot
reach, and waits for them to catch up once the fault is over.

Scoring reuses :func:`firmware_sim.evaluate.score_visits` (the matching of ``storeflow sim
evaluate`` and of the headless demo): *lost* = true visits no stored visit matches, *extra* =
stored visits that match no true visit (duplicated, split or phantom).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from firmware_sim.evaluate import DetectedVisit, match_visits, score_visits
from firmware_sim.live import backfill_reads, batch_by_reader
from firmware_sim.model import SimRead, TrueVisit
from firmware_sim.mqtt_emitter import ImpinjMqttEmitter
from firmware_sim.serial_emitter import R2000SocketEmitter
from orchestration import demo_data
from orchestration.broker import BrokerProcess
from orchestration.procs import storeflow_command, wait_http
from orchestration.tcp_proxy import COMMIT, TcpProxy
from storeflow.clock import set_file_clock
from storeflow.net import free_port
from storeflow.wire import SHOPPER_TAG_VALUES

logger = logging.getLogger(__name__)

# A Monday at 11:00, a busy hour; in the past (the server refuses visits from the future) and
# well inside the server's accepted age (STOREFLOW_INGEST_MAX_AGE_DAYS).
FIRST_ROW = datetime(2025, 1, 6, 11, 0, tzinfo=UTC)
ROW_SPACING = timedelta(days=7)  # each row on its own Monday: no two rows share a visit
TRANSPORT_DELAY_S = 0.02  # the step's reads arrive this long after the step's end
TAIL_S = 15.0  # simulated seconds after the last read, for every visit to time out
SYNC_TIMEOUT_S = 60.0  # wall seconds the edge may take to catch up
READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Fault:
    name: str
    label: str
    outage_s: float  # simulated seconds the fault lasts
    min_wall_s: float = 0.0  # ... and at least this many wall seconds


FAULTS: tuple[Fault, ...] = (
    Fault("none", "none (baseline)", 0.0),
    Fault("edge_kill", "edge agent kill -9 and restart", 3.0),
    Fault("server_kill", "server kill -9 and restart", 20.0, min_wall_s=1.0),
    Fault("db_restart", "PostgreSQL restart", 20.0, min_wall_s=1.0),
    Fault("broker_restart", "MQTT broker restart", 15.0, min_wall_s=1.0),
    Fault("network_cut", "edge -> server network cut, restored", 30.0, min_wall_s=3.0),
    Fault("disk_full", "edge outbox disk full", 60.0, min_wall_s=2.0),
    Fault("db_cut_at_commit", "PostgreSQL cut at COMMIT, before the 200", 20.0, min_wall_s=2.0),
)
FAULT_NAMES = tuple(f.name for f in FAULTS)


@dataclass(frozen=True)
class RowResult:
    fault: str
    label: str
    true_visits: int
    stored_visits: int
    matched: int
    lost: int
    extra: int  # stored visits matching no true visit: duplicated, split or phantom
    reads: int
    left_in_outbox: int  # events the edge still held at the end (not sent)
    sync_timeouts: int  # steps the edge did not catch up with in time
    edge_status: str  # the edge's own word on itself at the end of the row
    wall_s: float


@dataclass(frozen=True)
class BenchPlan:
    shoppers: int = 40
    minutes: float = 10.0
    step_s: float = 0.5
    noise: str = "clean"
    faults: tuple[str, ...] = FAULT_NAMES
    outage_s: float | None = None  # override every row's


# -- the rig: the parts that outlive a row ----------------------------------------------------


class Rig:
    """PostgreSQL, the MQTT broker and the server, with proxies in front of the server and of
    PostgreSQL; started by :meth:`start`, stopped by :meth:`close`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.pg: Any = None
        self.pg_proxy: TcpProxy | None = None
        self.server_proxy: TcpProxy | None = None
        self.broker: BrokerProcess | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.server_port = free_port()
        self.db_url = ""
        self.edge_token = ""

    def start(self) -> None:
        import asyncio

        from server.embedded_pg import EmbeddedPostgres

        self.pg = EmbeddedPostgres(self.work_dir / "pgdata", fsync=False)
        self.pg.start()
        self.db_url = self.pg.url
        creds = asyncio.run(demo_data.prepare_database(self.db_url))
        self.edge_token = creds.edge_token
        with psycopg.connect(self.db_url) as conn:  # visits stored under the true tags, to score
            conn.execute("UPDATE consent SET granted = true WHERE purpose = 'in_store_tracking'")
        self.pg_proxy = TcpProxy.for_url(self.db_url).__enter__()
        kind = "mosquitto" if shutil.which("mosquitto") else "amqtt"
        self.broker = BrokerProcess(kind, self.work_dir / "mqtt", persistence=True)
        self.broker.start()
        self.start_server()
        self.server_proxy = TcpProxy("127.0.0.1", self.server_port).__enter__()

    @property
    def server_url(self) -> str:
        """Where the edge sends its batches: through the proxy."""
        assert self.server_proxy is not None
        return self.server_proxy.url

    def start_server(self) -> None:
        assert self.pg_proxy is not None
        log = (self.work_dir / "server.log").open("ab")
        try:
            self.server = subprocess.Popen(
                storeflow_command(
                    "--log-level",
                    "WARNING",
                    "server",
                    "--port",
                    str(self.server_port),
                    "--database-url",
                    self.pg_proxy.url_for(self.db_url),
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                # the rig's own PostgreSQL is plain: a STOREFLOW_TIMESCALE=require meant for
                # another server (the test suite's, say) must not stop this one from starting
                env={
                    **os.environ,
                    "STOREFLOW_ROLLUP_INTERVAL_S": "3600",
                    "STOREFLOW_TIMESCALE": "off",
                },
                start_new_session=True,
            )
        finally:
            log.close()
        wait_http(
            f"http://127.0.0.1:{self.server_port}/api/v1/health",
            timeout_s=90,
            check=self._server_alive,
        )

    def _server_alive(self) -> None:
        if self.server is not None and (code := self.server.poll()) is not None:
            tail = (self.work_dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with code {code} before answering:\n{tail}")

    def kill_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(10)

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(20)
            except subprocess.TimeoutExpired:
                self.kill_server()
        for proxy in (self.server_proxy, self.pg_proxy):
            if proxy is not None:
                proxy.close()
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()


# -- the edge agent process --------------------------------------------------------------------

_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class EdgeSample:
    """What the edge's ``/metrics`` said."""

    reads: dict[str, int] = field(default_factory=dict)
    connected: dict[str, bool] = field(default_factory=dict)
    outbox_depth: int = 0
    outbox_held: int = 0
    degraded: bool = False


def parse_metrics(text: str) -> EdgeSample:
    """The few numbers the bench needs from the edge's Prometheus text (pure)."""
    out = EdgeSample()
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue
        name, labels, value = m.group(1), dict(_LABEL.findall(m.group(2))), float(m.group(3))
        reader = labels.get("reader", "")
        if name == "storeflow_reader_reads_total":
            out.reads[reader] = int(value)
        elif name == "storeflow_reader_connected":
            out.connected[reader] = value == 1.0
        elif name == "storeflow_edge_outbox_depth":
            out.outbox_depth = int(value)
        elif name == "storeflow_edge_outbox_held":
            out.outbox_held = int(value)
        elif name == "storeflow_edge_degraded":
            out.degraded = value == 1.0
    return out


class EdgeProcess:
    """``storeflow edge`` on a config of the bench's making, with its ``/metrics`` on."""

    def __init__(self, work_dir: Path, config: dict[str, Any], token: str) -> None:
        self.work_dir = work_dir
        self.config_path = work_dir / "edge.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.metrics_url = f"http://127.0.0.1:{config['metrics']['port']}/metrics"
        self.outbox_path = Path(config["outbox"]["path"])
        self.token = token
        self.proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=5.0)

    def start(self) -> None:
        log = (self.work_dir / "edge.log").open("ab")
        try:
            self.proc = subprocess.Popen(
                storeflow_command("edge", "--config", str(self.config_path)),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "STOREFLOW_EDGE_TOKEN": self.token},
                start_new_session=True,
            )
        finally:
            log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 60.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("the edge did not stop in %.0f s; killing it", timeout)
            self.kill9()

    def sample(self) -> EdgeSample | None:
        try:
            r = self._http.get(self.metrics_url)
        except httpx.HTTPError:
            return None
        return parse_metrics(r.text) if r.status_code == 200 else None

    def wait(self, ok: Callable[[EdgeSample], bool], timeout: float) -> EdgeSample | None:
        """Poll the metrics until ``ok``; the last sample when it held, else None."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            if not self.alive():
                tail = (self.work_dir / "edge.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the edge agent exited:\n{tail}")
            s = self.sample()
            if s is not None and ok(s):
                return s
            if time.monotonic() >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def left_in_outbox(self) -> int:
        """Events still in the outbox file (after the agent stopped)."""
        import sqlite3

        if not self.outbox_path.exists():
            return 0
        db = sqlite3.connect(self.outbox_path)
        try:
            (n,) = db.execute(
                'SELECT count(*) FROM outbox WHERE body NOT LIKE \'%"kind":"heartbeat"%\''
            ).fetchone()
            return int(n)
        finally:
            db.close()

    def close(self) -> None:
        self.stop()
        self._http.close()


# -- one row ---------------------------------------------------------------------------------


def row_scenario(shoppers: int, minutes: float, start: datetime, noise: str) -> Any:
    """The demo scenario with its traffic set so that about ``shoppers`` arrive in the
    ``minutes`` from ``start`` (an opening hour), and enough tags that none is needed twice."""
    from firmware_sim.scenario import load_scenario

    scenario = load_scenario(demo_data.SCENARIO_PATH, noise=noise)
    base = scenario.traffic
    hour = start.hour - base.open_hour
    if not 0 <= hour < len(base.hourly_weights):
        raise ValueError(f"{start:%H:%M} is outside the store's opening hours")
    share = base.hourly_weights[hour] / sum(base.hourly_weights)
    per_day = shoppers / (minutes / 60.0) / share / base.weekday_factors[start.weekday()]
    scale = max(per_day / base.trips_per_day, 1.0)
    traffic = base.model_copy(
        update={
            "trips_per_day": per_day,
            "members": int(base.members * scale),
            "carts": int(base.carts * scale),
            "baskets": int(base.baskets * scale),
        }
    )
    return scenario.model_copy(update={"traffic": traffic})


class _Readers:
    """The simulated readers of one row, and what each has sent the edge so far."""

    def __init__(self, broker_url: str, topic_prefix: str) -> None:
        self.protocols = demo_data.reader_protocols()
        self.serial: dict[str, R2000SocketEmitter] = {}
        self.mqtt: dict[str, ImpinjMqttEmitter] = {}
        self.topics: dict[str, str] = {}
        for rid, proto in self.protocols.items():
            if proto == "r2000":
                self.serial[rid] = R2000SocketEmitter()
            elif proto == "impinj_iot":
                self.topics[rid] = f"{topic_prefix}/{rid}/events"
                self.mqtt[rid] = ImpinjMqttEmitter(broker_url, self.topics[rid], rid)
            else:
                raise ValueError(f"reader {rid}: the fault bench has no {proto} reader")
        self.emitted = dict.fromkeys(self.protocols, 0)

    def edge_readers(self, broker_url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rid, em in self.serial.items():
            out.append({"id": rid, "protocol": "r2000", "serial": {"url": em.url}})
        for rid in self.mqtt:
            out.append(
                {
                    "id": rid,
                    "protocol": "impinj_iot",
                    "mqtt": {"url": broker_url, "topic": self.topics[rid]},
                }
            )
        return out

    def emit(self, reads: Sequence[SimRead]) -> None:
        for rid, batch in batch_by_reader(reads).items():
            if rid in self.serial:
                self.serial[rid].emit(batch)
            else:
                self.mqtt[rid].emit(batch)
            self.emitted[rid] += len(batch)

    def delivered(self, rid: str) -> int:
        """Reads that reached the edge's side: on the wire (serial), or published or queued
        by the reader for it (MQTT, which the broker keeps for the edge's session)."""
        if rid in self.serial:
            return self.serial[rid].stats.reads_sent
        return self.emitted[rid]

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for em in self.serial.values():
            if not em.wait_client(max(deadline - time.monotonic(), 0.0)):
                return False
        return all(
            em.wait_connected(max(deadline - time.monotonic(), 0.0)) for em in self.mqtt.values()
        )

    def close(self) -> None:
        for s in self.serial.values():
            s.close()
        for m in self.mqtt.values():
            m.close()


class _Row:
    """One row: the readers, the edge, the lock-step driver and the fault."""

    def __init__(
        self, rig: Rig, fault: Fault, plan: BenchPlan, start: datetime, work_dir: Path
    ) -> None:
        self.rig = rig
        self.fault = fault
        self.plan = plan
        self.start = start
        self.work_dir = work_dir
        self.clock_path = work_dir / "clock"
        assert rig.broker is not None
        self.readers = _Readers(rig.broker.url, f"storeflow/{demo_data.STORE_ID}/{fault.name}")
        config = {
            "device_id": f"edge-faults-{fault.name}"[:64],
            "store_id": demo_data.STORE_ID,
            "layout": str(demo_data.LAYOUT_PATH),
            "server": {"url": rig.server_url},
            "readers": self.readers.edge_readers(rig.broker.url),
            "outbox": {"path": str(work_dir / "outbox.sqlite")},
            "uplink": {"heartbeat_s": 10.0},
            "clock": {"file": str(self.clock_path)},
            "metrics": {"enabled": True, "port": free_port()},
        }
        self.edge = EdgeProcess(work_dir, config, rig.edge_token)
        self.base = dict.fromkeys(self.readers.protocols, 0)  # counted before this edge process
        self.waiting = set(self.readers.protocols)  # readers whose reads the edge can take now
        self.sync_timeouts = 0

    # -- lock-step -------------------------------------------------------------------------

    def set_clock(self, t: float) -> None:
        set_file_clock(self.clock_path, t)

    def sync(self, timeout: float = SYNC_TIMEOUT_S) -> None:
        """Wait until the edge has taken every read sent to the readers it can reach."""
        need = {r: self.readers.delivered(r) - self.base[r] for r in self.waiting}
        if not need:
            return
        got = self.edge.wait(
            lambda s: all(s.reads.get(r, 0) >= n for r, n in need.items()), timeout
        )
        if got is None:
            self.sync_timeouts += 1
            logger.warning("the edge did not take every read in %.0f s: %s", timeout, need)

    def wait_ready(self) -> None:
        """The edge answers, every reader of it is connected, and so is every reader's end."""
        readers = set(self.readers.protocols)
        got = self.edge.wait(
            lambda s: all(s.connected.get(r, False) for r in readers), READY_TIMEOUT_S
        )
        if got is None or not self.readers.wait_connected(READY_TIMEOUT_S):
            tail = (self.work_dir / "edge.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the edge or the readers did not connect:\n{tail}")

    # -- faults ------------------------------------------------------------------------------

    def begin_fault(self) -> None:
        name, rig = self.fault.name, self.rig
        logger.info("fault %s begins", name)
        if name == "edge_kill":
            self.edge.kill9()
            self.waiting.clear()
        elif name == "server_kill":
            rig.kill_server()
        elif name == "db_restart":
            rig.pg.stop()
        elif name == "broker_restart":
            assert rig.broker is not None
            rig.broker.stop()
            self.waiting -= set(self.readers.mqtt)
        elif name == "network_cut":
            assert rig.server_proxy is not None
            rig.server_proxy.cut()
        elif name == "disk_full":
            _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(self.edge.pid, resource.RLIMIT_FSIZE, (1, hard))
        elif name == "db_cut_at_commit":
            assert rig.pg_proxy is not None
            rig.pg_proxy.cut_at(COMMIT, times=1_000_000)

    def end_fault(self) -> None:
        name, rig = self.fault.name, self.rig
        logger.info("fault %s ends", name)
        if name == "edge_kill":
            # what the old process took of the MQTT readers; the broker keeps the rest
            consumed = {r: self.readers.delivered(r) for r in self.readers.mqtt}
            self.edge.start()
            self.wait_ready()
            for r in self.readers.serial:
                self.base[r] = self.readers.delivered(r)
            self.base.update(consumed)
            self.waiting = set(self.readers.protocols)
        elif name == "server_kill":
            rig.start_server()
        elif name == "db_restart":
            rig.pg.start()
        elif name == "broker_restart":
            assert rig.broker is not None
            rig.broker.start()
            self.wait_ready()
            self.waiting = set(self.readers.protocols)
        elif name == "network_cut":
            assert rig.server_proxy is not None
            rig.server_proxy.restore()
        elif name == "disk_full":
            _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(self.edge.pid, resource.RLIMIT_FSIZE, (hard, hard))
        elif name == "db_cut_at_commit":
            assert rig.pg_proxy is not None
            rig.pg_proxy.cut_at(None)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> RowResult:
        t0 = time.monotonic()
        plan = self.plan
        end = self.start + timedelta(minutes=plan.minutes)
        scenario = row_scenario(plan.shoppers, plan.minutes, self.start, plan.noise)
        reads, truth = backfill_reads(scenario, demo_data.layout(), self.start, end)
        step = plan.step_s
        t = self.start.timestamp() - step
        self.set_clock(t)
        self.edge.start()
        self.wait_ready()
        outage = self.fault.outage_s if plan.outage_s is None else plan.outage_s
        # the fault strikes in the middle of the arrivals, when the store is busiest
        fault_at = self.start.timestamp() + plan.minutes * 30.0
        fault_end = fault_at + outage
        in_fault = False
        fault_wall = 0.0
        done_fault = self.fault.name == "none"
        n_reads = 0
        pending: SimRead | None = next(reads, None)
        last_read_t = t
        while True:
            hi = t + step
            batch: list[SimRead] = []
            while pending is not None and pending.t <= hi:
                batch.append(pending)
                pending = next(reads, None)
            if batch:
                last_read_t = batch[-1].t
            if pending is None and hi > last_read_t + TAIL_S:
                break
            if not done_fault and not in_fault and hi >= fault_at:
                self.begin_fault()
                in_fault, fault_wall = True, time.monotonic()
            if in_fault and hi >= fault_end:
                left = self.fault.min_wall_s - (time.monotonic() - fault_wall)
                if left > 0:
                    time.sleep(left)
                self.end_fault()
                in_fault, done_fault = False, True
            self.set_clock(hi + TRANSPORT_DELAY_S)
            self.readers.emit(batch)
            n_reads += len(batch)
            self.sync()
            t = hi
        if in_fault:
            self.end_fault()
        status = self._finish()
        stored = stored_visits(
            self.rig.db_url,
            self.start - timedelta(hours=1),
            datetime.fromtimestamp(last_read_t, UTC) + timedelta(hours=1),
        )
        score = score_visits(truth.visits, stored)
        write_mismatches(self.work_dir / "mismatches.json", truth.visits, stored)
        return RowResult(
            fault=self.fault.name,
            label=self.fault.label,
            true_visits=score.true_visits,
            stored_visits=score.detected_visits,
            matched=score.matched,
            lost=score.true_visits - score.matched,
            extra=score.detected_visits - score.matched,
            reads=n_reads,
            left_in_outbox=self.edge.left_in_outbox(),
            sync_timeouts=self.sync_timeouts,
            edge_status=status,
            wall_s=round(time.monotonic() - t0, 1),
        )

    def _finish(self) -> str:
        """Let the edge send everything, then stop it (it closes the visits still open)."""
        got = self.edge.wait(lambda s: s.outbox_depth == 0 and s.outbox_held == 0, DRAIN_TIMEOUT_S)
        status = "degraded" if got is None or got.degraded else "ok"
        self.edge.stop()
        return status

    def close(self) -> None:
        self.edge.close()
        self.readers.close()


def stored_visits(db_url: str, lo: datetime, hi: datetime) -> list[DetectedVisit]:
    """The shoppers' zone visits stored with an enter time in [lo, hi)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT epc, zone, extract(epoch from enter_at)::float8, "
            "extract(epoch from exit_at)::float8 FROM zone_visit "
            "WHERE store_id = %s AND enter_at >= %s AND enter_at < %s AND tag_kind = ANY(%s)",
            (demo_data.STORE_ID, lo, hi, list(SHOPPER_TAG_VALUES)),
        ).fetchall()
    return [DetectedVisit(epc=r[0], zone=r[1], enter=r[2], exit=r[3]) for r in rows]


def write_mismatches(
    path: Path, truth: Sequence[TrueVisit], stored: Sequence[DetectedVisit]
) -> None:
    """The true visits nothing matched and the stored visits that matched nothing, for a look."""
    pairs = match_visits(truth, stored)
    t_used = {i for i, _ in pairs}
    s_used = {j for _, j in pairs}
    path.write_text(
        json.dumps(
            {
                "lost": [asdict(v) for i, v in enumerate(truth) if i not in t_used],
                "extra": [asdict(v) for j, v in enumerate(stored) if j not in s_used],
            },
            indent=1,
        )
    )


def run_rows(rig: Rig, plan: BenchPlan, work_dir: Path) -> Iterator[RowResult]:
    """Each fault of ``plan``, one after the other, each on its own simulated Monday (the
    same one whichever rows are run)."""
    by_name = {f.name: f for f in FAULTS}
    for name in plan.faults:
        fault = by_name[name]
        i = FAULT_NAMES.index(name)
        row_dir = work_dir / f"row-{i}-{name}"
        row_dir.mkdir(parents=True, exist_ok=True)
        row = _Row(rig, fault, plan, FIRST_ROW + i * ROW_SPACING, row_dir)
        try:
            yield row.run()
        finally:
            row.close()


@contextlib.contextmanager
def rig_in(work_dir: Path) -> Iterator[Rig]:
    rig = Rig(work_dir)
    try:
        rig.start()
        yield rig
    finally:
        rig.close()


# -- the command ------------------------------------------------------------------------------


def format_table(rows: Sequence[RowResult]) -> str:
    head = f"{'fault':<42} {'true':>6} {'stored':>6} {'lost':>5} {'dup/split':>9} {'wall s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        note = ""
        if r.left_in_outbox:
            note += f"  ({r.left_in_outbox} left in the outbox)"
        if r.sync_timeouts:
            note += f"  ({r.sync_timeouts} steps the edge fell behind)"
        lines.append(
            f"{r.label:<42} {r.true_visits:>6} {r.stored_visits:>6} {r.lost:>5} {r.extra:>9} "
            f"{r.wall_s:>7.1f}{note}"
        )
    return "\n".join(lines)


def run_faults_bench(plan: BenchPlan, *, as_json: bool, keep: Path | None = None) -> int:
    work_dir = keep or Path(tempfile.mkdtemp(prefix="storeflow-faults-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    rows: list[RowResult] = []
    try:
        with rig_in(work_dir) as rig:
            for row in run_rows(rig, plan, work_dir):
                rows.append(row)
                if not as_json:
                    print(
                        f"{row.label}: {row.true_visits} true visits, {row.lost} lost, "
                        f"{row.extra} duplicated or split ({row.wall_s:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        if keep is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    if as_json:
        print(
            json.dumps(
                {
                    "plan": {**asdict(plan), "faults": list(plan.faults)},
                    "loadavg": " ".join(load),
                    "rows": [asdict(r) for r in rows],
                }
            )
        )
    else:
        print(format_table(rows))
        print(f"load average after the run: {' '.join(load)}")
    return 0 if all(r.lost == 0 and r.extra == 0 for r in rows) else 1


def add_faults_parser(bsub: Any) -> None:
    f = bsub.add_parser(
        "faults",
        help="visits lost or duplicated under each fault (live pipeline, lock-step time)",
        description="Run the live pipeline (simulated readers -> edge agent -> server -> "
        "PostgreSQL) once per fault and score the stored visits against the ground truth. "
        "Exit code 1 when a row lost or duplicated a visit.",
    )
    f.add_argument("--shoppers", type=int, default=40, help="shoppers arriving per row (40)")
    f.add_argument("--minutes", type=float, default=10.0, help="simulated minutes of arrivals (10)")
    f.add_argument("--step", type=float, default=0.5, help="simulated seconds per lock-step (0.5)")
    f.add_argument(
        "--noise", choices=["clean", "realistic", "harsh"], default="clean", help="RF noise (clean)"
    )
    f.add_argument(
        "--fault", action="append", choices=FAULT_NAMES, default=None, help="only this row"
    )
    f.add_argument("--outage", type=float, default=None, help="simulated seconds each fault lasts")
    f.add_argument("--keep", type=Path, default=None, help="keep the logs and data here")
    f.add_argument("--json", action="store_true", help="print one JSON line")
    f.set_defaults(func=_run)


def _run(args: Any) -> int:
    if args.shoppers < 1 or args.minutes <= 0 or args.step <= 0:
        print("error: --shoppers, --minutes and --step must be positive", file=sys.stderr)
        return 2
    plan = BenchPlan(
        shoppers=args.shoppers,
        minutes=args.minutes,
        step_s=args.step,
        noise=args.noise,
        faults=tuple(args.fault or FAULT_NAMES),
        outage_s=args.outage,
    )
    return run_faults_bench(plan, as_json=args.json, keep=args.keep)
