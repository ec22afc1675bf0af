"""A simulated RDM6300 member-card reader at a till, reachable as ``socket://host:port``.

When a member pays, their card lies on the reader for a moment: the frame repeats a few times.
"""

from __future__ import annotations

import logging
import socket
import threading

from firmware_sim.encoders import rdm6300_frame

logger = logging.getLogger(__name__)


class Rdm6300SocketEmitter:
    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", repeats: int = 3) -> None:
        self._server = socket.create_server((host, port))
        self.port: int = self._server.getsockname()[1]
        self.repeats = repeats
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self.presented = 0
        threading.Thread(target=self._accept, name="rdm6300-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                if self._client is not None:
                    self._client.close()
                self._client = conn

    def present(self, card_hex10: str) -> None:
        """A card laid on the reader: its frame, repeated (the edge counts it once)."""
        with self._lock:
            if self._client is None:
                return
            try:
                self._client.sendall(rdm6300_frame(card_hex10) * self.repeats)
                self.presented += 1
            except OSError:
                self._client.close()
                self._client = None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
        self._server.close()
