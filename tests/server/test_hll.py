"""Distinct-tag sketches: exact for small counts, within a few percent for large ones, and unions
add up."""

from __future__ import annotations

import pytest

from server import hll
from storeflow.epc import encode_gid96


def test_small_counts_are_nearly_exact() -> None:
    for n in (0, 1, 5, 20):
        assert hll.estimate(hll.sketch(f"tag-{i}" for i in range(n))) == n
    assert abs(hll.estimate(hll.sketch(f"tag-{i}" for i in range(1000))) - 1000) <= 10


# Sets whose HyperLogLog registers collide: the dense sketch alone counted 29 and 298.
@pytest.mark.parametrize(("n", "offset"), [(30, 30), (300, 0), (30, 3 * 30), (300, 300)])
def test_small_sets_are_counted_exactly(n: int, offset: int) -> None:
    tags = [encode_gid96(0x79FF, 1, offset + i) for i in range(n)]
    assert hll.estimate(hll.sketch(tags)) == n
    assert hll.estimate(hll.sketch([*tags, *tags[: n // 2]])) == n  # a tag seen twice counts once


def test_sparse_unions_stay_exact_and_turn_dense_past_the_threshold() -> None:
    days = [hll.sketch(f"tag-{i}" for i in range(d * 100, d * 100 + 150)) for d in range(3)]
    assert hll.estimate(hll.union(days)) == 350  # tags 0 .. 349
    many = hll.union(
        hll.sketch(f"tag-{i}" for i in range(d * 200, d * 200 + 200)) for d in range(5)
    )
    assert len(many) == hll.M  # 1000 tags: dense
    assert abs(hll.estimate(many) - 1000) <= 10
    dense = hll.sketch(f"tag-{i}" for i in range(600))
    assert len(dense) == hll.M
    assert abs(hll.estimate(hll.union([dense, days[0]])) - 600) <= 10  # tags 0..149 again
    with pytest.raises(ValueError, match="not a sketch"):
        hll.estimate(b"\x00" * 10)


def test_large_counts_within_three_standard_errors() -> None:
    n = 200_000
    est = hll.estimate(hll.sketch(f"3500{i:020X}" for i in range(n)))
    assert abs(est - n) / n < 3 * 0.0163


def test_union_counts_each_tag_once() -> None:
    days = [hll.sketch(f"tag-{i}" for i in range(d * 1000, d * 1000 + 5000)) for d in range(10)]
    est = hll.estimate(hll.union(days))  # tags 0 .. 13,999
    assert abs(est - 14_000) / 14_000 < 0.05
    assert hll.union([days[0], days[0]]) == days[0]
