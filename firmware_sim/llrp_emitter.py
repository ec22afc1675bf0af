"""A simulated LLRP reader (Impinj Speedway/R-series, Zebra FX in LLRP mode) on a TCP port.

The edge connects as the LLRP client (the reader listens, on port 5084 in the field; port 0 here
picks a free one). On connect the reader sends ``READER_EVENT_NOTIFICATION`` with a successful
``ConnectionAttemptEvent``; it answers every request with the matching ``*_RESPONSE`` carrying an
``LLRPStatus`` of success (``GET_READER_CAPABILITIES`` with the capabilities of a 4-antenna
reader), ``ERROR_MESSAGE`` to vendor extensions it does not know, and closes the connection after
``CLOSE_CONNECTION_RESPONSE``. Once a ROSpec is enabled (immediate start trigger) or started,
:meth:`LlrpReaderEmitter.emit` sends the reads as one ``RO_ACCESS_REPORT`` per call, one
``TagReportData`` per read (EPC-96, AntennaID, PeakRSSI, First/LastSeenTimestampUTC on the
reader's own clock). ``KEEPALIVE`` goes out at the interval the client's ``SET_READER_CONFIG``
asked for; ``KEEPALIVE_ACK`` is counted.

One client at a time: a new connection replaces the previous one. Reads emitted while no client
is inventorying are counted as dropped, as a reader with nobody listening loses them.
:meth:`disconnect` drops the client (as a reader reboot does); :meth:`stall` keeps the TCP
connection open but goes silent (a half-open connection), which only keep-alives reveal.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from firmware_sim import llrp_codec as c
from firmware_sim.model import SimRead

logger = logging.getLogger(__name__)

_POLL_S = 0.2
_SEND_TIMEOUT_S = 2.0


@dataclass(slots=True)
class LlrpEmitterStats:
    reads_sent: int = 0
    dropped: int = 0  # reads emitted while no client was inventorying
    reports: int = 0  # RO_ACCESS_REPORT messages sent
    clients: int = 0  # connections accepted so far
    keepalives_sent: int = 0
    keepalive_acks: int = 0
    requests: dict[int, int] = field(default_factory=dict)  # message type -> count


@dataclass(slots=True)
class _Session:
    conn: socket.socket
    buf: bytes = b""
    rospecs: dict[int, int] = field(default_factory=dict)  # ROSpecID -> start trigger type
    active: set[int] = field(default_factory=set)  # ROSpecs running (reports flow)
    keepalive_s: float = 0.0
    next_keepalive: float = 0.0
    stalled: bool = False


class LlrpReaderEmitter:
    """A fixed LLRP reader on ``host:port`` streaming the simulator's reads."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        antennas: int = 4,
        clock_offset_s: float = 0.0,
    ) -> None:
        self.host = host
        self.antennas = antennas
        self.clock_offset_s = clock_offset_s
        self.stats = LlrpEmitterStats()
        self._lock = threading.Lock()
        self._keepalive_seen = threading.Condition(self._lock)  # a keep-alive sent or acked
        self._session: _Session | None = None
        self._msg_id = 0
        self._inventorying = threading.Event()
        self._closed = threading.Event()
        self._server = socket.create_server((host, port))
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, name=f"llrp-reader-{self.port}", daemon=True
        )
        self._thread.start()
        logger.info("simulated LLRP reader on %s:%s", host, self.port)

    # -- public API ---------------------------------------------------------------------------

    @property
    def inventorying(self) -> bool:
        """A client is connected and a ROSpec is running: emitted reads reach it."""
        return self._inventorying.is_set()

    def wait_inventorying(self, timeout: float) -> bool:
        return self._inventorying.wait(timeout)

    def keepalive_stats_when(
        self, ready: Callable[[LlrpEmitterStats], bool], timeout: float
    ) -> LlrpEmitterStats:
        """A copy of :attr:`stats` once ``ready`` holds of them, waiting up to ``timeout`` s for
        keep-alives to be sent or acknowledged (the copy as it is then, if it never does).

        A client that has received a keep-alive may look before the reader has counted it, and
        an ACK is counted by the thread that reads the socket, not the one that sends."""
        with self._keepalive_seen:
            self._keepalive_seen.wait_for(lambda: ready(self.stats), timeout)
            return replace(self.stats, requests=dict(self.stats.requests))

    def emit(self, reads: Sequence[SimRead]) -> None:
        """Send ``reads`` as one RO_ACCESS_REPORT (or count them dropped)."""
        if not reads:
            return
        with self._lock:
            s = self._session
            if s is None or not s.active or s.stalled:
                self.stats.dropped += len(reads)
                return
            rospec_id = min(s.active)
            reports = [
                c.TagReport(
                    epc_hex=r.epc,
                    antenna=r.antenna,
                    peak_rssi_dbm=max(-128, min(127, round(r.rssi_dbm))),
                    first_seen_us=round((r.reader_t + self.clock_offset_s) * 1e6),
                    rospec_id=rospec_id,
                )
                for r in reads
            ]
            if self._send_locked(s, c.ro_access_report(self._next_id(), reports)):
                self.stats.reads_sent += len(reads)
                self.stats.reports += 1
            else:
                self.stats.dropped += len(reads)

    def disconnect(self, *, graceful: bool = False) -> None:
        """Drop the client, after a ConnectionCloseEvent if ``graceful`` (a reader shutting
        down sends one; a crash or cable cut does not)."""
        with self._lock:
            s = self._session
            if s is not None and graceful:
                self._send_locked(s, c.connection_close_event(self._next_id(), micros=_now_us()))
            self._drop_locked()

    def stall(self) -> None:
        """Go silent on the open connection: no keep-alives, no reports, requests ignored."""
        with self._lock:
            if self._session is not None:
                self._session.stalled = True
                self._inventorying.clear()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(_POLL_S * 5)
        with self._lock:
            self._drop_locked()
        self._server.close()

    def __enter__(self) -> LlrpReaderEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals (lock held where the name says so) -----------------------------------------

    def _next_id(self) -> int:
        self._msg_id = self._msg_id % 0xFFFFFFFF + 1
        return self._msg_id

    def _send_locked(self, s: _Session, data: bytes) -> bool:
        try:
            s.conn.sendall(data)
        except OSError as exc:
            logger.info("LLRP reader %s: client gone (%s)", self.port, exc)
            self._drop_locked()
            return False
        return True

    def _drop_locked(self) -> None:
        s, self._session = self._session, None
        self._inventorying.clear()
        if s is not None:
            with contextlib.suppress(OSError):
                s.conn.shutdown(socket.SHUT_RDWR)
            s.conn.close()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._server, selectors.EVENT_READ)
            watched: socket.socket | None = None
            while not self._closed.is_set():
                try:
                    watched = self._watch(sel, watched)
                    for key, _ in sel.select(self._wait_s()):
                        if key.fileobj is self._server:
                            self._accept()
                        elif key.fileobj is watched and watched is not None:
                            self._receive(watched)
                    self._keepalive()
                except Exception:
                    logger.exception("LLRP reader %s: serving failed", self.port)
                    self._closed.wait(_POLL_S)

    def _wait_s(self) -> float:
        with self._lock:
            s = self._session
            if s is None or not s.keepalive_s or s.stalled:
                return _POLL_S
            return max(0.0, min(_POLL_S, s.next_keepalive - time.monotonic()))

    def _watch(
        self, sel: selectors.BaseSelector, watched: socket.socket | None
    ) -> socket.socket | None:
        with self._lock:
            current = self._session.conn if self._session is not None else None
            if current is watched:
                return watched
            if watched is not None:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    sel.unregister(watched)
            if current is not None:
                sel.register(current, selectors.EVENT_READ)
            return current

    def _accept(self) -> None:
        try:
            conn, peer = self._server.accept()
        except OSError:
            return
        conn.settimeout(_SEND_TIMEOUT_S)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._drop_locked()
            s = self._session = _Session(conn)
            self.stats.clients += 1
            self._send_locked(s, c.connection_attempt_event(self._next_id(), micros=_now_us()))
        logger.info("LLRP reader %s: client %s:%s connected", self.port, *peer[:2])

    def _receive(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except (BlockingIOError, TimeoutError):
            return
        except OSError:
            data = b""
        with self._lock:
            s = self._session
            if s is None or s.conn is not conn:
                return
            if not data:
                logger.info("LLRP reader %s: client disconnected", self.port)
                self._drop_locked()
                return
            if s.stalled:
                return
            try:
                messages, s.buf = c.split_messages(s.buf + data)
                for msg in messages:
                    if not self._handle_locked(s, msg):
                        return
            except c.LlrpFramingError as exc:
                logger.warning("LLRP reader %s: bad message from client (%s)", self.port, exc)
                self._drop_locked()

    def _handle_locked(self, s: _Session, msg: c.Message) -> bool:
        """Answer one client message; False once the session is over."""
        t = msg.msg_type
        self.stats.requests[t] = self.stats.requests.get(t, 0) + 1
        if t == c.KEEPALIVE_ACK:
            self.stats.keepalive_acks += 1
            self._keepalive_seen.notify_all()
            return True
        if t in (c.ENABLE_EVENTS_AND_REPORTS, c.GET_REPORT):
            return True  # no response defined (reports are sent as they come anyway)
        if t == c.GET_READER_CAPABILITIES:
            reply = c.capabilities_response(msg.msg_id, antennas=self.antennas)
            return self._send_locked(s, reply)
        if t not in c.STATUS_RESPONSES:
            # Vendor extensions (CUSTOM_MESSAGE) and anything else: not supported here.
            logger.info("LLRP reader %s: unsupported message type %s", self.port, t)
            reply = c.status_response(c.ERROR_MESSAGE, msg.msg_id, c.STATUS_UNSUPPORTED_MESSAGE)
            return self._send_locked(s, reply)
        if t == c.SET_READER_CONFIG:
            interval_ms = c.keepalive_interval_ms(msg.body)
            if interval_ms is not None:
                s.keepalive_s = interval_ms / 1000.0
                s.next_keepalive = time.monotonic() + s.keepalive_s
        elif t == c.ADD_ROSPEC:
            rospec_id, trigger = c.rospec_summary(msg.body)
            s.rospecs[rospec_id] = trigger
        elif t in (c.ENABLE_ROSPEC, c.START_ROSPEC):
            rospec_id = c.rospec_id_of(msg.body)
            ids = list(s.rospecs) if rospec_id == 0 else [rospec_id]
            for i in ids:
                if i in s.rospecs and (
                    t == c.START_ROSPEC or s.rospecs[i] == c.START_TRIGGER_IMMEDIATE
                ):
                    s.active.add(i)
        elif t in (c.STOP_ROSPEC, c.DISABLE_ROSPEC, c.DELETE_ROSPEC):
            rospec_id = c.rospec_id_of(msg.body)
            stopped = set(s.rospecs) if rospec_id == 0 else {rospec_id}
            s.active -= stopped
            if t == c.DELETE_ROSPEC:
                for i in stopped:
                    s.rospecs.pop(i, None)
        ok = self._send_locked(s, c.status_response(c.STATUS_RESPONSES[t], msg.msg_id))
        if ok and t == c.CLOSE_CONNECTION:
            logger.info("LLRP reader %s: client closed the connection", self.port)
            self._drop_locked()
            return False
        if s.active:
            self._inventorying.set()
        else:
            self._inventorying.clear()
        return ok

    def _keepalive(self) -> None:
        with self._lock:
            s = self._session
            if s is None or not s.keepalive_s or s.stalled:
                return
            now = time.monotonic()
            if now < s.next_keepalive:
                return
            s.next_keepalive = now + s.keepalive_s
            if self._send_locked(s, c.keepalive(self._next_id())):
                self.stats.keepalives_sent += 1
                self._keepalive_seen.notify_all()


def _now_us() -> int:
    return round(time.time() * 1e6)
