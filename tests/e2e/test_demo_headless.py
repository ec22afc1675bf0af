"""End to end: simulated readers -> serial socket / MQTT -> edge agent -> server -> PostgreSQL.

Runs the real ``storeflow demo --headless`` command (every part a separate process, talking over
real sockets, a real MQTT broker and a real PostgreSQL) and checks the visits it recovered against
the simulator's ground truth.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_headless_demo_recovers_the_true_visits(db_url: str, mqtt_broker) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "--log-level",
            "WARNING",
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
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["truth_visits"] > 100
    assert summary["visits"] > 100
    assert summary["trips"] > 10
    assert summary["visit_recall"] >= 0.9
    assert summary["visit_precision"] >= 0.9
    assert summary["dwell_median_abs_error_s"] <= 3.0
