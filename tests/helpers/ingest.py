"""Ingest over HTTP: the demo layout, zone visits along a path, batches and their posting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from storeflow.wire import IngestBatch, TagKind, ZoneVisit, visit_event_id
from tests.fix_db import Api

LAYOUT = Path("firmware_sim/stores/demo.yaml")
T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
CARD = "3500079FF000000400000001"


def load_layout(api: Api) -> None:
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.put(
        "/api/v1/stores/demo/layout",
        content=LAYOUT.read_bytes(),
        headers={**api.headers("admin"), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 200, r.text


def zone_visit(
    zone: str,
    enter: datetime,
    dwell_s: float,
    epc: str = CARD,
    *,
    kind: TagKind = TagKind.MEMBER_CARD,
    reader_id: str = "R1",
    reads: int = 10,
    rssi_dbm: float = -55.0,
) -> ZoneVisit:
    """One zone visit of the demo store, as an edge would send it."""
    return ZoneVisit(
        event_id=visit_event_id(store_id="demo", zone=zone, epc=epc, enter_at=enter),
        store_id="demo",
        zone=zone,
        epc=epc,
        tag_kind=kind,
        enter_at=enter,
        exit_at=enter + timedelta(seconds=dwell_s),
        reads=reads,
        mean_rssi_dbm=rssi_dbm,
        reader_id=reader_id,
    )


def visit(zone: str, start_s: float, dwell_s: float, epc: str = CARD) -> ZoneVisit:
    return zone_visit(zone, T0 + timedelta(seconds=start_s), dwell_s, epc)


def batch(*visits: ZoneVisit) -> str:
    return IngestBatch(device_id="edge-1", sent_at=T0, events=list(visits)).model_dump_json()


def post(api: Api, body: str, token: str) -> dict[str, int]:
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.post(
        "/api/v1/ingest",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    result: dict[str, int] = r.json()
    result.pop("problems", None)  # why each rejected event was rejected (test_hardening)
    return result


PATH = [
    ("ENT", 0, 10),
    ("A2", 10, 30),
    ("C03", 40, 120),
    ("A3", 160, 20),
    ("CHK", 180, 60),
    ("EXIT", 240, 8),
]
