"""A TCP proxy in front of PostgreSQL that can cut its connections when a client sends a given
message (the COMMIT of a transaction), to see what the API answers when the database goes away
at the worst moment.

    with TcpProxy(host, port) as proxy:
        url = proxy.url_for(db_url)  # the same database, through the proxy
        proxy.cut_at(COMMIT)          # the next COMMIT sent closes that connection
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import threading
from collections.abc import Iterator

import psycopg

# psycopg sends COMMIT as a simple query, b"Q" <int32 length 11> b"COMMIT\0" (or, in pipeline
# mode, as an unnamed Parse message: b"P" <length> b"\0COMMIT\0")
COMMIT = re.compile(rb"(?:Q\x00\x00\x00\x0b|\x00)COMMIT\x00")


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # so the accept loop sees the stop
        self.port: int = self._listener.getsockname()[1]
        self._cut: re.Pattern[bytes] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self.cuts = 0

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        info = psycopg.conninfo.conninfo_to_dict(url)
        return cls(str(info.get("host", "127.0.0.1")), int(str(info["port"])))

    def url_for(self, url: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(url)
        info["host"] = "127.0.0.1"
        info["port"] = str(self.port)
        return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    def cut_at(self, pattern: re.Pattern[bytes] | None) -> None:
        """Close the connection that next sends bytes matching ``pattern`` (None: never)."""
        with self._lock:
            self._cut = pattern

    def __enter__(self) -> TcpProxy:
        t = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.close()
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
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            t = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst: socket.socket = key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is client and self._should_cut(data):
                        return
                    dst.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            if self._cut is not None and self._cut.search(data):
                self._cut = None
                self.cuts += 1
                return True
        return False


@contextlib.contextmanager
def proxied(url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the server of ``url``, and ``url`` through it."""
    with TcpProxy.for_url(url) as proxy:
        yield proxy, proxy.url_for(url)
