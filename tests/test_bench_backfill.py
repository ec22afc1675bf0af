"""``storeflow bench backfill``: the demo's back-fill alone, with the CPU it took."""

from __future__ import annotations

import os

import pytest

from orchestration.bench_backfill import run_backfill_bench, tree_cpu_seconds
from tests.helpers.cli import storeflow_json


@pytest.mark.parametrize(
    ("days", "workers", "message"),
    [(0.0, 2, "--days must be above 0"), (1.0, 0, "--workers must be at least 1")],
)
def test_bad_arguments_are_refused_before_anything_starts(
    days: float, workers: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_backfill_bench(
        days=days, workers=workers, noise="clean", data_dir=None, database_url=None, as_json=True
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_cpu_of_a_process_tree() -> None:
    spent = os.times()
    mine = tree_cpu_seconds(os.getpid())
    assert mine is not None and mine >= spent.user + spent.system - 0.05
    assert tree_cpu_seconds(2**22 + 7) is None  # no such process


@pytest.mark.slow
def test_a_short_backfill_prints_its_figures(db_url: str) -> None:
    result = storeflow_json(
        "bench", "backfill", "--days", "0.02", "--workers", "1", "--database-url", db_url, "--json"
    )
    assert result["reads"] > 10_000 and result["visits"] > 50
    assert result["workers"] == 1 and result["slices"] == 1
    assert result["cpu_workers_s"] > 0 and result["cpu_server_s"] is not None
    assert result["cpu_postgres_s"] is None  # not an embedded PostgreSQL: not measured
    assert result["reads_per_s"] > 0
