"""Poison input never stops the edge: checked at entry, set aside with a reason, bisected out.

Before these guards one RSSI of NaN was stored as ``null``, failed to read back and killed the
uplink thread on every restart; a batch the server refused was dead-lettered whole.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from edge.intake import ReadGate
from edge.outbox import Outbox
from edge.reads import TagRead
from edge.supervise import Supervisor
from edge.uplink import Encoding, Outcome, Uplink
from storeflow.columns import ColumnarBatch
from storeflow.wire import IngestBatch, IngestResult, TagKind, ZoneVisit

T0 = 1_790_000_000.0
EPC = "3500079FF0000040000000AA"


def visit(i: int, *, rssi: float = -55.0) -> ZoneVisit:
    t = datetime(2026, 11, 2, 10, 0, tzinfo=UTC) + timedelta(minutes=i)
    return ZoneVisit(
        event_id=uuid.UUID(int=i + 1),
        store_id="demo",
        zone="C01",
        epc=EPC,
        tag_kind=TagKind.MEMBER_CARD,
        enter_at=t,
        exit_at=t + timedelta(seconds=30),
        reads=12,
        mean_rssi_dbm=rssi,
        reader_id="R2",
    )


# -- entry ---------------------------------------------------------------------------------------


def test_gate_rejects_bad_values_by_reason_and_keeps_good_reads() -> None:
    gate = ReadGate()
    good = TagRead("R1", 1, EPC, -60.0, T0)
    reads = [
        good,
        TagRead("R1", 1, EPC, math.nan, T0),
        TagRead("R1", 1, EPC, float("1e999"), T0),
        TagRead("R1", 10**400, EPC, -60.0, T0),
        TagRead("R1", 1, "DEAD", -60.0, T0),  # too short for the wire schema
        TagRead("R1", 1, "ABC", -60.0, T0),
        TagRead("R1", 1, "E2" * 40, -60.0, T0),  # 80 hex digits: too long
        TagRead("R1", 1, EPC, -60.0, math.inf),
        TagRead("R1", 1, EPC, -60.0, T0, reader_ts=-1e300),
    ]
    out = gate.admit(reads)
    assert out == [good, TagRead("R1", 1, EPC, -60.0, T0)]  # the last lost its reader clock
    assert gate.rejected() == {
        "rssi": 2,
        "antenna": 1,
        "epc": 3,
        "host_time": 1,
        "reader_time": 1,
    }


# -- outbox ---------------------------------------------------------------------------------------


def test_nan_event_is_set_aside_when_written_and_never_blocks(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.put([visit(0), visit(1, rssi=math.nan), visit(2, rssi=math.inf), visit(3)])
    assert [p.event.event_id.int for p in box.peek(10)] == [1, 4]
    assert box.dead_letters() == 2
    reasons = box.dead_letter_reasons()
    assert set(reasons) == {str(uuid.UUID(int=2)), str(uuid.UUID(int=3))}
    assert all("mean_rssi_dbm" in r for r in reasons.values())
    box.close()


def test_a_stored_row_that_does_not_read_back_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    box.put([visit(0)])
    box.close()
    body = json.loads(visit(1).model_dump_json())
    body["mean_rssi_dbm"] = None  # what an older edge wrote for NaN
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO outbox (event_id, body, created_at) VALUES (?, ?, 0)",
            (body["event_id"], json.dumps(body)),
        )
    box = Outbox(path)
    box.put([visit(2)])
    assert [p.event.event_id.int for p in box.peek(10)] == [1, 3]
    assert box.dead_letters() == 1
    assert "unreadable" in next(iter(box.dead_letter_reasons().values()))
    box.close()


# -- uplink ---------------------------------------------------------------------------------------


class PickyServer:
    """Refuses (422) any batch holding an event whose RSSI is below -90 dBm."""

    def __init__(self) -> None:
        self.accepted: list[int] = []
        self.posts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        if request.url.path.endswith("/columns"):
            events = ColumnarBatch.model_validate_json(request.content).all_events()
        else:
            events = list(IngestBatch.model_validate_json(request.content).events)
        if any(getattr(e, "mean_rssi_dbm", 0) < -90 for e in events):
            return httpx.Response(422, json={"detail": "rssi out of range"})
        self.accepted.extend(e.event_id.int for e in events)
        result = IngestResult(accepted=len(events), duplicates=0)
        return httpx.Response(200, content=result.model_dump_json())


@pytest.mark.parametrize("encoding", ["columns", "json"])
def test_refused_batch_is_bisected_so_only_bad_rows_are_dead_lettered(
    tmp_path: Path, encoding: Encoding
) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    bad = {7, 50, 51}
    box.put([visit(i, rssi=-95.0 if i in bad else -55.0) for i in range(100)])
    server = PickyServer()
    uplink = Uplink(
        server_url="http://edge.test",
        token="t",
        device_id="edge-t",
        outbox=box,
        batch_size=100,
        client=httpx.Client(transport=httpx.MockTransport(server)),
        encoding=encoding,
    )
    assert uplink.send_once() is Outcome.SENT
    assert uplink.send_once() is Outcome.EMPTY
    assert sorted(server.accepted) == [i + 1 for i in range(100) if i not in bad]
    assert box.depth() == 0
    assert box.dead_letters() == 3
    assert set(box.dead_letter_reasons()) == {str(uuid.UUID(int=i + 1)) for i in bad}
    assert uplink.health.dead_lettered == 3
    assert server.posts < 40  # bisection, not one post per row
    uplink.close()
    box.close()


# -- supervision ---------------------------------------------------------------------------------


def test_supervisor_restarts_a_crashed_thread_and_counts_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sup = Supervisor(initial_delay_s=0.001)
    calls: list[int] = []
    stop = threading.Event()

    def body() -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise ValueError("poison")

    with caplog.at_level(logging.ERROR, logger="edge.supervise"):
        sup.start("edge-test", body, stop).join(10)
    assert len(calls) == 4
    assert sup.restarts() == {"edge-test": 3}
    assert sum("edge-test crashed" in r.getMessage() for r in caplog.records) == 3


def test_guard_keeps_a_library_thread_alive() -> None:
    sup = Supervisor()

    def cb(x: int) -> int:
        return 10 // x

    guarded = sup.guard("cb", cb, -1)
    assert (guarded(2), guarded(0)) == (5, -1)
    assert sup.restarts() == {"cb": 1}
