"""The durable outbox: idempotent puts, delete only on ack, survives a restart, dead letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.outbox import Outbox
from storeflow.wire import TagKind, ZoneVisit


def visit(i: int) -> ZoneVisit:
    t = datetime(2026, 11, 2, 10, 0, tzinfo=UTC) + timedelta(minutes=i)
    return ZoneVisit(
        event_id=uuid.UUID(int=i + 1),
        store_id="demo",
        zone="C01",
        epc="3500079FF0000040000000AA",
        tag_kind=TagKind.MEMBER_CARD,
        enter_at=t,
        exit_at=t + timedelta(seconds=30),
        reads=12,
        mean_rssi_dbm=-55.0,
        reader_id="R2",
    )


def test_put_is_idempotent_and_ordered(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    assert box.put([visit(0), visit(1)]) == 2
    assert box.put([visit(1), visit(2)]) == 1
    pending = box.peek(10)
    assert [p.event.event_id.int for p in pending] == [1, 2, 3]
    assert pending[0].event == visit(0)


def test_only_acked_events_are_deleted_and_the_rest_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    box.put([visit(i) for i in range(5)])
    first = box.peek(2)
    box.ack([p.seq for p in first])
    box.close()
    reopened = Outbox(path)
    assert reopened.depth() == 3
    assert [p.event.event_id.int for p in reopened.peek(10)] == [3, 4, 5]


def test_dead_letter_moves_events_aside(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.put([visit(0), visit(1)])
    box.dead_letter([box.peek(1)[0].seq], "HTTP 422: bad")
    assert box.depth() == 1
    assert box.dead_letters() == 1
