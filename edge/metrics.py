"""Prometheus ``/metrics`` for the edge agent: the heartbeat's counters, read when scraped.

Off by default; ``metrics: {enabled: true, port: 9108}`` in the edge config serves them on
127.0.0.1 (``bind`` to change it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field

from storeflow.models import Frozen
from storeflow.wire import Heartbeat

logger = logging.getLogger(__name__)


class MetricsConfig(Frozen):
    enabled: bool = False
    port: int = Field(default=9108, ge=0, le=65535)
    bind: str = "127.0.0.1"


class HeartbeatCollector(Collector):
    """Every number of a fresh heartbeat, as Prometheus metrics."""

    def __init__(self, heartbeat: Callable[[], Heartbeat]) -> None:
        self.heartbeat = heartbeat

    def collect(self) -> Iterator[Any]:
        b = self.heartbeat()
        dev = [b.device_id]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(f"storeflow_edge_{name}", doc, labels=["device"])
            g.add_metric(dev, value)
            return g

        def by(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
            c = CounterMetricFamily(f"storeflow_edge_{name}", doc, labels=["device", label])
            for k, v in sorted(values.items()):
                c.add_metric([b.device_id, k], v)
            return c

        yield gauge("degraded", "1 when the edge reports problems", int(b.status != "ok"))
        yield gauge("outbox_depth", "events waiting to be sent", b.outbox_depth)
        yield gauge("outbox_bytes", "bytes waiting to be sent", b.outbox_bytes)
        yield gauge("outbox_held", "events held in memory, the disk refusing", b.outbox_held)
        yield gauge("dead_letters", "events set aside, never to be sent", b.dead_letters)
        yield gauge("loop_lag_seconds", "how late the edge's ticker woke", b.loop_lag_s)
        refused = CounterMetricFamily(
            "storeflow_edge_outbox_refused_writes", "writes the disk refused", labels=["device"]
        )
        refused.add_metric(dev, b.outbox_refused_writes)
        yield refused
        yield by("outbox_dropped", "events dropped from the outbox", "reason", b.outbox_dropped)
        yield by("rejected_reads", "reads refused at entry", "reason", b.rejected)
        yield by("thread_restarts", "threads restarted after crashes", "thread", b.thread_restarts)
        labels = ["device", "reader"]
        connected = GaugeMetricFamily(
            "storeflow_reader_connected", "1 when the reader is connected", labels=labels
        )
        counters = {
            name: CounterMetricFamily(f"storeflow_reader_{name}", doc, labels=labels)
            for name, doc in (
                ("reads", "tag reads"),
                ("frames_ok", "frames decoded"),
                ("frames_bad", "frames that could not be decoded"),
                ("bytes_skipped", "bytes skipped looking for a frame"),
                ("reconnects", "reconnections"),
                ("goods_reads", "goods (SGTIN-96) reads dropped"),
            )
        }
        lag = GaugeMetricFamily(
            "storeflow_reader_lag_seconds",
            "edge-clock seconds since the reader's input was last read empty",
            labels=labels,
        )
        waiting = GaugeMetricFamily(
            "storeflow_reader_bytes_waiting", "bytes read but not yet decoded", labels=labels
        )
        errors = CounterMetricFamily(
            "storeflow_reader_errors", "bad frames by reason", labels=[*labels, "reason"]
        )
        for rid, r in sorted(b.readers.items()):
            key = [b.device_id, rid]
            connected.add_metric(key, int(r.connected))
            if r.lag_s is not None:
                lag.add_metric(key, r.lag_s)
            waiting.add_metric(key, r.bytes_waiting)
            counters["reads"].add_metric(key, r.reads_total)
            counters["frames_ok"].add_metric(key, r.frames_ok)
            counters["frames_bad"].add_metric(key, r.frames_bad)
            counters["bytes_skipped"].add_metric(key, r.bytes_skipped)
            counters["reconnects"].add_metric(key, r.reconnects)
            counters["goods_reads"].add_metric(key, r.goods_reads)
            for reason, n in sorted(r.errors.items()):
                errors.add_metric([*key, reason], n)
        yield connected
        yield lag
        yield waiting
        yield from counters.values()
        yield errors


def registry_for(heartbeat: Callable[[], Heartbeat]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HeartbeatCollector(heartbeat))
    return registry


def serve(cfg: MetricsConfig, heartbeat: Callable[[], Heartbeat]) -> Any | None:
    """Start the ``/metrics`` server in a daemon thread; returns the HTTP server (``shutdown()``
    stops it), or None when disabled."""
    if not cfg.enabled:
        return None
    server, _thread = start_http_server(cfg.port, addr=cfg.bind, registry=registry_for(heartbeat))
    logger.info("edge metrics on http://%s:%d/metrics", cfg.bind, server.server_port)
    return server
