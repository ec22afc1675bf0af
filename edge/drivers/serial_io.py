"""The I/O loop of a serial reader: port -> :class:`~edge.reads.StreamDecoder` -> callback.

The port is opened with ``serial.serial_for_url`` so a real port (``/dev/ttyUSB0``), a
pseudo-terminal, a TCP serial server (``socket://host:port``, e.g. ser2net) and ``loop://`` all
work. When the port fails the loop logs one warning per outage, closes it and reconnects with
exponential back-off; :meth:`SerialReaderLoop.health` says how it is doing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import serial

from edge.reads import DecodeStats, StreamDecoder, TagRead
from edge.supervise import Supervisor
from storeflow.backoff import BACKOFF_INITIAL_S, BACKOFF_MAX_S, next_backoff
from storeflow.clock import Clock, SystemClock
from storeflow.wire import ReaderHealth

logger = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.2
READ_CHUNK = 65536


def to_datetime(ts: float | None) -> datetime | None:
    """Epoch seconds -> aware UTC datetime (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def reader_health(
    stats: DecodeStats,
    *,
    connected: bool,
    reads_total: int,
    reconnects: int,
    last_read_at: float | None,
    lag_s: float | None = None,
    bytes_waiting: int = 0,
) -> ReaderHealth:
    """A reader loop's health report, with its decoder's statistics."""
    return ReaderHealth(
        lag_s=None if lag_s is None else max(lag_s, 0.0),
        bytes_waiting=bytes_waiting,
        connected=connected,
        reads_total=reads_total,
        frames_bad=stats.frames_bad,
        reconnects=reconnects,
        last_read_at=to_datetime(last_read_at),
        frames_ok=stats.frames_ok,
        bytes_skipped=stats.bytes_skipped,
        errors=dict(stats.errors),
    )


class SerialReaderLoop:
    """Reads a serial reader in a background thread and hands decoded reads to ``on_reads``.

    ``send_inventory`` writes the R2000 real-time inventory command on every connect and again
    after each end-of-round report, for modules that do not inventory on their own.
    """

    def __init__(
        self,
        reader_id: str,
        url: str,
        decoder: StreamDecoder,
        on_reads: Callable[[list[TagRead]], None],
        *,
        clock: Clock | None = None,
        baudrate: int = 115200,
        send_inventory: bool = False,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.reader_id = reader_id
        self.url = url
        self.decoder = decoder
        self.on_reads = on_reads
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.baudrate = baudrate
        self.send_inventory = send_inventory
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.supervisor = supervisor if supervisor is not None else Supervisor()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._connects = 0
        self._reads_total = 0
        self._last_read_at: float | None = None
        self._caught_up_at: float | None = None  # edge time the port was last read empty

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = self.supervisor.start(f"reader-{self.reader_id}", self._run, self._stop)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning(
                    "reader %s: I/O thread did not stop in %.1f s", self.reader_id, timeout
                )
        self._thread = None

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def reconnects(self) -> int:
        """Successful connects after the first one."""
        return max(self._connects - 1, 0)

    def caught_up_at(self) -> float | None:
        """Edge-clock time up to which everything the reader sent has been read and handed
        over (None while disconnected): how far the tracker may judge this reader's tags."""
        return self._caught_up_at if self._connected else None

    def health(self) -> ReaderHealth:
        caught_up = self.caught_up_at()
        return reader_health(
            self.decoder.stats,
            connected=self._connected,
            reads_total=self._reads_total,
            reconnects=self.reconnects,
            last_read_at=self._last_read_at,
            lag_s=None if caught_up is None else self.clock.now() - caught_up,
            bytes_waiting=int(getattr(self.decoder, "pending_bytes", 0)),
        )

    # -- thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        outage_logged = False
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(
                    self.url, baudrate=self.baudrate, timeout=READ_TIMEOUT_S
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                if not outage_logged:
                    logger.warning("reader %s: cannot open %s: %s", self.reader_id, self.url, exc)
                    outage_logged = True
                delay = next_backoff(
                    delay, initial=self.backoff_initial_s, maximum=self.backoff_max_s
                )
                self._stop.wait(delay)
                continue
            self._connects += 1
            self._caught_up_at = self.clock.now()
            self._connected = True
            delay = 0.0
            if outage_logged or self._connects > 1:
                logger.warning("reader %s: reconnected to %s", self.reader_id, self.url)
            else:
                logger.info("reader %s: connected to %s", self.reader_id, self.url)
            outage_logged = False
            try:
                self._pump(port)
            except (serial.SerialException, OSError) as exc:
                logger.warning(
                    "reader %s: connection to %s lost: %s", self.reader_id, self.url, exc
                )
                outage_logged = True
                delay = next_backoff(
                    delay, initial=self.backoff_initial_s, maximum=self.backoff_max_s
                )
            finally:
                self._connected = False
                _close_quietly(port)
            if not self._stop.is_set() and delay > 0:
                self._stop.wait(delay)

    def _pump(self, port: Any) -> None:
        """Read until stopped or the port fails (raises)."""
        if self.send_inventory:
            self._write_inventory(port)
        while not self._stop.is_set():
            data = _read_available(port)
            now = self.clock.now()
            if not data:
                self._caught_up_at = now  # nothing came within the timeout: nothing waits
                continue
            ignored_before = self.decoder.stats.ignored
            reads = self.decoder.feed(data, now)
            if reads:
                self._deliver(reads)
            if len(data) <= READ_CHUNK:  # the port was read empty: what came before is in
                self._caught_up_at = now
            if self.send_inventory and self.decoder.stats.ignored > ignored_before:
                self._write_inventory(port)

    def _deliver(self, reads: list[TagRead]) -> None:
        self._reads_total += len(reads)
        self._last_read_at = reads[-1].host_ts
        try:
            self.on_reads(reads)
        except Exception:
            logger.exception("reader %s: on_reads callback failed", self.reader_id)

    def _write_inventory(self, port: Any) -> None:
        from edge.drivers.r2000 import inventory_command

        port.write(inventory_command(0xFF, 1))


def _read_available(port: Any) -> bytes:
    """Wait up to the port timeout for a byte, then take everything already buffered."""
    first: bytes = port.read(1)
    if not first:
        return b""
    port.timeout = 0
    try:
        rest: bytes = port.read(READ_CHUNK)
    finally:
        port.timeout = READ_TIMEOUT_S
    return first + rest


def _close_quietly(port: Any) -> None:
    # pyserial's socket:// close() skips closing the socket when shutdown() fails on a
    # connection the peer already reset; close it here so no descriptor leaks.
    sock = getattr(port, "_socket", None)
    try:
        port.close()
    except (serial.SerialException, OSError) as exc:
        logger.debug("closing port failed: %s", exc)
    finally:
        if sock is not None:
            sock.close()
