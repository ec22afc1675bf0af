"""HyperLogLog: exact for small counts, within a few percent for large ones, and unions add up."""

from __future__ import annotations

from server import hll


def test_small_counts_are_nearly_exact() -> None:
    for n in (0, 1, 5, 20):
        assert hll.estimate(hll.sketch(f"tag-{i}" for i in range(n))) == n
    assert abs(hll.estimate(hll.sketch(f"tag-{i}" for i in range(1000))) - 1000) <= 10


def test_large_counts_within_three_standard_errors() -> None:
    n = 200_000
    est = hll.estimate(hll.sketch(f"3500{i:020X}" for i in range(n)))
    assert abs(est - n) / n < 3 * 0.0163


def test_union_counts_each_tag_once() -> None:
    days = [hll.sketch(f"tag-{i}" for i in range(d * 1000, d * 1000 + 5000)) for d in range(10)]
    est = hll.estimate(hll.union(days))  # tags 0 .. 13,999
    assert abs(est - 14_000) / 14_000 < 0.05
    assert hll.union([days[0], days[0]]) == days[0]
