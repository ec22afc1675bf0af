"""The chain page in headless Chromium over four stores: the simulated demo store (2 days of
bench data) and three copies of it at other traffic levels (orchestration/bench_chain.py). The
screenshot is kept in test-artifacts/screenshots/chain.png."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from orchestration.bench_chain import copy_stores, plan_copies, source_counters
from orchestration.bench_data import populate
from server.rollup import refresh_dirty
from server.threaded import serve_in_thread
from tests.fix_db import PgServer, make_token
from tests.helpers.browser import (
    CHART,
    ERROR_BOX,
    EXCEPTION,
    settle_and_shoot,
    streamlit_app,
)

END = datetime(2026, 11, 7, tzinfo=UTC)


async def _facts(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        while await refresh_dirty(conn, max_days=10):
            pass


@pytest.fixture(scope="module")
def chain_db(pg_server: PgServer, template_db: str) -> Iterator[str]:
    name = f"sf_chain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = pg_server.url_for(name)
    try:
        populate(url, days=2, trips_per_day=300, members=500, end=END, seed=5, workers=0)
        asyncio.run(_facts(url))
        copy_stores(url, plan_copies(3, source_counters(url), seed=3))
        yield url
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def chain_url(chain_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "chain.log"
    with (
        serve_in_thread(chain_db) as api_url,
        streamlit_app(api_url=api_url, token=make_token(chain_db, "planner"), log=log) as url,
    ):
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_the_chain_page_ranks_the_stores_and_compares_a_concession(
    chain_url: str, browser_page: object
) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    page.goto(f"{chain_url}/chain")
    page.wait_for_selector(CHART, timeout=120_000)
    text = settle_and_shoot(page, "chain")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(ERROR_BOX).count() == 0
    assert page.locator(CHART).count() == 2  # stores, and the concession
    for expected in (
        "Rank stores by",
        "Sales per visitor",
        "Demo Department Store",
        "Store 001",
        "Store 003",
        "A concession across the stores",
        "Download CSV",
    ):
        assert expected in text, expected


def test_the_store_bars_keep_the_ranking_and_every_store() -> None:
    from dashboard import vega
    from dashboard.views.chain import bar_figure

    spec = bar_figure(["1. North", "2. South", "3. East"], [0.25, 0.125, None], "Conversion", "pct")
    bars = vega.values_of(spec)
    assert [b["value"] for b in bars] == [25.0, 12.5, None]
    assert [b["value_text"] for b in bars] == ["25.0 %", "12.5 %", "–"]
    y = spec["layer"][0]["encoding"]["y"]
    assert y["scale"]["domain"] == ["1. North", "2. South", "3. East"]  # the first on top
    assert spec["layer"][0]["encoding"]["x"]["axis"]["title"] == "Conversion (%)"
