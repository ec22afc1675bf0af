"""The edge recovers the true visits on a seeded scenario (the figures `sim evaluate` prints)."""

from __future__ import annotations

import pytest

from orchestration.evaluate import evaluate


@pytest.mark.slow
def test_realistic_noise_meets_the_targets() -> None:
    r = evaluate(noise="realistic", hours=6.0)
    assert r.shoppers >= 300
    assert r.precision >= 0.98
    assert r.recall >= 0.98
    assert r.dwell_median_abs_error_s <= 2.0
    assert r.exact_path_share >= 0.90


def test_clean_world_is_recovered_exactly() -> None:
    r = evaluate(noise="clean", hours=1.0)
    assert r.precision == 1.0 and r.recall == 1.0
    assert r.exact_path_share == 1.0
