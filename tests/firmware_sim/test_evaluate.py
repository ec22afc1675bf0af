"""Scoring detected visits against the truth, case by case."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from firmware_sim.evaluate import (
    DetectedVisit,
    collapse,
    match_visits,
    overlap,
    score_visits,
)
from firmware_sim.model import TrueVisit

D = DetectedVisit


def tv(shopper: int, epc: str, zone: str, enter: float, exit: float) -> TrueVisit:
    return TrueVisit(shopper, epc, zone, enter, exit)


TRIP_A = [tv(1, "A", "ENT", 0, 10), tv(1, "A", "A1", 10, 40), tv(1, "A", "EXIT", 40, 50)]
TRIP_B = [tv(2, "B", "ENT", 100, 110), tv(2, "B", "C01", 110, 230)]
PERFECT = [D(v.epc, v.zone, v.enter, v.exit) for v in TRIP_A + TRIP_B]


@dataclass(frozen=True)
class Case:
    name: str
    truth: list[TrueVisit]
    detected: list[DetectedVisit]
    matched: int
    precision: float
    recall: float
    dwell_median: float
    exact_share: float
    shoppers: set[str] | None = None
    extra: dict[str, float] = field(default_factory=dict)


CASES = [
    Case("perfect", TRIP_A + TRIP_B, PERFECT, 5, 1.0, 1.0, 0.0, 1.0),
    Case("nothing detected", TRIP_A, [], 0, 1.0, 0.0, 0.0, 0.0),
    Case("nothing true or detected", [], [], 0, 1.0, 1.0, 0.0, 1.0),
    Case(
        "a missed aisle breaks the path",
        TRIP_A,
        [D("A", "ENT", 0, 10), D("A", "EXIT", 40, 50)],
        2,
        1.0,
        2 / 3,
        0.0,
        0.0,
    ),
    Case(
        "a wrong zone is a miss and a false visit",
        TRIP_A,
        [D("A", "ENT", 0, 10), D("A", "A2", 10, 40), D("A", "EXIT", 40, 50)],
        2,
        2 / 3,
        2 / 3,
        0.0,
        0.0,
    ),
    Case(
        "a split visit: one match, one extra, the path still exact",
        TRIP_A,
        [
            D("A", "ENT", 0, 10),
            D("A", "A1", 10, 30),
            D("A", "A1", 31, 40),
            D("A", "EXIT", 40, 50),
        ],
        3,
        0.75,
        1.0,
        0.0,
        1.0,
    ),
    Case(
        "late and early edges give dwell errors",
        TRIP_B,
        [D("B", "ENT", 101, 110), D("B", "C01", 110, 226)],
        2,
        1.0,
        1.0,
        2.5,  # errors 1 and 4
        1.0,
    ),
    Case(
        "no overlap, no match",
        TRIP_B[:1],
        [D("B", "ENT", 120, 130)],
        0,
        0.0,
        0.0,
        0.0,
        0.0,
    ),
    Case(
        "another tag's visit never matches",
        TRIP_B[:1],
        [D("A", "ENT", 100, 110)],
        0,
        0.0,
        0.0,
        0.0,
        0.0,
    ),
    Case(
        "staff are left out when shoppers are named",
        TRIP_A + [tv(99, "S", "A1", 0, 500)],
        [*PERFECT[:3], D("S", "A1", 0, 250), D("S", "A2", 250, 500)],
        3,
        1.0,
        1.0,
        0.0,
        1.0,
        shoppers={"A"},
    ),
    Case(
        "one to one: the larger overlap wins",
        [tv(1, "A", "A1", 0, 100)],
        [D("A", "A1", 0, 30), D("A", "A1", 30, 100)],
        1,
        0.5,
        1.0,
        30.0,
        1.0,
        extra={"enter_median_abs_error_s": 30.0},
    ),
    Case(
        "a tag's two trips are judged separately",
        [tv(1, "A", "ENT", 0, 10), tv(1, "A", "EXIT", 10, 20)]
        + [tv(2, "A", "ENT", 1000, 1010), tv(2, "A", "EXIT", 1010, 1020)],
        [D("A", "ENT", 0, 10), D("A", "EXIT", 10, 20), D("A", "ENT", 1000, 1010)],
        3,
        1.0,
        0.75,
        0.0,
        0.5,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_score_visits(case: Case) -> None:
    s = score_visits(case.truth, case.detected, shopper_epcs=case.shoppers)
    assert s.matched == case.matched
    assert s.precision == pytest.approx(case.precision)
    assert s.recall == pytest.approx(case.recall)
    assert s.dwell_median_abs_error_s == pytest.approx(case.dwell_median)
    assert s.exact_path_share == pytest.approx(case.exact_share)
    for name, value in case.extra.items():
        assert getattr(s, name) == pytest.approx(value)


def test_counts_and_p90() -> None:
    truth = [tv(i, f"E{i}", "A1", 0, 100) for i in range(10)]
    detected = [D(f"E{i}", "A1", 0, 100 + i) for i in range(10)]  # errors 0..9 s
    s = score_visits(truth, detected)
    assert (s.true_visits, s.detected_visits, s.matched, s.trips, s.exact_paths) == (
        10,
        10,
        10,
        10,
        10,
    )
    assert s.dwell_median_abs_error_s == pytest.approx(4.5)
    assert s.dwell_p90_abs_error_s == pytest.approx(8.1)


@pytest.mark.parametrize(
    ("spans", "expected"),
    [((0, 10, 5, 20), 5), ((0, 10, 10, 20), 0), ((0, 10, 12, 20), -2), ((5, 6, 0, 10), 1)],
)
def test_overlap(spans: tuple[float, float, float, float], expected: float) -> None:
    assert overlap(*spans) == expected


@pytest.mark.parametrize(
    ("zones", "expected"),
    [([], []), (["A"], ["A"]), (["A", "A", "B", "A"], ["A", "B", "A"])],
)
def test_collapse(zones: list[str], expected: list[str]) -> None:
    assert collapse(zones) == expected


def test_match_visits_pairs_indexes() -> None:
    truth = [tv(1, "A", "A1", 0, 10), tv(1, "A", "A1", 20, 30)]
    detected = [D("A", "A1", 21, 29), D("A", "A1", 1, 9)]
    assert match_visits(truth, detected) == [(0, 1), (1, 0)]
