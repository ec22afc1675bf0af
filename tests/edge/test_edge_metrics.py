"""Prometheus /metrics on the edge: the heartbeat's counters, served on 127.0.0.1 when enabled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from prometheus_client import generate_latest

from edge.config import EdgeConfig
from edge.metrics import MetricsConfig, registry_for, serve
from storeflow.wire import Heartbeat, ReaderHealth

T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)


def _beat() -> Heartbeat:
    return Heartbeat(
        event_id=uuid.uuid4(),
        store_id="demo",
        device_id="edge-1",
        sent_at=T0,
        outbox_depth=17,
        readers={
            "R1": ReaderHealth(
                connected=False, reads_total=900, frames_ok=880, errors={"checksum": 3}
            )
        },
        status="degraded",
        outbox_refused_writes=4,
        outbox_dropped={"age": 2},
    )


def test_heartbeat_counters_as_prometheus_metrics() -> None:
    text = generate_latest(registry_for(_beat)).decode()
    for line in (
        'storeflow_edge_degraded{device="edge-1"} 1.0',
        'storeflow_edge_outbox_depth{device="edge-1"} 17.0',
        'storeflow_edge_outbox_refused_writes_total{device="edge-1"} 4.0',
        'storeflow_edge_outbox_dropped_total{device="edge-1",reason="age"} 2.0',
        'storeflow_reader_connected{device="edge-1",reader="R1"} 0.0',
        'storeflow_reader_reads_total{device="edge-1",reader="R1"} 900.0',
        'storeflow_reader_frames_ok_total{device="edge-1",reader="R1"} 880.0',
        'storeflow_reader_errors_total{device="edge-1",reader="R1",reason="checksum"} 3.0',
    ):
        assert line in text.splitlines(), line


def test_metrics_server_off_by_default_and_local_when_on() -> None:
    assert MetricsConfig() == MetricsConfig(enabled=False, port=9108, bind="127.0.0.1")
    assert serve(MetricsConfig(), _beat) is None
    cfg = EdgeConfig.model_validate(
        {
            "device_id": "e",
            "store_id": "demo",
            "layout": "x.yaml",
            "readers": [{"id": "R1", "protocol": "r2000", "serial": {"url": "/dev/null"}}],
            "metrics": {"enabled": True, "port": 0},
        }
    )
    server = serve(cfg.metrics, _beat)
    assert server is not None
    try:
        r = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5.0)
        assert r.status_code == 200
        assert 'storeflow_edge_outbox_depth{device="edge-1"} 17.0' in r.text
    finally:
        server.shutdown()
        server.server_close()
