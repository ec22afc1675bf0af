"""A small MQTT broker (amqtt) for the demo and for machines without Mosquitto.

:class:`InProcessBroker` runs the broker on its own asyncio loop in a background thread, so
synchronous code (the demo, the simulator, tests) can start it, point paho clients at
:attr:`InProcessBroker.url` and stop it again. ``python -m orchestration.broker --port N`` runs the
same broker in the foreground until SIGTERM/SIGINT. :class:`BrokerProcess` runs a broker as a
child process that can be stopped and restarted on the same port: Mosquitto when it is installed
(with ``persistence``, its sessions and queued messages survive a restart), else this amqtt
broker; the fault tests and ``storeflow bench faults`` use it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storeflow.net import free_port

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0
_PROCESS_START_TIMEOUT_S = 15.0
_PROCESS_STOP_TIMEOUT_S = 5.0
_ROOT = Path(__file__).resolve().parent.parent


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, anonymous clients allowed, no $SYS publisher."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


class InProcessBroker:
    """An amqtt broker on ``host:port`` (port 0 picks a free port) in a background thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("broker not started")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> int:
        """Start the broker and return the port it listens on."""
        if self.running:
            return self.port
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("MQTT broker did not start in time")
        if self._error is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            self._thread = None
            raise RuntimeError(f"MQTT broker failed to start: {self._error}") from self._error
        # A restart reuses the port the broker had, so clients can reconnect to the same URL.
        self._requested_port = self.port
        logger.info("MQTT broker listening on %s", self.url)
        return self.port

    def stop(self) -> None:
        """Stop the broker; returns once the listener is closed and the loop is gone."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed in between
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("MQTT broker thread did not stop within %.0f s", _STOP_TIMEOUT_S)
        self._thread = None
        logger.info("MQTT broker on port %s stopped", self._port)

    def __enter__(self) -> InProcessBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            logger.exception("MQTT broker stopped with an error")
        finally:
            self._ready.set()
            _close_loop(loop)
            self._loop = None

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        self._stop_event = asyncio.Event()
        broker = Broker(broker_config(self.host, self._requested_port))
        await broker.start()
        try:
            self._port = _bound_port(broker, self._requested_port)
            self._ready.set()
            await self._stop_event.wait()
        finally:
            await broker.shutdown()


def _bound_port(broker: Any, requested: int) -> int:
    """The port the broker's listener actually bound (differs from ``requested`` when 0)."""
    server = broker._servers.get("default")
    sockets = getattr(getattr(server, "instance", None), "sockets", None) or ()
    for sock in sockets:
        port = int(sock.getsockname()[1])
        if port:
            return port
    return requested


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel whatever the broker left running, then close the loop without noise."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


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
                # as root Mosquitto would switch to a user that cannot write the working dir
                + ("user root\n" if os.geteuid() == 0 else "")
                + "log_dest stderr\n"
            )
            binary = shutil.which("mosquitto")
            if binary is None:
                raise RuntimeError("no mosquitto binary on PATH")
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
        self.workdir.mkdir(parents=True, exist_ok=True)
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
        deadline = time.monotonic() + _PROCESS_START_TIMEOUT_S
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
                proc.wait(_PROCESS_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_PROCESS_STOP_TIMEOUT_S)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a broker in the foreground until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m orchestration.broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

    done = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    broker = InProcessBroker(host=args.host, port=args.port)
    try:
        port = broker.start()
    except RuntimeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    while not done.wait(0.5):
        if not broker.running:
            return 1
    broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
