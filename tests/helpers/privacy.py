"""Helpers of the data-rights tests: a member's visits, a sale at a time, a consent change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from storeflow.wire import IngestBatch, TagKind
from tests.fix_db import Api
from tests.helpers.ingest import PATH, zone_visit
from tests.helpers.membership import CARD, client, one, sale


def visits(epc: str, *, start: datetime, kind: TagKind = TagKind.MEMBER_CARD) -> str:
    events = [
        zone_visit(zone, start + timedelta(seconds=s), d, epc, kind=kind) for zone, s, d in PATH
    ]
    return IngestBatch(device_id="edge-1", sent_at=start, events=events).model_dump_json()


def sale_at(pos_id: str, at: datetime, card: str = CARD) -> dict[str, object]:
    return sale(pos_id, "100.00", card, at=at.isoformat())


def linked(db_url: str, purchase_id: int) -> bool:
    return one(db_url, "SELECT trip_id IS NOT NULL FROM purchase WHERE id = %s", purchase_id)


def set_consent(api: Api, member_id: int, purpose: str, granted: bool) -> dict[str, Any]:
    r = client(api).put(
        f"/api/v1/members/{member_id}/consents/{purpose}",
        json={"granted": granted, "channel": "desk"},
        headers=api.headers("admin"),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
