"""``storeflow bench chain`` end to end at a small size: the chain of stores, the chain calls
with a chain-scoped planner token, and the single-store calls before and after."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_a_small_chain_bench_prints_its_figures() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "--log-level",
            "WARNING",
            "bench",
            "chain",
            "--stores",
            "3",
            "--days",
            "8",
            "--trips-per-day",
            "60",
            "--repeat",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    calls = {(r["selection"], r["call"]) for r in result["chain"]}
    assert ("8 days", "chain/stores") in calls
    assert ("7 days", "chain/concessions/compare?brand=Lumiere") in calls
    assert all(r["p95_ms"] > 0 for r in result["chain"])
    assert len(result["single_store_1_store"]) == len(result["single_store_3_stores"]) > 0
    assert 0 < result["chain_worst_p95_ms"] <= result["target_p95_ms"]
