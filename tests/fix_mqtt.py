"""MQTT broker fixtures: a private broker process on a free port, never the machine's own.

``mqtt_broker`` (session) is shared by the tests that only publish and subscribe;
``fresh_mqtt_broker`` (function) is for tests that stop and restart the broker. The broker is
Mosquitto when the binary is installed, else the project's amqtt broker
(``python -m orchestration.broker``) — both as subprocesses (:class:`orchestration.broker.
BrokerProcess`), so a test can kill and restart them.
With ``CI=true`` a missing Mosquitto is an error, not a quiet fallback.
``STOREFLOW_TEST_BROKER=amqtt`` forces the amqtt broker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.broker import BrokerProcess, port_accepts
from storeflow.net import free_port

__all__ = ["BrokerProcess", "broker_kind", "free_port", "port_accepts"]


def broker_kind() -> str:
    """Which broker to run, or fail the session with a clear message."""
    forced = os.environ.get("STOREFLOW_TEST_BROKER", "").strip().lower()
    if forced:
        if forced not in ("mosquitto", "amqtt"):
            pytest.fail(f"STOREFLOW_TEST_BROKER must be 'mosquitto' or 'amqtt', not {forced!r}")
        if forced == "mosquitto" and shutil.which("mosquitto") is None:
            pytest.fail("STOREFLOW_TEST_BROKER=mosquitto but no mosquitto binary on PATH")
        return forced
    if shutil.which("mosquitto") is not None:
        return "mosquitto"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "CI=true but the mosquitto binary is not installed: install it "
            "(apt-get install mosquitto) so the MQTT tests run against a real Mosquitto"
        )
    return "amqtt"


def _run_broker(workdir: Path) -> Iterator[BrokerProcess]:
    broker = BrokerProcess(broker_kind(), workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker shared by the whole session; tests must not stop it."""
    yield from _run_broker(tmp_path_factory.mktemp("mqtt"))


@pytest.fixture
def fresh_mqtt_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker of this test's own, which the test may stop() and start() again."""
    yield from _run_broker(tmp_path)
