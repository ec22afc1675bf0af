"""A TCP proxy that can break the network on purpose, in the spirit of psycopg's ``fix_proxy.py``.

Put it in front of a server (the edge's uplink to ``storeflow server``, the server's pool to
PostgreSQL) and inject faults:

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.url_for(db_url)   # the same database, through the proxy
        proxy.cut_at(COMMIT)          # the next COMMIT sent closes that connection
        proxy.cut()                   # every connection closed, new ones refused ...
        proxy.restore()               # ... until the network is back

Used by ``storeflow bench faults`` and by the fault tests.
"""

from __future__ import annotations

import contextlib
import logging
import re
import selectors
import socket
import threading
from collections.abc import Iterator

import psycopg

logger = logging.getLogger(__name__)

# psycopg sends COMMIT as a simple query, b"Q" <int32 length 11> b"COMMIT\0" (or, in pipeline
# mode, as an unnamed Parse message: b"P" <length> b"\0COMMIT\0")
COMMIT = re.compile(rb"(?:Q\x00\x00\x00\x0b|\x00)COMMIT\x00")

_POLL_S = 0.2


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``host:port``; see the module text for the faults."""

    def __init__(self, host: str, port: int, *, listen_port: int = 0) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self._listener.settimeout(_POLL_S)  # so the accept loop sees the stop
        self.port: int = self._listener.getsockname()[1]
        self._cut_pattern: re.Pattern[bytes] | None = None
        self._cuts_left = 0
        self._down = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.cuts = 0  # connections closed by a matching message
        self.refused = 0  # connections refused while the network was cut

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        info = psycopg.conninfo.conninfo_to_dict(url)
        return cls(str(info.get("host", "127.0.0.1")), int(str(info["port"])))

    def url_for(self, url: str) -> str:
        """A PostgreSQL URL like ``url`` that goes through the proxy."""
        info = psycopg.conninfo.conninfo_to_dict(url)
        info["host"] = "127.0.0.1"
        info["port"] = str(self.port)
        return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_at(self, pattern: re.Pattern[bytes] | None, times: int = 1) -> None:
        """Close the connection that next sends bytes matching ``pattern``, ``times`` times
        (None: never)."""
        with self._lock:
            self._cut_pattern = pattern
            self._cuts_left = times if pattern is not None else 0

    def cut(self) -> None:
        """The network goes away: every open connection is closed, new ones are refused."""
        with self._lock:
            self._down = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close_pair(pair)

    def restore(self) -> None:
        """The network is back."""
        with self._lock:
            self._down = False

    def __enter__(self) -> TcpProxy:
        t = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close_pair(pair)
        for t in self._threads:
            t.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                self.refused += 1
                _close_pair((client,))
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:  # the server behind is down: so is this connection
                _close_pair((client,))
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
            t = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            t.start()
            self._threads = [th for th in self._threads if th.is_alive()] + [t]

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=_POLL_S):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst: socket.socket = key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is client and self._should_cut(data):
                        return
                    dst.sendall(data)
        except (OSError, ValueError):  # closed under us by cut()
            return
        finally:
            sel.close()
            with self._lock:
                if (client, upstream) in self._pairs:
                    self._pairs.remove((client, upstream))
            _close_pair((client, upstream))

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            if self._cut_pattern is not None and self._cut_pattern.search(data):
                self._cuts_left -= 1
                if self._cuts_left <= 0:
                    self._cut_pattern = None
                self.cuts += 1
                return True
        return False


def _close_pair(socks: tuple[socket.socket, ...]) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


@contextlib.contextmanager
def proxied(url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the PostgreSQL server of ``url``, and ``url`` through it."""
    with TcpProxy.for_url(url) as proxy:
        yield proxy, proxy.url_for(url)
