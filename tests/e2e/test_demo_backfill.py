"""The demo's back-fill of a slice: every tracked visit reaches the server through the edge's
outbox and uplink, and the slice's sales, posted after its visits, find their trips."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from orchestration import demo_data
from server.threaded import serve_in_thread

START = datetime(2026, 11, 6, 11, 0, tzinfo=UTC)


@pytest.mark.slow
def test_a_backfilled_slice_reaches_the_server_with_its_sales(db_url: str, tmp_path: Path) -> None:
    setup = asyncio.run(demo_data.prepare_database(db_url))
    with serve_in_thread(db_url) as api:
        day = demo_data.backfill_day(
            api_url=api,
            token=setup.edge_token,
            start=START,
            end=START + timedelta(minutes=45),
            noise="realistic",
            work_dir=tmp_path,
        )
        sales = demo_data.SalesPoster(
            api_url=api, pos_token=setup.pos_token, stop=threading.Event()
        )
        sales.add(day.purchases)
        sales.finish()
    assert day.reads > 50_000 and day.visits > 300 and day.left == 0
    assert (sales.posted, sales.failed) == (len(day.purchases), 0) and sales.posted > 20
    assert [p.at for p in day.purchases] == sorted(p.at for p in day.purchases)
    with psycopg.connect(db_url) as conn:
        (visits,) = conn.execute("SELECT count(*) FROM zone_visit").fetchone()  # type: ignore[misc]
        sold, linked = conn.execute("SELECT count(*), count(trip_id) FROM purchase").fetchone()  # type: ignore[misc]
    assert visits == day.visits
    assert sold == sales.posted
    assert linked >= 0.7 * sold, (linked, sold)
