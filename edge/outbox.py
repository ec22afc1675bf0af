"""Durable store-and-forward outbox: a SQLite file of events waiting for the server's ack.

Events are written here before anything is sent, and deleted only after the server acknowledged
the batch that carried them. A crash, a reboot or a week without network loses nothing. The same
event id is stored once, so re-tracking the same reads after a restart does not duplicate work.
A batch the server rejects as malformed (HTTP 4xx other than auth) moves to ``dead_letter`` so it
cannot block everything behind it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter

from storeflow.wire import Event

logger = logging.getLogger(__name__)

_EVENT = TypeAdapter(Event)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    event_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    event: Event


class Outbox:
    """Thread-safe SQLite outbox. ``path=":memory:"`` gives a throwaway one (tests only)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def put(self, events: Sequence[Event]) -> int:
        """Store events (idempotent on event id); returns how many were new."""
        if not events:
            return 0
        now = time.time()
        rows = [(str(e.event_id), e.model_dump_json(), now) for e in events]
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (event_id, body, created_at) VALUES (?, ?, ?)", rows
            )
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def peek(self, limit: int) -> list[Pending]:
        """The oldest ``limit`` events, not removed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Pending(seq, _EVENT.validate_json(body)) for seq, body in rows]

    def ack(self, seqs: Sequence[int]) -> None:
        """Delete events the server acknowledged."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")

    def dead_letter(self, seqs: Sequence[int], reason: str) -> None:
        """Move events the server refused as malformed out of the way, keeping them for review."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            for seq in seqs:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead_letter SELECT event_id, body, ?, ? "
                    "FROM outbox WHERE seq = ?",
                    (reason, now, seq),
                )
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")
        logger.error("moved %d events to the dead-letter table: %s", len(seqs), reason)

    def depth(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(n)

    def dead_letters(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()
