"""Nothing lost, nothing duplicated, whatever single fault hits the live pipeline.

A reduced ``storeflow bench faults``: simulated readers (R2000 over TCP, Impinj JSON over MQTT)
-> a real edge agent process -> a TCP proxy -> a real ``storeflow server`` process -> a TCP
proxy -> a private PostgreSQL, in lock-step simulated time, once per fault (edge kill -9,
server kill -9, PostgreSQL restart, MQTT broker restart with the readers queueing, network cut,
outbox disk full, PostgreSQL cut at COMMIT). The stored visits are scored against the
simulator's ground truth with the matching of ``storeflow sim evaluate``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.bench_faults import FAULT_NAMES, BenchPlan, Rig, rig_in, run_rows

PLAN = BenchPlan(shoppers=8, minutes=2.0, step_s=1.0)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but mosquitto is missing (apt-get install -y mosquitto)")
        pytest.skip("the broker restart needs Mosquitto's persistent sessions")
    with rig_in(tmp_path_factory.mktemp("faults")) as r:
        yield r


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_no_visit_lost_or_duplicated(fault: str, rig: Rig, tmp_path: Path) -> None:
    (r,) = run_rows(rig, replace(PLAN, faults=(fault,)), tmp_path)
    assert r.true_visits >= 20, r
    assert (r.lost, r.extra) == (0, 0), r
    assert r.stored_visits == r.true_visits
    assert r.left_in_outbox == 0, r
    assert r.sync_timeouts == 0, r
