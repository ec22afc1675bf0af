"""A store with simulated history: visits through the real edge code, sales through the POS API.

Module-scoped fixtures share one database per test module; the simulator's truth comes along so
tests can compare what the analyses find with what was planted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from edge.agent import tag_kind
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.uplink import Uplink
from edge.zones import AntennaMap
from firmware_sim.live import backfill_read_blocks
from firmware_sim.pos import PosClient
from firmware_sim.scenario import load_scenario
from firmware_sim.shoppers import SimResult
from orchestration import demo_data
from orchestration.replay import replay_blocks
from server.queries.layout import import_layout
from server.threaded import serve_in_thread
from tests.fix_db import make_token

STORE_START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@dataclass
class SimulatedStore:
    api_url: str
    db_url: str
    planner_token: str
    truth: SimResult
    start: datetime
    end: datetime


def fill_store(db_url: str, api_url: str, *, hours: float, work_dir: Path) -> SimResult:
    """Simulate ``hours`` from 10:00, send visits through the edge code and sales through POS."""

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await import_layout(conn, demo_data.layout())
            await demo_data.enrol_demo_members(conn, 2500)
            # the simulated members all agreed to in-store tracking (server/privacy/consent.py)
            await conn.execute(
                "INSERT INTO consent (member_id, purpose, granted, source) "
                "SELECT id, 'in_store_tracking', true, 'test store' FROM member"
            )
            await conn.commit()

    asyncio.run(load())
    scenario = load_scenario(demo_data.SCENARIO_PATH)
    end = STORE_START + timedelta(hours=hours)
    blocks, truth = backfill_read_blocks(scenario, demo_data.layout(), STORE_START, end)
    outbox = Outbox(work_dir / "outbox.sqlite")
    pipeline = EdgePipeline(
        store_id="demo",
        antenna_map=AntennaMap.from_layout(demo_data.layout()),
        kind_of=tag_kind,
        outbox=outbox,
    )
    replay_blocks(blocks, pipeline=pipeline, protocols=demo_data.reader_protocols())
    uplink = Uplink(
        server_url=api_url,
        token=make_token(db_url, "edge", store_id="demo"),
        device_id="edge-test",
        outbox=outbox,
        batch_size=5000,
    )
    assert uplink.drain() == 0
    uplink.close()
    outbox.close()
    pos = PosClient(
        base_url=api_url,
        store_id="demo",
        register_id="POS1",
        token=make_token(db_url, "cashier", store_id="demo", register_id="POS1"),
        categories={c.code: c.category for c in demo_data.layout().counters},
    )
    for purchase in sorted(truth.purchases, key=lambda p: p.at):
        pos.post(purchase)
    pos.close()
    assert pos.failed == 0
    return truth


@pytest.fixture(scope="module")
def simulated_store(pg_server, template_db, tmp_path_factory) -> Iterator[SimulatedStore]:
    name = f"sf_store_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = pg_server.url_for(name)
    try:
        with serve_in_thread(url) as api:
            truth = fill_store(url, api, hours=12.0, work_dir=tmp_path_factory.mktemp("edge"))
            yield SimulatedStore(
                api_url=api,
                db_url=url,
                planner_token=make_token(url, "planner"),
                truth=truth,
                start=STORE_START,
                end=STORE_START + timedelta(hours=6),
            )
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
