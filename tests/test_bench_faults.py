"""The pure parts of ``storeflow bench faults``: reading the edge's metrics, sizing a row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.bench_faults import parse_metrics, row_scenario

METRICS = """\
# HELP storeflow_reader_reads_total tag reads
# TYPE storeflow_reader_reads_total counter
storeflow_reader_reads_total{device="edge-1",reader="R1"} 120.0
storeflow_reader_reads_total{device="edge-1",reader="R3"} 7.0
storeflow_reader_connected{device="edge-1",reader="R1"} 1.0
storeflow_reader_connected{device="edge-1",reader="R3"} 0.0
storeflow_edge_outbox_depth{device="edge-1"} 12.0
storeflow_edge_outbox_held{device="edge-1"} 3.0
storeflow_edge_degraded{device="edge-1"} 1.0
"""


def test_metrics_are_read_by_reader() -> None:
    s = parse_metrics(METRICS)
    assert s.reads == {"R1": 120, "R3": 7}
    assert s.connected == {"R1": True, "R3": False}
    assert (s.outbox_depth, s.outbox_held, s.degraded) == (12, 3, True)


def test_a_row_brings_about_the_shoppers_asked_for() -> None:
    start = datetime(2025, 1, 6, 11, 0, tzinfo=UTC)
    sc = row_scenario(40, 10.0, start, "clean")
    per_hour = sc.traffic.trips_per_day * 0.8 * 6 / 94  # Monday, the 11:00 weight
    assert per_hour * 10 / 60 == pytest.approx(40)
    with pytest.raises(ValueError, match="opening hours"):
        row_scenario(40, 10.0, start.replace(hour=3), "clean")
