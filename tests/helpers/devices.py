"""Heartbeats with explicit times, posted as an edge would: time moves only through sent_at."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from storeflow.wire import Heartbeat, IngestBatch, ReaderHealth
from tests.fix_db import Api


def beat(
    sent_at: datetime,
    *,
    device: str = "edge-1",
    store: str = "demo",
    readers: dict[str, ReaderHealth] | None = None,
    **fields: Any,
) -> Heartbeat:
    return Heartbeat(
        event_id=uuid.uuid4(),
        store_id=store,
        device_id=device,
        sent_at=sent_at,
        outbox_depth=fields.pop("outbox_depth", 0),
        readers=readers if readers is not None else {"R1": ReaderHealth(connected=True)},
        **fields,
    )


def send(
    api: Api, *beats: Heartbeat, token: str, uploaded_at: datetime | None = None
) -> dict[str, int]:
    """Post heartbeats in one batch (its sent_at: ``uploaded_at``, default the newest beat's)."""
    client: TestClient = api.client  # type: ignore[assignment]
    body = IngestBatch(
        device_id=beats[0].device_id,
        sent_at=uploaded_at or max(b.sent_at for b in beats),
        events=list(beats),
    )
    r = client.post(
        "/api/v1/ingest",
        content=body.model_dump_json(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    result: dict[str, int] = r.json()
    return result
