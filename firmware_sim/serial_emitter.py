"""Simulated serial R2000 readers: the simulator's reads as real 0xA0 frames on a wire.

:class:`R2000SocketEmitter` is a TCP server, like ser2net in front of a real reader: the edge
connects with ``socket://127.0.0.1:PORT``. :class:`R2000PtyEmitter` is a pseudo-terminal: the
edge opens :attr:`R2000PtyEmitter.device_path` as if it were ``/dev/ttyUSB0``. Both behave like a
reader with nobody listening when no host is attached: the reads are counted as dropped.

Optional noise makes the stream look like a real line: with probability ``noise`` per frame,
random garbage bytes are put in front of the frame or its checksum is corrupted. Every
``round_every`` tag frames an end-of-inventory-round frame follows, as a module in real-time
inventory mode sends.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import selectors
import socket
import threading
import tty
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_sim.encoders import r2000_end_of_round, r2000_tag_frame
from firmware_sim.model import SimRead

logger = logging.getLogger(__name__)

_POLL_S = 0.2
_SEND_TIMEOUT_S = 2.0
_MAX_GARBAGE = 8


@dataclass(slots=True)
class EmitterStats:
    """What an emitter did: reads delivered on the wire, reads dropped for want of a host."""

    reads_sent: int = 0
    dropped: int = 0
    noisy_frames: int = 0  # frames given garbage in front or a bad checksum
    corrupted: int = 0  # of those, frames whose checksum was broken (the decoder must drop them)
    rounds: int = 0  # end-of-round frames sent
    clients: int = 0  # hosts that connected so far


def add_noise(frame: bytes, rng: random.Random) -> tuple[bytes, bool]:
    """One noisy version of ``frame``: garbage in front (frame intact) or a broken checksum.

    Returns the bytes and whether the frame itself was corrupted.
    """
    if rng.random() < 0.5:
        garbage = rng.randbytes(rng.randint(1, _MAX_GARBAGE))
        return garbage + frame, False
    bad = (frame[-1] + rng.randint(1, 255)) & 0xFF
    return frame[:-1] + bytes([bad]), True


class R2000Framer:
    """Turns simulated reads into the byte stream of one R2000 module (pure, seeded)."""

    def __init__(
        self, *, addr: int = 1, noise: float = 0.0, seed: int = 0, round_every: int = 0
    ) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be a probability in [0, 1], got {noise}")
        if round_every < 0:
            raise ValueError(f"round_every must be >= 0, got {round_every}")
        self.addr = addr
        self.noise = noise
        self.round_every = round_every
        self.stats = EmitterStats()
        self._rng = random.Random(seed)
        self._in_round = 0

    def encode(self, reads: Sequence[SimRead]) -> bytes:
        out = bytearray()
        for read in reads:
            frame = r2000_tag_frame(
                addr=self.addr, antenna=read.antenna, epc_hex=read.epc, rssi_dbm=read.rssi_dbm
            )
            if self.noise and self._rng.random() < self.noise:
                frame, corrupted = add_noise(frame, self._rng)
                self.stats.noisy_frames += 1
                self.stats.corrupted += corrupted
            out += frame
            self._in_round += 1
            if self.round_every and self._in_round >= self.round_every:
                out += r2000_end_of_round(self.addr, read.antenna, self._in_round, self._in_round)
                self.stats.rounds += 1
                self._in_round = 0
        return bytes(out)


class R2000SocketEmitter:
    """An R2000 reader behind a TCP serial server on ``host:port`` (port 0 picks a free one).

    One host at a time: a new connection replaces the previous one. Bytes the host sends (the
    inventory command) are read and discarded.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        addr: int = 1,
        noise: float = 0.0,
        seed: int = 0,
        round_every: int = 0,
    ) -> None:
        self.host = host
        self._framer = R2000Framer(addr=addr, noise=noise, seed=seed, round_every=round_every)
        self._lock = threading.Lock()
        self._client: socket.socket | None = None
        self._client_event = threading.Event()
        self._closed = threading.Event()
        # create_server sets SO_REUSEADDR, so a re-opened emitter gets the same port back.
        self._server = socket.create_server((host, port))
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, name=f"r2000-emitter-{self.port}", daemon=True
        )
        self._thread.start()
        logger.info("R2000 socket emitter on %s:%s", host, self.port)

    @property
    def stats(self) -> EmitterStats:
        return self._framer.stats

    @property
    def url(self) -> str:
        """What the edge puts in its reader config."""
        return f"socket://{self.host}:{self.port}"

    @property
    def has_client(self) -> bool:
        return self._client is not None

    def wait_client(self, timeout: float) -> bool:
        """Block until a host is connected (True) or ``timeout`` passes (False)."""
        return self._client_event.wait(timeout)

    def emit(self, reads: Sequence[SimRead]) -> None:
        if not reads:
            return
        with self._lock:
            client = self._client
            if client is None:
                self.stats.dropped += len(reads)
                return
            data = self._framer.encode(reads)
            try:
                client.sendall(data)
            except OSError as exc:
                logger.info("R2000 emitter %s: host gone (%s)", self.port, exc)
                self._drop_client_locked()
                self.stats.dropped += len(reads)
                return
            self.stats.reads_sent += len(reads)

    def disconnect(self) -> None:
        """Drop the connected host (it has to reconnect), as when a cable or ser2net restarts."""
        with self._lock:
            self._drop_client_locked()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(_POLL_S * 5)
        with self._lock:
            self._drop_client_locked()
        self._server.close()

    def __enter__(self) -> R2000SocketEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop_client_locked(self) -> None:
        client, self._client = self._client, None
        self._client_event.clear()
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def _serve(self) -> None:
        """Accept hosts and drain what they send, until closed."""
        with selectors.DefaultSelector() as sel:
            sel.register(self._server, selectors.EVENT_READ)
            watched: socket.socket | None = None
            while not self._closed.is_set():
                try:
                    watched = self._watch(sel, watched)
                    for key, _ in sel.select(_POLL_S):
                        if key.fileobj is self._server:
                            self._accept()
                        elif key.fileobj is watched and watched is not None:
                            self._drain(watched)
                except Exception:
                    logger.exception("R2000 emitter %s: serving failed", self.port)
                    self._closed.wait(_POLL_S)

    def _watch(
        self, sel: selectors.BaseSelector, watched: socket.socket | None
    ) -> socket.socket | None:
        """Keep the selector on the current host's socket; returns the socket now watched."""
        with self._lock:
            current = self._client
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
            self._drop_client_locked()
            self._client = conn
            self.stats.clients += 1
            self._client_event.set()
        logger.info("R2000 emitter %s: host %s:%s connected", self.port, *peer[:2])

    def _drain(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except (BlockingIOError, TimeoutError):
            return
        except OSError:
            data = b""
        if not data:
            with self._lock:
                if self._client is conn:
                    logger.info("R2000 emitter %s: host disconnected", self.port)
                    self._drop_client_locked()


class R2000PtyEmitter:
    """An R2000 reader on a pseudo-terminal; the edge opens :attr:`device_path`.

    Whether a host has the device open is told by the master side (reads fail with EIO while
    nobody holds the slave open); reads emitted then are dropped, not queued.
    :meth:`disconnect` hangs the line up by replacing the pseudo-terminal, so
    :attr:`device_path` may change.
    """

    def __init__(
        self, *, addr: int = 1, noise: float = 0.0, seed: int = 0, round_every: int = 0
    ) -> None:
        self._framer = R2000Framer(addr=addr, noise=noise, seed=seed, round_every=round_every)
        self._lock = threading.Lock()
        self._master = -1
        self.device_path = ""
        self._open_pty()

    @property
    def stats(self) -> EmitterStats:
        return self._framer.stats

    @property
    def url(self) -> str:
        return self.device_path

    @property
    def has_client(self) -> bool:
        with self._lock:
            return self._poll_master_locked()

    def emit(self, reads: Sequence[SimRead]) -> None:
        if not reads:
            return
        with self._lock:
            if self._master < 0 or not self._poll_master_locked():
                self.stats.dropped += len(reads)
                return
            data = memoryview(self._framer.encode(reads))
            while data:
                try:
                    written = os.write(self._master, data)
                except BlockingIOError:
                    # The host is not reading: the line buffer is full, the rest is lost.
                    break
                except OSError as exc:
                    logger.info("R2000 pty emitter %s: host gone (%s)", self.device_path, exc)
                    break
                data = data[written:]
            if data:
                self.stats.dropped += len(reads)
            else:
                self.stats.reads_sent += len(reads)

    def disconnect(self) -> None:
        with self._lock:
            self._close_master_locked()
            self._open_pty()

    def close(self) -> None:
        with self._lock:
            self._close_master_locked()

    def __enter__(self) -> R2000PtyEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.device_path = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        logger.info("R2000 pty emitter on %s", self.device_path)

    def _close_master_locked(self) -> None:
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    def _poll_master_locked(self) -> bool:
        """True while a host holds the device open; discards what the host wrote to us."""
        if self._master < 0:
            return False
        while True:
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                return True
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return False
                raise
            if not data:
                return False
