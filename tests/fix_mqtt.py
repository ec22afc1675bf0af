"""MQTT broker fixtures: a private broker process on a free port, never the machine's own.

``mqtt_broker`` (session) is shared by the tests that only publish and subscribe;
``fresh_mqtt_broker`` (function) is for tests that stop and restart the broker. The broker is
Mosquitto when the binary is installed, else the project's amqtt broker
(``python -m orchestration.broker``) — both as subprocesses, so a test can kill and restart them.
With ``CI=true`` a missing Mosquitto is an error, not a quiet fallback.
``STOREFLOW_TEST_BROKER=amqtt`` forces the amqtt broker.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeflow.net import free_port

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0
_ROOT = Path(__file__).resolve().parent.parent


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class BrokerProcess:
    """A broker subprocess on ``host:port`` that can be stopped and restarted on the same port."""

    def __init__(
        self, kind: str, workdir: Path, host: str = "127.0.0.1", *, persistence: bool = False
    ) -> None:
        if kind not in ("mosquitto", "amqtt"):
            raise ValueError(f"unknown broker kind {kind!r}")
        self.kind = kind
        self.host = host
        self.port = free_port(host)
        self.workdir = workdir
        self.persistence = persistence  # Mosquitto keeps sessions and queued messages on disk
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / f"{kind}.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} {self.host}\n"
                "allow_anonymous true\n"
                f"persistence {'true' if self.persistence else 'false'}\n"
                f"persistence_location {self.workdir}/\n"
                # as root Mosquitto would switch to a user that cannot write the test's dir
                + ("user root\n" if os.geteuid() == 0 else "")
                + "log_dest stderr\n"
            )
            binary = shutil.which("mosquitto")
            assert binary is not None
            return [binary, "-c", str(conf)]
        return [
            sys.executable,
            "-m",
            "orchestration.broker",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def start(self) -> None:
        if self.running:
            return
        log = self._log.open("ab")
        try:
            self._proc = subprocess.Popen(
                self._command(),
                cwd=_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if port_accepts(self.host, self.port):
                return
            time.sleep(0.05)
        output = self._log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{self.kind} broker did not start on port {self.port}:\n{output}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT_S)


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
