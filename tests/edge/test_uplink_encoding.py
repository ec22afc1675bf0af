"""The uplink's encodings: zone visits as columns by default, heartbeats beside them, the JSON
batch for a server that has no columnar endpoint; both carry the same events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from edge.outbox import Outbox
from edge.uplink import Outcome, Uplink, lacks_endpoint
from storeflow.columns import ColumnarBatch, encode_columns
from storeflow.wire import Event, Heartbeat, IngestBatch, IngestResult, TagKind, ZoneVisit

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def visit(i: int, rssi: float = -55.25) -> ZoneVisit:
    enter = T0 + timedelta(seconds=37 * i, microseconds=123_457 * i)
    return ZoneVisit(
        event_id=uuid.UUID(int=i + 1),
        store_id="demo",
        zone=f"C0{i % 4}",
        epc=f"3500079FF0000040000000{i:02X}",
        tag_kind=TagKind.CART if i % 3 else TagKind.MEMBER_CARD,
        enter_at=enter,
        exit_at=enter + timedelta(seconds=30.5),
        reads=12 + i,
        mean_rssi_dbm=rssi,
        reader_id="R2",
    )


def beat(i: int) -> Heartbeat:
    return Heartbeat(
        event_id=uuid.UUID(int=1000 + i),
        store_id="demo",
        device_id="edge-t",
        sent_at=T0,
        outbox_depth=i,
    )


class Server:
    """Takes batches at one path; the other answers 404, like a server that lacks it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.posted: list[tuple[str, list[Event]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != self.path:
            return httpx.Response(404, json={"detail": "Not Found"})
        if self.path.endswith("/columns"):
            events = ColumnarBatch.model_validate_json(request.content).all_events()
        else:
            events = list(IngestBatch.model_validate_json(request.content).events)
        self.posted.append((request.url.path, events))
        body = IngestResult(accepted=len(events), duplicates=0).model_dump_json()
        return httpx.Response(200, content=body)


def _uplink(tmp_path: Path, server: Server, events: list[Event]) -> tuple[Uplink, Outbox]:
    box = Outbox(tmp_path / "o.sqlite")
    box.put(events)
    uplink = Uplink(
        server_url="http://edge.test",
        token="t",
        device_id="edge-t",
        outbox=box,
        batch_size=100,
        client=httpx.Client(transport=httpx.MockTransport(server)),
    )
    return uplink, box


def test_visits_go_as_columns_and_arrive_as_they_were(tmp_path: Path) -> None:
    events: list[Event] = [visit(0), beat(0), visit(1), visit(2), beat(1), visit(3)]
    server = Server("/api/v1/ingest/columns")
    uplink, box = _uplink(tmp_path, server, events)
    assert uplink.send_once() is Outcome.SENT
    ((_, got),) = server.posted
    # the visits first (the columns), then the rest, each as it was sent
    assert got == [e for e in events if isinstance(e, ZoneVisit)] + [beat(0), beat(1)]
    assert box.depth() == 0 and uplink.encoding == "columns"
    box.close()


def test_a_server_without_columns_gets_json_from_then_on(tmp_path: Path) -> None:
    server = Server("/api/v1/ingest")
    uplink, box = _uplink(tmp_path, server, [visit(0), beat(0)])
    assert uplink.send_once() is Outcome.SENT
    assert uplink.encoding == "json"
    box.put([visit(1)])
    assert uplink.send_once() is Outcome.SENT
    assert [path for path, _ in server.posted] == ["/api/v1/ingest"] * 2
    assert [e.event_id.int for _, events in server.posted for e in events] == [1, 1000, 2]
    box.close()


@pytest.mark.parametrize(
    ("status", "lacks"), [(404, True), (405, True), (422, False), (500, False)]
)
def test_lacks_endpoint(status: int, lacks: bool) -> None:
    assert lacks_endpoint(status) is lacks


def test_a_value_json_cannot_carry_is_refused_at_encoding() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        encode_columns(device_id="e", sent_at=T0, events=[visit(0, rssi=float("nan"))])


def test_places_say_where_each_row_came_from() -> None:
    events: list[Event] = [beat(0), visit(0), beat(1), visit(1)]
    _, places = encode_columns(device_id="e", sent_at=T0, events=events)
    assert places == [1, 3, 0, 2]
