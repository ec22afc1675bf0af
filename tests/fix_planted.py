"""A store with 84 days of planted history: a layout change and a promotion of known size.

One database per test module: 84 days of the demo store (600 trips a day, straight from the
simulator's truth into the tables) with a layout change on day 28 (counters C03 and C07 trade
places, so C03 gets C07's attraction: 0.40 -> 0.15) and a promotion on C06 on days 63-69 (+50 %
attraction). The server computes its daily facts on first read, like in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from firmware_sim.scenario import LayoutChange, Promotion
from orchestration.bench_data import populate
from server.threaded import serve_in_thread
from tests.fix_db import make_token

END = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday; the history is the 84 days before
DAYS = 84
FIRST = (END - timedelta(days=DAYS)).date()
CHANGE_DAY = FIRST + timedelta(days=28)
PROMO = (FIRST + timedelta(days=63), FIRST + timedelta(days=69))


class Store:
    def __init__(self, url: str, token: str, db_url: str) -> None:
        self.url, self.token, self.db_url = url, token, db_url

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(
            f"{self.url}/api/v1/stores/demo/analytics/{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        return r.json() if "json" in r.headers["content-type"] else r.text


@pytest.fixture(scope="module")
def planted(module_db_url: str) -> Iterator[Store]:
    populate(
        module_db_url,
        days=DAYS,
        trips_per_day=600,
        members=1500,
        end=END,
        seed=11,
        workers=0,
        promotion=Promotion(counter="C06", start=PROMO[0], end=PROMO[1], attraction_uplift=0.5),
        layout_change=LayoutChange(counter="C03", date=CHANGE_DAY, swap_with="C07"),
    )
    with serve_in_thread(module_db_url) as url:
        yield Store(url, make_token(module_db_url, "planner"), module_db_url)
