"""End to end: simulated readers -> serial socket / MQTT -> edge agent -> server -> PostgreSQL.

Runs the real ``storeflow demo --headless`` command (every part a separate process, talking over
real sockets, a real MQTT broker and a real PostgreSQL) and checks the visits it recovered against
the simulator's ground truth.
"""

from __future__ import annotations

import pytest

from tests.helpers.cli import storeflow_json


@pytest.mark.slow
def test_headless_demo_recovers_the_true_visits(db_url: str, mqtt_broker) -> None:
    summary = storeflow_json(
        "demo",
        "--headless",
        "--minutes",
        "1",
        "--speed",
        "30",
        "--database-url",
        db_url,
        "--mqtt-url",
        mqtt_broker.url,
    )
    assert summary["truth_visits"] > 100
    assert summary["visits"] > 100
    assert summary["trips"] > 10
    assert summary["visit_recall"] >= 0.9
    assert summary["visit_precision"] >= 0.9
    assert summary["dwell_median_abs_error_s"] <= 3.0
