"""Nothing is lost when the server is away: events wait in the outbox and go once it answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from edge.outbox import Outbox
from edge.uplink import Outcome, Uplink
from server.threaded import serve_in_thread
from storeflow.net import free_port
from storeflow.wire import TagKind, ZoneVisit
from tests.fix_db import make_token


def visits(n: int) -> list[ZoneVisit]:
    t0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    return [
        ZoneVisit(
            event_id=uuid.uuid4(),
            store_id="demo",
            zone="C01",
            epc=f"3500079FF0000004{i:08X}",
            tag_kind=TagKind.MEMBER_CARD,
            enter_at=t0 + timedelta(seconds=i),
            exit_at=t0 + timedelta(seconds=i + 30),
            reads=9,
            mean_rssi_dbm=-58.0,
            reader_id="R2",
        )
        for i in range(n)
    ]


def test_server_down_then_up(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    box = Outbox(tmp_path / "outbox.sqlite")
    box.put(visits(1200))
    uplink = Uplink(
        server_url=f"http://127.0.0.1:{port}",
        token=make_token(db_url, "edge", store_id="demo"),
        device_id="edge-t",
        outbox=box,
        batch_size=500,
    )
    assert uplink.send_once() is Outcome.RETRY  # nobody listening
    assert box.depth() == 1200 and uplink.health.failures == 1

    try:
        with serve_in_thread(db_url, port=port):
            assert uplink.drain() == 0
    finally:
        uplink.close()
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM zone_visit").fetchone() == (1200,)
    assert uplink.health.sent_events == 1200


def test_wrong_token_keeps_events_and_says_so(db_url: str, tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite")
    box.put(visits(10))
    with serve_in_thread(db_url) as url:
        uplink = Uplink(server_url=url, token="not-a-token", device_id="edge-t", outbox=box)
        try:
            assert uplink.send_once() is Outcome.AUTH
            assert box.depth() == 10
            assert "401" in (uplink.health.last_error or "")
        finally:
            uplink.close()
