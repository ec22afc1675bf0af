"""The server's runtime settings: the cyclic garbage collector runs less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.queries.trips import text_array_literal
from server.runtime import GC_FIRST_THRESHOLD, tune_gc
from server.settings import Settings


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
def test_a_started_server_collects_less_often(db_url: str) -> None:
    gc.set_threshold(700, 10, 10)
    with TestClient(create_app(Settings(), database_url=db_url)):
        assert gc.get_threshold()[0] == GC_FIRST_THRESHOLD


@pytest.mark.parametrize(("before", "after"), [(700, GC_FIRST_THRESHOLD), (10**6, 10**6), (0, 0)])
@pytest.mark.usefixtures("thresholds")
def test_tune_gc_raises_the_first_threshold_only(before: int, after: int) -> None:
    gc.set_threshold(before, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (after, 10, 10)  # 0 (collection off) is left alone


@pytest.mark.parametrize(
    "items",
    [[], ["ENT"], ["A", "B", "A"], ['C"01', "b\\c", "", "NULL", " x ", "{a,b}", "é", "a'b"]],
)
def test_trip_paths_survive_as_array_literals(
    conn: psycopg.Connection[tuple[object, ...]], items: list[str]
) -> None:
    assert conn.execute("SELECT %s::text[]", (text_array_literal(items),)).fetchone() == (items,)
