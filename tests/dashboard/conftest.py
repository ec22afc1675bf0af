"""A real server with a day of data sent through the edge code, and the dashboard on top."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from edge.agent import tag_kind
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.uplink import Uplink
from edge.zones import AntennaMap
from firmware_sim.live import backfill_reads
from firmware_sim.scenario import load_scenario
from server.embedded_pg import free_port
from server.queries.layout import import_layout
from server.threaded import serve_in_thread
from storeflow import demo_data
from storeflow.replay import replay
from tests.fix_db import make_token

CHROMIUM = "/usr/bin/chromium"


@dataclass
class LiveServer:
    url: str
    planner_token: str


@pytest.fixture(scope="module")
def live_server(pg_server, template_db, tmp_path_factory) -> Iterator[LiveServer]:
    import asyncio
    import uuid

    from psycopg import sql

    name = f"sf_dash_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = pg_server.url_for(name)

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await import_layout(conn, demo_data.layout())
            await conn.commit()

    asyncio.run(load())
    serving = serve_in_thread(url)
    api = serving.__enter__()
    # Three hours of a simulated day through the real edge decoders, tracker, outbox and uplink.
    start = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    scenario = load_scenario(demo_data.SCENARIO_PATH)
    reads, _ = backfill_reads(scenario, demo_data.layout(), start, start + timedelta(hours=3))
    outbox = Outbox(tmp_path_factory.mktemp("edge") / "outbox.sqlite")
    pipeline = EdgePipeline(
        store_id="demo",
        antenna_map=AntennaMap.from_layout(demo_data.layout()),
        kind_of=tag_kind,
        outbox=outbox,
    )
    replay(reads, pipeline=pipeline, protocols=demo_data.reader_protocols())
    uplink = Uplink(
        server_url=api,
        token=make_token(url, "edge", store_id="demo"),
        device_id="edge-test",
        outbox=outbox,
        batch_size=5000,
    )
    assert uplink.drain() == 0
    uplink.close()
    outbox.close()
    try:
        yield LiveServer(url=api, planner_token=make_token(url, "planner"))
    finally:
        serving.__exit__(None, None, None)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def dashboard_url(live_server: LiveServer, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "STOREFLOW_API_URL": live_server.url,
        "STOREFLOW_API_TOKEN": live_server.planner_token,
    }
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(Path("dashboard/app.py").resolve()),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start:\n{log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM
