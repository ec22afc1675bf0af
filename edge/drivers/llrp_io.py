"""The I/O loop of an LLRP reader: sllurp client -> :func:`~edge.drivers.llrp.tag_reads`.

The edge is the LLRP client; the reader listens on TCP 5084. Per connection, sllurp's
``LLRPReaderClient`` runs the handshake in its own socket thread (READER_EVENT_NOTIFICATION ->
GET_READER_CAPABILITIES -> GET_READER_CONFIG -> ENABLE_EVENTS_AND_REPORTS + SET_READER_CONFIG
with a KeepaliveSpec -> DELETE_ACCESSSPEC/DELETE_ROSPEC (clear what a previous client left) ->
ADD_ROSPEC -> ENABLE_ROSPEC with an immediate start trigger), answers KEEPALIVE with
KEEPALIVE_ACK and hands every RO_ACCESS_REPORT to :meth:`LlrpReaderLoop._on_tag_report`.

This loop owns what sllurp leaves out: sllurp's own reconnect (fixed 60 s, five tries) is off;
a supervisor thread here reconnects with the edge's exponential back-off whenever the connection
fails, the handshake does not reach inventorying in time, sllurp's thread dies, or nothing at
all (not even a KEEPALIVE) arrived for ``keepalive_timeout_factor`` keep-alive intervals — the
only sign of a half-open TCP connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig, LLRPReaderState

from edge.drivers.llrp import LLRP_PORT, tag_reads
from edge.drivers.serial_io import to_datetime
from edge.reads import DecodeStats, TagRead
from storeflow.backoff import BACKOFF_INITIAL_S, BACKOFF_MAX_S, next_backoff
from storeflow.clock import Clock, SystemClock
from storeflow.wire import ReaderHealth

logger = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
_STOP_TIMEOUT_S = 2.0
_LAST_WORD_S = 0.2  # after a stalled polite stop, before the socket is closed


def reader_config(
    *, antennas: list[int], keepalive_s: float, report_every_n_tags: int | None = None
) -> LLRPReaderConfig:
    """The sllurp client configuration: what each tag report must carry, keep-alives, no
    sllurp-side reconnects (this loop reconnects)."""
    return LLRPReaderConfig(
        {
            "antennas": antennas,
            "tx_power": 0,  # 0 = the reader's highest power table entry
            "report_every_n_tags": report_every_n_tags,
            "start_inventory": True,
            "reset_on_connect": True,
            "reconnect": False,
            "keepalive_interval": round(keepalive_s * 1000),
            "tag_content_selector": {
                "EnableROSpecID": True,
                "EnableSpecIndex": False,
                "EnableInventoryParameterSpecID": False,
                "EnableAntennaID": True,
                "EnableChannelIndex": False,
                "EnablePeakRSSI": True,
                "EnableFirstSeenTimestamp": True,
                "EnableLastSeenTimestamp": True,
                "EnableTagSeenCount": True,
                "EnableAccessSpecID": False,
            },
        }
    )


class _Client(LLRPReaderClient):  # type: ignore[misc]  # sllurp is untyped
    """sllurp's client with a connect step that closes the socket when connecting fails (sllurp
    drops it unclosed) and resolves host names for IPv4 and IPv6 (sllurp: IPv4 only)."""

    def _connect_socket(self) -> bool:
        if getattr(self, "_socket", None) is not None:
            raise OSError("already connected")
        sock = socket.create_connection((self._host, self._port), timeout=self._socktimeout)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        return True


def is_silent(last_rx: float, now: float, *, keepalive_s: float, factor: float) -> bool:
    """True when nothing arrived for ``factor`` keep-alive intervals (the link is dead)."""
    return keepalive_s > 0 and now - last_rx > keepalive_s * factor


class LlrpReaderLoop:
    """Keeps one LLRP reader connected and inventorying; hands its reads to ``on_reads``."""

    def __init__(
        self,
        reader_id: str,
        host: str,
        on_reads: Callable[[list[TagRead]], None],
        *,
        port: int = LLRP_PORT,
        antennas: list[int] | None = None,
        clock: Clock | None = None,
        keepalive_s: float = 5.0,
        keepalive_timeout_factor: float = 3.0,
        handshake_timeout_s: float = 10.0,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        polite_stop_s: float = _STOP_TIMEOUT_S,
    ) -> None:
        self.reader_id = reader_id
        self.host = host
        self.port = port
        self.on_reads = on_reads
        self.antennas = antennas or [1, 2, 3, 4]
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.keepalive_s = keepalive_s
        self.keepalive_timeout_factor = keepalive_timeout_factor
        self.handshake_timeout_s = handshake_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.polite_stop_s = polite_stop_s  # how long a stop waits for the reader's answers
        self.stats = DecodeStats()
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._inventorying = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: LLRPReaderClient | None = None
        self._last_rx = 0.0  # time.monotonic() of the last message from the reader
        self._connects = 0
        self._reads_total = 0
        self._last_read_at: float | None = None
        self._keepalives = 0
        self._had_session = False  # the current connection reached inventorying

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"llrp-reader-{self.reader_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning(
                    "reader %s: LLRP thread did not stop in %.1f s", self.reader_id, timeout
                )
        self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        """Block until the reader is inventorying (True) or ``timeout`` passes (False)."""
        return self._inventorying.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._inventorying.is_set()

    @property
    def reconnects(self) -> int:
        """Connections that reached inventorying after the first one."""
        return max(self._connects - 1, 0)

    @property
    def keepalives(self) -> int:
        """KEEPALIVE messages received (and acknowledged by sllurp)."""
        return self._keepalives

    def health(self) -> ReaderHealth:
        return ReaderHealth(
            connected=self.connected,
            reads_total=self._reads_total,
            frames_bad=self.stats.frames_bad,
            reconnects=self.reconnects,
            last_read_at=to_datetime(self._last_read_at),
        )

    # -- supervisor thread --------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        outage_logged = False
        while not self._stop.is_set():
            client = self._connect()
            if client is None:
                why = "cannot be reached"
            else:
                why = self._supervise(client)
                self._close(client, polite=self._stop.is_set())
                if self._stop.is_set():
                    break
            if self._had_session:  # a session worked: start the back-off over
                delay = 0.0
                outage_logged = False
            delay = next_backoff(delay, initial=self.backoff_initial_s, maximum=self.backoff_max_s)
            if not outage_logged:
                outage_logged = True
                logger.warning(
                    "reader %s: LLRP reader %s:%s %s; retrying with back-off",
                    self.reader_id,
                    self.host,
                    self.port,
                    why,
                )
            else:
                logger.debug("reader %s: %s; next try in %.1f s", self.reader_id, why, delay)
            self._stop.wait(delay)

    def _connect(self) -> _Client | None:
        self._lost.clear()
        self._inventorying.clear()
        self._had_session = False
        client = _Client(
            self.host,
            self.port,
            reader_config(antennas=self.antennas, keepalive_s=self.keepalive_s),
            timeout=_CONNECT_TIMEOUT_S,
        )
        client.add_tag_report_callback(self._on_tag_report)
        client.add_disconnected_callback(self._on_disconnected)
        client.add_state_callback(LLRPReaderState.STATE_INVENTORYING, self._on_inventorying)
        client.add_message_callback("KEEPALIVE", self._on_keepalive)
        self._last_rx = time.monotonic()
        try:
            client.connect()
        except OSError as exc:
            logger.debug(
                "reader %s: cannot connect to %s:%s: %s", self.reader_id, self.host, self.port, exc
            )
            return None
        self._client = client
        return client

    def _supervise(self, client: LLRPReaderClient) -> str:
        """Wait while the session is healthy; returns why it is not (or "stopped")."""
        deadline = time.monotonic() + self.handshake_timeout_s
        tick = max(min(self.keepalive_s / 2, 0.5), 0.05)
        while not self._stop.wait(0 if self._lost.is_set() else tick):
            if self._lost.is_set() or not client.is_alive():
                return "lost"
            now = time.monotonic()
            if not self._inventorying.is_set():
                if now > deadline:
                    return "did not start inventorying in time"
                continue
            if is_silent(
                self._last_rx,
                now,
                keepalive_s=self.keepalive_s,
                factor=self.keepalive_timeout_factor,
            ):
                return "silent (no keep-alive)"
        return "stopped"

    def _close(self, client: LLRPReaderClient, *, polite: bool) -> None:
        self._inventorying.clear()
        self._client = None
        if polite and client.is_alive():
            # DELETE_ACCESSSPEC + DELETE_ROSPEC, then sllurp closes the socket.
            try:
                client.disconnect(timeout=self.polite_stop_s)
            except Exception as exc:  # sllurp raises bare errors on a dead socket
                logger.debug("reader %s: polite LLRP disconnect failed: %s", self.reader_id, exc)
            if client.is_alive():
                # sllurp registers what to do with an answer after sending the request, so an
                # answer that comes back first is dropped and its polite stop stalls; the reader
                # must not be left inventorying: ask it to delete its ROSpecs ourselves.
                try:
                    client.llrp.sendMessage({"DELETE_ROSPEC": {"ROSpecID": 0}})
                    time.sleep(_LAST_WORD_S)  # let the request leave before the close
                except Exception as exc:
                    logger.debug("reader %s: DELETE_ROSPEC failed: %s", self.reader_id, exc)
        client.disconnect_requested.set()
        client.hard_disconnect()
        client.join(_STOP_TIMEOUT_S)

    # -- sllurp callbacks (sllurp's socket thread) --------------------------------------------

    def _on_tag_report(self, _client: LLRPReaderClient, tags: list[dict[str, Any]]) -> None:
        self._last_rx = time.monotonic()
        reads = tag_reads(
            tags, reader_id=self.reader_id, host_ts=self.clock.now(), stats=self.stats
        )
        if not reads:
            return
        self._reads_total += len(reads)
        self._last_read_at = reads[-1].host_ts
        try:
            self.on_reads(reads)
        except Exception:
            logger.exception("reader %s: on_reads callback failed", self.reader_id)

    def _on_keepalive(self, _client: LLRPReaderClient, _msg: Any) -> None:
        self._last_rx = time.monotonic()
        self._keepalives += 1

    def _on_inventorying(self, _client: LLRPReaderClient, _state: int) -> None:
        self._last_rx = time.monotonic()
        self._connects += 1
        self._had_session = True
        if self._connects > 1:
            logger.warning("reader %s: LLRP reconnected, inventorying", self.reader_id)
        else:
            logger.info(
                "reader %s: LLRP connected to %s:%s, inventorying",
                self.reader_id,
                self.host,
                self.port,
            )
        self._inventorying.set()

    def _on_disconnected(self, _client: LLRPReaderClient) -> None:
        self._lost.set()
