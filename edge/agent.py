"""The store's edge agent: reader loops -> pipeline -> outbox -> uplink, with health.

Threads: one I/O loop per reader (serial or MQTT, each reconnecting on its own), one ticker
that closes timed-out visits, saves the open ones and writes heartbeats, one uplink sender. All
run under one :class:`~edge.supervise.Supervisor` (a crash is logged, counted and restarted) and
stop on :meth:`stop`. Every read passes :class:`~edge.intake.ReadGate` before the tracker; the
open visits are saved in the outbox, so a kill -9 and restart loses none of them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from edge.config import EdgeConfig, ReaderConfig
from edge.drivers.llrp_io import LlrpReaderLoop
from edge.drivers.mqtt_io import MqttReaderLoop
from edge.drivers.registry import message_decoder, stream_decoder
from edge.drivers.serial_io import SerialReaderLoop
from edge.intake import ReadGate
from edge.metrics import serve as serve_metrics
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline, to_datetime
from edge.reads import TagRead
from edge.supervise import Supervisor
from edge.uplink import Uplink
from edge.zones import AntennaMap
from storeflow.clock import Clock, FileClock, ScaledClock, SystemClock
from storeflow.epc import classify_epc
from storeflow.layout import StoreLayout
from storeflow.wire import Heartbeat, ReaderHealth, TagKind

logger = logging.getLogger(__name__)


class ReaderLoop(Protocol):
    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def health(self) -> ReaderHealth: ...


LAG_PROBLEM_S = 5.0  # a reader this far behind (edge-clock seconds) makes the edge degraded
TICK_S = 0.25


def clock_from_config(cfg: EdgeConfig) -> Clock:
    c = cfg.clock
    if c.file is not None:
        return FileClock(c.file)
    if c.sim_epoch is None or c.wall_start is None:
        return SystemClock()
    return ScaledClock(sim_epoch=c.sim_epoch, wall_start=c.wall_start, scale=c.scale)


def tag_kind(epc: str) -> TagKind:
    """The kind of a tag by Storeflow's convention (an agent uses its config's ``tags:`` rules)."""
    return classify_epc(epc).kind_hint


class EdgeAgent:
    def __init__(self, cfg: EdgeConfig, layout: StoreLayout, *, token: str) -> None:
        self.cfg = cfg
        self.clock = clock_from_config(cfg)
        self.supervisor = Supervisor()
        self.gate = ReadGate()
        self.outbox = Outbox(cfg.outbox.path, cfg.outbox.limits())
        self.pipeline = EdgePipeline(
            store_id=cfg.store_id,
            antenna_map=AntennaMap.from_layout(layout),
            kind_of=cfg.tags.classifier(),
            outbox=self.outbox,
            params=cfg.tracker,
            durable=True,
            epc_key=cfg.privacy.resolve_key(),
        )
        self.uplink = Uplink(
            server_url=cfg.server.url,
            token=token,
            device_id=cfg.device_id,
            outbox=self.outbox,
            batch_size=cfg.uplink.batch_size,
            encoding=cfg.uplink.encoding,
        )
        self.readers: dict[str, ReaderLoop] = {r.id: self._make_loop(r) for r in cfg.readers}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._metrics: Any = None
        self._checkpoint_lock = threading.Lock()
        self._next_checkpoint = 0.0
        self.loop_lag_s = 0.0  # how late the ticker woke last time (wall seconds)

    def _make_loop(self, r: ReaderConfig) -> ReaderLoop:
        if r.serial is not None:
            return SerialReaderLoop(
                r.id,
                r.serial.url,
                stream_decoder(r.protocol, r.id),
                self.feed,
                clock=self.clock,
                baudrate=r.serial.baudrate,
                send_inventory=r.serial.send_inventory,
                supervisor=self.supervisor,
            )
        if r.llrp is not None:
            return LlrpReaderLoop(
                r.id,
                r.llrp.host,
                self.pipeline.feed,
                port=r.llrp.port,
                antennas=r.llrp.antennas,
                clock=self.clock,
                keepalive_s=r.llrp.keepalive_s,
                keepalive_timeout_factor=r.llrp.keepalive_timeout_factor,
            )
        assert r.mqtt is not None
        return MqttReaderLoop(
            r.id,
            r.mqtt.url,
            r.mqtt.topic,
            message_decoder(r.protocol, r.id),
            self.feed,
            clock=self.clock,
            supervisor=self.supervisor,
        )

    def feed(self, reads: Iterable[TagRead]) -> None:
        """Where every reader's reads enter: checked by the gate, then tracked."""
        admitted = self.gate.admit(reads)
        if admitted:
            self.pipeline.feed(admitted)
            self._checkpoint_if_due(self.clock.now())

    def _checkpoint_if_due(self, now: float) -> None:
        """Save the open visits every ``checkpoint_s`` of edge time, checked on every feed and
        every tick: a kill -9 loses at most that much of what was read, however busy the
        ticker is."""
        with self._checkpoint_lock:
            if now < self._next_checkpoint:
                return
            self._next_checkpoint = now + self.cfg.outbox.checkpoint_s * self.cfg.clock.scale
        self.pipeline.checkpoint()

    def start(self) -> None:
        restored = self.pipeline.restore(self.clock.now())
        if restored:
            logger.warning("reopened %d visits that were open when the edge last stopped", restored)
        for loop in self.readers.values():
            loop.start()
        self._threads = [
            self.supervisor.start("edge-ticker", self._tick_loop, self._stop),
            self.supervisor.start("edge-uplink", lambda: self.uplink.run(self._stop), self._stop),
        ]
        self._metrics = serve_metrics(self.cfg.metrics, lambda: self.heartbeat(self.clock.now()))
        logger.info(
            "edge agent %s started: %d readers, server %s",
            self.cfg.device_id,
            len(self.readers),
            self.cfg.server.url,
        )

    def _tick_loop(self) -> None:
        """Close timed-out visits, save open ones, retry held writes, prune, send heartbeats."""
        scale = self.cfg.clock.scale
        next_beat = next_prune = 0.0
        due = time.monotonic() + TICK_S
        while not self._stop.wait(max(due - time.monotonic(), 0.0)):
            self.loop_lag_s = max(time.monotonic() - due, 0.0)
            due = time.monotonic() + TICK_S
            now = self.clock.now()
            self.outbox.retry_held()
            horizons: dict[str, float] = {}
            for rid, loop in self.readers.items():
                self.pipeline.reader_status(rid, connected=loop.health().connected, now=now)
                caught_up = getattr(loop, "caught_up_at", None)
                at = caught_up() if caught_up is not None else None
                if at is not None:
                    horizons[rid] = at
            self.pipeline.tick(now, horizons)
            self._checkpoint_if_due(now)
            if now >= next_prune:
                self.outbox.prune()
                next_prune = now + 60.0 * scale
            if now >= next_beat:
                self.outbox.put([self.heartbeat(now)])
                next_beat = now + self.cfg.uplink.heartbeat_s * scale

    def heartbeat(self, now: float) -> Heartbeat:
        """The edge's health report: readers, outbox, and every fault counter."""
        box = self.outbox.health()
        rejected = self.gate.rejected()
        restarts = self.supervisor.restarts()
        problems: list[str] = []
        if not box.writable:
            problems.append(f"outbox cannot write ({box.held} events held): {box.last_error}")
        if box.dropped:
            problems.append(f"outbox dropped events: {box.dropped}")
        if box.dead_letters:
            problems.append(f"{box.dead_letters} events in the dead-letter table")
        if restarts:
            problems.append(f"threads restarted after crashes: {restarts}")
        readers = self.reader_health()
        for rid, h in sorted(readers.items()):
            if h.lag_s is not None and h.lag_s > LAG_PROBLEM_S * self.cfg.clock.scale:
                problems.append(f"reader {rid}: the edge is {h.lag_s:.1f} s behind")
        return Heartbeat(
            event_id=uuid.uuid4(),
            store_id=self.cfg.store_id,
            device_id=self.cfg.device_id,
            sent_at=to_datetime(now),
            outbox_depth=max(box.depth, 0),
            readers=readers,
            status="degraded" if problems else "ok",
            problems=problems,
            rejected=rejected,
            dead_letters=box.dead_letters,
            outbox_bytes=max(box.bytes, 0),
            outbox_held=box.held,
            outbox_refused_writes=box.refused_writes,
            outbox_dropped=box.dropped,
            thread_restarts=restarts,
            loop_lag_s=round(self.loop_lag_s, 3),
        )

    def reader_health(self) -> dict[str, ReaderHealth]:
        offsets = self.pipeline.tracker.clock_offsets()
        out = {}
        for rid, loop in self.readers.items():
            h = loop.health()
            out[rid] = h.model_copy(update={"clock_offset_s": offsets.get(rid)})
        return out

    def stop(self) -> None:
        """Stop readers, close open visits, try a last send, stop threads."""
        for loop in self.readers.values():
            loop.stop(2.0)
        self._stop.set()
        if self._metrics is not None:
            self._metrics.shutdown()
        for t in self._threads:
            t.join(5.0)
        self.pipeline.flush()
        self.uplink.drain(max_attempts=3)
        self.uplink.close()
        self.outbox.close()
        logger.info("edge agent %s stopped", self.cfg.device_id)
