"""Uplink: send the outbox to the server's ingest endpoint, oldest first, delete on ack.

Batches go in the columnar encoding (``storeflow/columns.py``, ``/api/v1/ingest/columns``): the
zone visits as one array per field, which the server turns into rows without a model object per
visit. A server without that endpoint (404/405) gets the JSON batch (``/api/v1/ingest``) from
then on; ``encoding="json"`` sends JSON from the start.

``send_once`` is one attempt (used by tests and by the replay path); ``run`` loops with back-off.
A batch the server refuses as malformed (400/413/422) is bisected so only the rows it refuses on
their own go to the outbox's dead-letter table; a row that does not even read back from the
outbox is set aside by the outbox itself. Neither ever blocks the rows behind it.
Decisions about what a response means live in :func:`classify_response`, a pure function.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Literal

import httpx

from edge.outbox import Outbox, Pending
from storeflow.backoff import next_backoff
from storeflow.columns import encode_columns
from storeflow.wire import IngestBatch, IngestResult

Encoding = Literal["columns", "json"]
PATHS: dict[Encoding, str] = {"columns": "/api/v1/ingest/columns", "json": "/api/v1/ingest"}

logger = logging.getLogger(__name__)


class Outcome(Enum):
    SENT = "sent"  # acknowledged: delete from the outbox
    EMPTY = "empty"  # nothing to send
    RETRY = "retry"  # server or network trouble: keep, back off, try again
    AUTH = "auth"  # the server refused our credential: keep, back off, say so in health
    POISON = "poison"  # the server says the batch itself is malformed: dead-letter it


def lacks_endpoint(status: int) -> bool:
    """Whether a status says the server has no such endpoint (a server older than the
    columnar encoding): then the JSON batch goes instead."""
    return status in (404, 405)


def classify_response(status: int) -> Outcome:
    """What an HTTP status from the ingest endpoint means for the outbox."""
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (401, 403):
        return Outcome.AUTH
    if status in (400, 413, 422):
        return Outcome.POISON
    return Outcome.RETRY


@dataclass(slots=True)
class UplinkHealth:
    sent_events: int = 0
    duplicates: int = 0
    failures: int = 0
    dead_lettered: int = 0  # events the server refused one by one, set aside
    rejected: int = 0  # events the server acknowledged but will never store (with reasons)
    bisections: int = 0  # refused batches split in two to find the bad rows
    last_ok_at: float | None = None
    last_error: str | None = None


class Uplink:
    """Moves events from an :class:`Outbox` to ``POST {server_url}/api/v1/ingest``."""

    def __init__(
        self,
        *,
        server_url: str,
        token: str,
        device_id: str,
        outbox: Outbox,
        batch_size: int = 500,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        encoding: Encoding = "columns",
    ) -> None:
        self._base = server_url.rstrip("/")
        self.encoding: Encoding = encoding
        self._headers = {"Authorization": f"Bearer {token}"}
        self._device_id = device_id
        self._outbox = outbox
        self._batch_size = batch_size
        self._client = client or httpx.Client(timeout=timeout_s)
        self.health = UplinkHealth()

    def send_once(self) -> Outcome:
        """Send the oldest batch. A batch refused as malformed is split in halves until only
        the rows the server refuses are left; those are dead-lettered, the rest are sent."""
        pending = self._outbox.peek(self._batch_size)
        if not pending:
            return Outcome.EMPTY
        return self._send(pending)

    def _send(self, pending: list[Pending]) -> Outcome:
        outcome, detail = self._post(pending)
        if outcome is not Outcome.POISON:
            return outcome
        if len(pending) == 1:
            self._outbox.dead_letter([pending[0].seq], detail)
            self.health.dead_lettered += 1
            return Outcome.POISON
        self.health.bisections += 1
        mid = len(pending) // 2
        first = self._send(pending[:mid])
        if first not in (Outcome.SENT, Outcome.POISON):
            return first  # server or network trouble: the rest waits for the next attempt
        second = self._send(pending[mid:])
        if second not in (Outcome.SENT, Outcome.POISON):
            return second
        return Outcome.SENT if Outcome.SENT in (first, second) else Outcome.POISON

    def _post(self, pending: list[Pending]) -> tuple[Outcome, str]:
        """One POST of ``pending``; what it means, and the server's words when it refused."""
        try:
            body = self._body(pending)
        except ValueError as exc:  # an event that cannot be encoded: set it aside
            return Outcome.POISON, f"cannot encode: {exc}"[:500]
        try:
            resp = self._client.post(
                self._base + PATHS[self.encoding],
                content=body,
                headers={**self._headers, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            self._fail(f"cannot reach the server: {exc.__class__.__name__}: {exc}")
            return Outcome.RETRY, ""
        if self.encoding == "columns" and lacks_endpoint(resp.status_code):
            logger.warning(
                "uplink: the server has no columnar ingest (HTTP %s); sending JSON batches",
                resp.status_code,
            )
            self.encoding = "json"
            return self._post(pending)
        outcome = classify_response(resp.status_code)
        if outcome is Outcome.SENT:
            try:
                result = IngestResult.model_validate_json(resp.content)
            except ValueError:
                self._fail(f"HTTP {resp.status_code} from ingest with an unreadable answer")
                return Outcome.RETRY, ""
            self._outbox.ack([p.seq for p in pending])
            self.health.sent_events += result.accepted
            self.health.duplicates += result.duplicates
            if result.rejected:
                self.health.rejected += result.rejected
                logger.error(
                    "uplink: the server refused %d events for good (%d so far): %s",
                    result.rejected,
                    self.health.rejected,
                    "; ".join(str(p) for p in result.problems[:3])[:500],
                )
            self.health.last_ok_at = time.time()
            self.health.last_error = None
            return outcome, ""
        if outcome is Outcome.POISON:
            return outcome, f"HTTP {resp.status_code}: {resp.text[:500]}"
        self._fail(f"HTTP {resp.status_code} from ingest: {resp.text[:200]}")
        return outcome, ""

    def _body(self, pending: list[Pending]) -> str:
        events = [p.event for p in pending]
        sent_at = datetime.now(UTC)
        if self.encoding == "columns":
            return encode_columns(device_id=self._device_id, sent_at=sent_at, events=events)[0]
        return IngestBatch(
            device_id=self._device_id, sent_at=sent_at, events=events
        ).model_dump_json()

    def drain(self, *, max_attempts: int = 20) -> int:
        """Send until the outbox is empty (or attempts run out); returns events left."""
        attempts = 0
        while attempts < max_attempts:
            outcome = self.send_once()
            if outcome is Outcome.EMPTY:
                break
            if outcome is not Outcome.SENT:
                attempts += 1
                time.sleep(min(0.2 * attempts, 2.0))
        return self._outbox.depth()

    def run(self, stop: threading.Event, *, idle_s: float = 0.5) -> None:
        """Send forever until ``stop`` is set; back off on failures."""
        backoff = 0.0
        while not stop.is_set():
            outcome = self.send_once()
            if outcome is Outcome.SENT:
                backoff = 0.0
                continue
            if outcome in (Outcome.EMPTY, Outcome.POISON):
                backoff = 0.0
                stop.wait(idle_s)
                continue
            backoff = next_backoff(backoff)
            stop.wait(backoff)

    def close(self) -> None:
        self._client.close()

    def _fail(self, message: str) -> None:
        if self.health.last_error != message:
            logger.warning("uplink: %s (events stay in the outbox)", message)
        self.health.failures += 1
        self.health.last_error = message
