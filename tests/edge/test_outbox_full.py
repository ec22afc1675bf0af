"""A full disk is loud and loses nothing it can keep; the outbox stays inside its bounds.

The disk is made full for real: SQLite's ``max_page_count`` makes writes fail with the genuine
``database or disk is full`` error.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.outbox import Outbox, OutboxLimits
from storeflow.wire import TagKind, ZoneVisit


def visit(i: int) -> ZoneVisit:
    t = datetime(2026, 11, 2, 10, 0, tzinfo=UTC) + timedelta(minutes=i)
    return ZoneVisit(
        event_id=uuid.UUID(int=i + 1),
        store_id="demo",
        zone="C01",
        epc=f"3500079FF0000040{i:08X}",
        tag_kind=TagKind.MEMBER_CARD,
        enter_at=t,
        exit_at=t + timedelta(seconds=30),
        reads=12,
        mean_rssi_dbm=-55.0,
        reader_id="R2",
    )


def fill_disk(box: Outbox) -> None:
    (pages,) = box._db.execute("PRAGMA page_count").fetchone()
    box._db.execute(f"PRAGMA max_page_count = {pages}")


def test_full_disk_is_loud_holds_events_and_writes_them_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(tmp_path / "o.sqlite", OutboxLimits(max_held=1000))
    box.put([visit(i) for i in range(5)])
    fill_disk(box)
    with caplog.at_level(logging.ERROR, logger="edge.outbox"):
        for i in range(5, 305):
            box.put([visit(i)])
    health = box.health()
    assert not health.writable
    assert health.refused_writes > 0
    assert "database or disk is full" in (health.last_error or "")
    assert any("outbox cannot write" in r.getMessage() for r in caplog.records)
    assert health.depth + health.held == 305  # nothing dropped silently
    assert health.dropped == {}

    box._db.execute("PRAGMA max_page_count = 1073741823")  # space again
    box.retry_held()
    health = box.health()
    assert (health.writable, health.held, health.depth) == (True, 0, 305)
    assert [p.event.event_id.int for p in box.peek(1000)] == list(range(1, 306))
    box.close()


def test_memory_hold_is_bounded_and_what_it_drops_is_counted(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", OutboxLimits(max_held=50))
    fill_disk(box)
    for i in range(80):
        box.put([visit(i)])
    health = box.health()
    assert health.held == 50
    assert health.dropped["memory"] > 0
    assert health.depth + health.held + health.dropped["memory"] == 80  # all accounted for
    box.close()


def test_outbox_is_bounded_by_rows_bytes_and_age(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", OutboxLimits(max_rows=10))
    box.put([visit(i) for i in range(25)])
    assert box.depth() == 10
    assert [p.event.event_id.int for p in box.peek(100)] == list(range(16, 26))  # newest kept
    assert box.health().dropped == {"rows": 15}
    box.close()

    size = len(visit(0).model_dump_json())
    box = Outbox(tmp_path / "b.sqlite", OutboxLimits(max_bytes=size * 4 + 1))
    box.put([visit(i) for i in range(9)])
    assert box.depth() == 4
    assert box.health().bytes <= size * 4 + 1
    assert box.health().dropped == {"bytes": 5}
    box.close()

    box = Outbox(tmp_path / "a.sqlite", OutboxLimits(max_age_s=3600))
    box.put([visit(i) for i in range(7)])
    assert box.prune() == 0
    assert box.prune(time.time() + 7200) == 7
    assert (box.depth(), box.health().dropped, box.health().bytes) == (0, {"age": 7}, 0)
    box.close()


def test_open_visits_are_saved_with_the_events_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    state = {"epc": "3500079FF00000400000000C", "zone": "C01", "enter": 1.5, "reads": 4}
    box.put([visit(0)], open_visits=[state])
    box.close()
    box = Outbox(path)
    assert box.load_open_visits() == [state]
    box.save_open_visits([])
    assert box.load_open_visits() == []
    assert box.depth() == 1
    box.close()
