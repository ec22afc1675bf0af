"""A small MQTT broker (amqtt) for the demo and for machines without Mosquitto.

:class:`InProcessBroker` runs the broker on its own asyncio loop in a background thread, so
synchronous code (the demo, the simulator, tests) can start it, point paho clients at
:attr:`InProcessBroker.url` and stop it again. ``python -m orchestration.broker --port N`` runs the
same broker in the foreground until SIGTERM/SIGINT, which is how tests run it as a process they
can kill and restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


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
