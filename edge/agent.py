"""The store's edge agent: reader loops -> pipeline -> outbox -> uplink, with health.

Threads: one I/O loop per reader (serial or MQTT, each reconnecting on its own), one ticker
that closes timed-out visits and writes heartbeats, one uplink sender. All stop on :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from edge.config import EdgeConfig, ReaderConfig
from edge.drivers.mqtt_io import MqttReaderLoop
from edge.drivers.registry import message_decoder, stream_decoder
from edge.drivers.serial_io import SerialReaderLoop
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.tags import classify_epc
from edge.uplink import Uplink
from edge.zones import AntennaMap
from storeflow.clock import Clock, ScaledClock, SystemClock
from storeflow.layout import StoreLayout
from storeflow.wire import ReaderHealth, TagKind

logger = logging.getLogger(__name__)


class ReaderLoop(Protocol):
    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def health(self) -> ReaderHealth: ...


def clock_from_config(cfg: EdgeConfig) -> Clock:
    c = cfg.clock
    if c.sim_epoch is None or c.wall_start is None:
        return SystemClock()
    return ScaledClock(sim_epoch=c.sim_epoch, wall_start=c.wall_start, scale=c.scale)


def tag_kind(epc: str) -> TagKind:
    return classify_epc(epc).kind_hint


class EdgeAgent:
    def __init__(self, cfg: EdgeConfig, layout: StoreLayout, *, token: str) -> None:
        self.cfg = cfg
        self.clock = clock_from_config(cfg)
        self.outbox = Outbox(cfg.outbox.path)
        self.pipeline = EdgePipeline(
            store_id=cfg.store_id,
            antenna_map=AntennaMap.from_layout(layout),
            kind_of=tag_kind,
            outbox=self.outbox,
            params=cfg.tracker,
            epc_key=cfg.privacy.resolve_key(),
        )
        self.uplink = Uplink(
            server_url=cfg.server.url,
            token=token,
            device_id=cfg.device_id,
            outbox=self.outbox,
            batch_size=cfg.uplink.batch_size,
        )
        self.readers: dict[str, ReaderLoop] = {r.id: self._make_loop(r) for r in cfg.readers}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _make_loop(self, r: ReaderConfig) -> ReaderLoop:
        if r.serial is not None:
            return SerialReaderLoop(
                r.id,
                r.serial.url,
                stream_decoder(r.protocol, r.id),
                self.pipeline.feed,
                clock=self.clock,
                baudrate=r.serial.baudrate,
                send_inventory=r.serial.send_inventory,
            )
        assert r.mqtt is not None
        return MqttReaderLoop(
            r.id,
            r.mqtt.url,
            r.mqtt.topic,
            message_decoder(r.protocol, r.id),
            self.pipeline.feed,
            clock=self.clock,
        )

    def start(self) -> None:
        for loop in self.readers.values():
            loop.start()
        self._threads = [
            threading.Thread(target=self._tick_loop, name="edge-ticker", daemon=True),
            threading.Thread(
                target=self.uplink.run, args=(self._stop,), name="edge-uplink", daemon=True
            ),
        ]
        for t in self._threads:
            t.start()
        logger.info(
            "edge agent %s started: %d readers, server %s",
            self.cfg.device_id,
            len(self.readers),
            self.cfg.server.url,
        )

    def _tick_loop(self) -> None:
        next_beat = 0.0
        while not self._stop.wait(0.25):
            now = self.clock.now()
            self.pipeline.tick(now)
            if now >= next_beat:
                self.pipeline.heartbeat(
                    device_id=self.cfg.device_id, now=now, readers=self.reader_health()
                )
                interval = self.cfg.uplink.heartbeat_s * self.cfg.clock.scale
                next_beat = now + interval

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
        self.pipeline.flush()
        self._stop.set()
        for t in self._threads:
            t.join(5.0)
        self.uplink.drain(max_attempts=3)
        self.uplink.close()
        self.outbox.close()
        logger.info("edge agent %s stopped", self.cfg.device_id)
