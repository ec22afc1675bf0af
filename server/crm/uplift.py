"""The uplift of a contact: contacted against held-out members, with 95 % intervals. Pure.

* **Purchase rate** (members who bought within the window / members): the difference contacted
  minus held out, with Newcombe's hybrid score interval (Newcombe 1998, method 10): each rate's
  Wilson score interval, combined as
  ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` .. ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.
  It keeps its coverage for small groups and rates near 0 or 1, where the plain normal
  (Wald) interval does not.
* **Spend per member** (net of returns, zero for members who did not buy): the difference of
  the means, with a percentile bootstrap interval (each group resampled with replacement,
  ``N_BOOT`` times, seeded by the run). Spend is mostly zeros with a long tail, so no normal
  shape is assumed.

``distinguishable`` = the interval excludes 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

LEVEL = 0.95
Z95 = NormalDist().inv_cdf(0.5 + LEVEL / 2)
N_BOOT = 2000
_CELLS = 2_000_000  # resampled values held at once by the bootstrap


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def distinguishable(self) -> bool:
        return self.low > 0 or self.high < 0


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``k / n`` (n > 0)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k} n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> Interval | None:
    """``k1/n1 - k2/n2`` with Newcombe's hybrid score interval; None if a group is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    return Interval(
        estimate=d,
        low=d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        high=d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def _boot_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    chunk = max(1, _CELLS // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        out[start : start + size] = values[rng.integers(0, n, size=(size, n))].mean(axis=1)
    return out


def bootstrap_mean_difference(
    a: Sequence[float], b: Sequence[float], *, seed: int, n_boot: int = N_BOOT
) -> Interval | None:
    """``mean(a) - mean(b)`` with a percentile bootstrap interval; None if a group has fewer
    than two members (nothing to resample)."""
    if len(a) < 2 or len(b) < 2:
        return None
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    diffs = _boot_means(x, n_boot, rng) - _boot_means(y, n_boot, rng)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return Interval(float(x.mean() - y.mean()), float(low), float(high))


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    members: int
    buyers: int
    spend: float

    @property
    def purchase_rate(self) -> float | None:
        return self.buyers / self.members if self.members else None

    @property
    def spend_per_member(self) -> float | None:
        return self.spend / self.members if self.members else None


@dataclass(frozen=True, slots=True)
class Comparison:
    contacted: GroupOutcome
    held_out: GroupOutcome
    purchase_rate: Interval | None
    spend_per_member: Interval | None


def compare(
    contacted: Sequence[tuple[bool, float]], held_out: Sequence[tuple[bool, float]], *, seed: int
) -> Comparison:
    """Members of each group as ``(bought, spend)`` within the window -> the two differences."""

    def outcome(rows: Sequence[tuple[bool, float]]) -> GroupOutcome:
        return GroupOutcome(
            members=len(rows), buyers=sum(1 for b, _ in rows if b), spend=sum(s for _, s in rows)
        )

    c, h = outcome(contacted), outcome(held_out)
    return Comparison(
        contacted=c,
        held_out=h,
        purchase_rate=newcombe_difference(c.buyers, c.members, h.buyers, h.members),
        spend_per_member=bootstrap_mean_difference(
            [s for _, s in contacted], [s for _, s in held_out], seed=seed
        ),
    )
