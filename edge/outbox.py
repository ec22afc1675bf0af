"""Durable store-and-forward outbox: a SQLite file of events waiting for the server's ack.

Events are written here before anything is sent, and deleted only after the server acknowledged
the batch that carried them. A crash, a reboot or a week without network loses nothing. The same
event id is stored once, so re-tracking the same reads after a restart does not duplicate work.

Nothing in here may stop the rows behind it:

* an event that does not read back as itself (a NaN, an infinity) goes to ``dead_letter`` with
  its reason when written; a stored row that no longer parses goes there when read;
* when the file cannot be written (disk full, I/O error) the events wait in memory (bounded by
  ``max_held``) and are written on the next attempt; each refusal is counted and logged as an
  ERROR, and :meth:`Outbox.health` says so;
* the outbox is bounded by rows, bytes and age (:class:`OutboxLimits`); what is dropped to stay
  inside the bounds is counted by reason and logged.

The same file keeps the tracker's open visits (``open_visit``), written in the same transaction
as the visits that closed, so a kill -9 neither loses an open visit nor sends a closed one twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

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
CREATE INDEX IF NOT EXISTS outbox_created_at ON outbox (created_at);
CREATE TABLE IF NOT EXISTS dead_letter (
    event_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS open_visit (
    epc TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
"""

_PRUNE_CHUNK = 1000

# A row: (event_id, body, created_at); a bad one: (event_id, body, reason).
_Row = tuple[str, str, float]


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    max_rows: int = 2_000_000
    max_bytes: int = 1 << 30
    max_age_s: float = 30 * 86_400.0
    max_held: int = 20_000  # events kept in memory while the file refuses writes


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    event: Event


@dataclass(slots=True)
class OutboxHealth:
    depth: int = 0  # events waiting in the file
    bytes: int = 0  # their JSON size
    held: int = 0  # events waiting in memory because the file refused them
    dead_letters: int = 0  # events set aside for good (rows in ``dead_letter``)
    refused_writes: int = 0  # writes the file refused (disk full ...)
    dropped: dict[str, int] = field(default_factory=dict)  # by reason: age, rows, bytes, memory
    writable: bool = True
    last_error: str | None = None


class Outbox:
    """Thread-safe SQLite outbox. ``path=":memory:"`` gives a throwaway one (tests only)."""

    def __init__(self, path: Path | str, limits: OutboxLimits | None = None) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.limits = limits or OutboxLimits()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._held: deque[_Row] = deque()
        self._held_checkpoint: list[dict[str, Any]] | None = None
        self._health = OutboxHealth()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            depth, size = self._db.execute(
                "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox"
            ).fetchone()
            (dead,) = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()
            self._health.depth, self._health.bytes = int(depth), int(size)
            self._health.dead_letters = int(dead)

    # -- writing ------------------------------------------------------------------------------

    def put(
        self, events: Sequence[Event], *, open_visits: list[dict[str, Any]] | None = None
    ) -> int:
        """Store events (idempotent on event id); returns how many rows were new.

        With ``open_visits``, the tracker's open visits are replaced in the same transaction.
        If the file refuses the write, everything waits in memory for the next attempt.
        """
        now = time.time()
        rows = [(str(e.event_id), e.model_dump_json(), now) for e in events]
        with self._lock:
            if open_visits is not None:
                self._held_checkpoint = open_visits
            if not rows and not self._held and open_visits is None:
                return 0
            self._held.extend(rows)
            return self._write_held()

    def retry_held(self) -> int:
        """Try again to write what the file refused earlier (the agent's ticker calls this)."""
        with self._lock:
            if not self._held and self._held_checkpoint is None:
                return 0
            return self._write_held()

    def save_open_visits(self, open_visits: list[dict[str, Any]]) -> None:
        """Replace the stored open visits (a checkpoint of the tracker)."""
        self.put([], open_visits=open_visits)

    def load_open_visits(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT epc, state FROM open_visit").fetchall()
        out: list[dict[str, Any]] = []
        for epc, state in rows:
            try:
                out.append(json.loads(state))
            except ValueError:
                logger.error("open visit of %s cannot be read back; skipped", epc)
        return out

    def _write_held(self) -> int:
        """Write held rows (and the held checkpoint) in one transaction; lock held."""
        good: list[_Row] = []
        bad: list[tuple[str, str, str]] = []
        for event_id, body, created in self._held:
            reason = _unreadable(body)
            if reason is None:
                good.append((event_id, body, created))
            else:
                bad.append((event_id, body, reason))
        checkpoint = self._held_checkpoint
        db = self._db
        try:
            db.execute("BEGIN")
            new = 0
            added = 0
            for row in good:
                if db.execute(
                    "INSERT OR IGNORE INTO outbox (event_id, body, created_at) VALUES (?, ?, ?)",
                    row,
                ).rowcount:
                    new += 1
                    added += len(row[1])
            now = time.time()
            for event_id, body, reason in bad:
                db.execute(
                    "INSERT OR REPLACE INTO dead_letter (event_id, body, reason, failed_at) "
                    "VALUES (?, ?, ?, ?)",
                    (event_id, body, reason, now),
                )
            if checkpoint is not None:
                db.execute("DELETE FROM open_visit")
                db.executemany(
                    "INSERT OR REPLACE INTO open_visit (epc, state) VALUES (?, ?)",
                    [(str(v["epc"]), json.dumps(v)) for v in checkpoint],
                )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._refused(exc)
            return 0
        h = self._health
        if not h.writable:
            logger.error("outbox writable again: wrote %d held events", len(self._held))
        h.writable = True
        h.last_error = None
        h.depth += new
        h.bytes += added
        h.dead_letters += len(bad)
        self._held.clear()
        self._held_checkpoint = None
        for event_id, _body, reason in bad:
            logger.error("event %s set aside in the dead-letter table: %s", event_id, reason)
        self._enforce_size()
        return new

    def _refused(self, exc: sqlite3.Error) -> None:
        h = self._health
        h.refused_writes += 1
        h.writable = False
        h.last_error = f"outbox write refused: {exc}"
        over = len(self._held) - self.limits.max_held
        if over > 0:
            for _ in range(over):
                self._held.popleft()
            h.dropped["memory"] = h.dropped.get("memory", 0) + over
        h.held = len(self._held)
        logger.error(
            "outbox cannot write (%s): %d events held in memory, %d dropped so far; will retry",
            exc,
            len(self._held),
            h.dropped.get("memory", 0),
        )

    # -- bounds -------------------------------------------------------------------------------

    def _enforce_size(self) -> None:
        """Drop the oldest events beyond ``max_rows`` / ``max_bytes``; lock held."""
        h, lim = self._health, self.limits
        while h.depth > lim.max_rows or h.bytes > lim.max_bytes:
            reason = "rows" if h.depth > lim.max_rows else "bytes"
            limit = min(max(h.depth - lim.max_rows, 1), _PRUNE_CHUNK)
            if reason == "bytes":
                limit = _PRUNE_CHUNK
            rows = self._db.execute(
                "SELECT seq, length(body) FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            if not rows:
                break
            taken: list[int] = []
            for seq, size in rows:
                if h.depth - len(taken) <= lim.max_rows and h.bytes <= lim.max_bytes:
                    break
                taken.append(seq)
                h.bytes -= int(size)
            if not self._delete(taken, reason):
                break

    def prune(self, now: float | None = None) -> int:
        """Drop events older than ``max_age_s`` (by when they were written); returns how many."""
        cutoff = (time.time() if now is None else now) - self.limits.max_age_s
        dropped = 0
        with self._lock:
            while True:
                rows = self._db.execute(
                    "SELECT seq, length(body) FROM outbox WHERE created_at < ? ORDER BY seq "
                    "LIMIT ?",
                    (cutoff, _PRUNE_CHUNK),
                ).fetchall()
                if not rows:
                    break
                self._health.bytes -= sum(int(size) for _seq, size in rows)
                if not self._delete([seq for seq, _size in rows], "age"):
                    break
                dropped += len(rows)
        return dropped

    def _delete(self, seqs: list[int], reason: str) -> bool:
        try:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._refused(exc)
            return False
        h = self._health
        h.depth -= len(seqs)
        h.dropped[reason] = h.dropped.get(reason, 0) + len(seqs)
        logger.error(
            "outbox over its %s bound: dropped the %d oldest events (%d so far)",
            reason,
            len(seqs),
            h.dropped[reason],
        )
        return True

    # -- reading and acknowledging ------------------------------------------------------------

    def peek(self, limit: int) -> list[Pending]:
        """The oldest ``limit`` events, not removed. A row that no longer parses is set aside."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        out: list[Pending] = []
        for seq, body in rows:
            try:
                out.append(Pending(seq, _EVENT.validate_json(body)))
            except ValidationError as exc:
                self.dead_letter([seq], f"unreadable: {_first_error(exc)}")
        return out

    def ack(self, seqs: Sequence[int]) -> None:
        """Delete events the server acknowledged."""
        if not seqs:
            return
        marks = ",".join("?" * len(seqs))
        with self._lock:
            with self._tx():
                (size,) = self._db.execute(
                    f"SELECT coalesce(sum(length(body)), 0) FROM outbox WHERE seq IN ({marks})",
                    list(seqs),
                ).fetchone()
                gone = self._db.executemany(
                    "DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs]
                ).rowcount
            self._health.depth -= gone
            self._health.bytes -= int(size)

    def dead_letter(self, seqs: Sequence[int], reason: str) -> None:
        """Set events that cannot be sent aside, with the reason, keeping them for review."""
        now = time.time()
        moved = 0
        size = 0
        with self._lock:
            with self._tx():
                for seq in seqs:
                    row = self._db.execute(
                        "SELECT length(body) FROM outbox WHERE seq = ?", (seq,)
                    ).fetchone()
                    if row is None:
                        continue
                    self._db.execute(
                        "INSERT OR REPLACE INTO dead_letter SELECT event_id, body, ?, ? "
                        "FROM outbox WHERE seq = ?",
                        (reason, now, seq),
                    )
                    self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
                    moved += 1
                    size += int(row[0])
            (dead,) = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()
            self._health.depth -= moved
            self._health.bytes -= size
            self._health.dead_letters = int(dead)
        logger.error("moved %d events to the dead-letter table: %s", moved, reason)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction, rolled back if anything in it fails; lock held."""
        self._db.execute("BEGIN")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def dead_letter_reasons(self) -> dict[str, str]:
        """Event id -> reason, for every dead letter (for review and tests)."""
        with self._lock:
            rows = self._db.execute("SELECT event_id, reason FROM dead_letter").fetchall()
        return {str(e): str(r) for e, r in rows}

    def depth(self) -> int:
        with self._lock:
            return self._health.depth

    def dead_letters(self) -> int:
        with self._lock:
            return self._health.dead_letters

    def health(self) -> OutboxHealth:
        with self._lock:
            h = self._health
            return OutboxHealth(
                depth=h.depth,
                bytes=h.bytes,
                held=len(self._held),
                dead_letters=h.dead_letters,
                refused_writes=h.refused_writes,
                dropped=dict(h.dropped),
                writable=h.writable,
                last_error=h.last_error,
            )

    def close(self) -> None:
        with self._lock:
            if self._held:
                logger.error("outbox closing with %d unwritten events", len(self._held))
            self._db.close()


def _unreadable(body: str) -> str | None:
    """Why an event's JSON does not read back as an event (None: it does)."""
    try:
        _EVENT.validate_json(body)
    except ValidationError as exc:
        return f"does not read back: {_first_error(exc)}"
    return None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)[:200]
    e = errors[0]
    loc = ".".join(str(p) for p in e.get("loc", ()))
    return f"{loc}: {e.get('msg', '')}"[:200]
