"""The simulated world: deterministic, physically consistent, and read the way the model says."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from firmware_sim.evaluate import DetectedVisit, score_visits
from firmware_sim.live import backfill_reads
from firmware_sim.model import TrueVisit
from firmware_sim.rf import RadioWorld
from firmware_sim.scenario import RF_PRESETS, load_scenario
from firmware_sim.shoppers import simulate
from orchestration import demo_data

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def day():
    sc = load_scenario(demo_data.SCENARIO_PATH)
    return (
        sc,
        demo_data.layout(),
        simulate(sc, demo_data.layout(), START, START + timedelta(hours=12)),
    )


def test_same_seed_same_world(day) -> None:
    sc, layout, result = day
    again = simulate(sc, layout, START, START + timedelta(hours=12))
    assert again.visits == result.visits and again.purchases == result.purchases


def test_paths_are_contiguous_walks_on_the_layout(day) -> None:
    _, layout, result = day
    adj = layout.adjacency()
    stays: dict[int, list[TrueVisit]] = defaultdict(list)
    for v in result.visits:
        stays[v.shopper_id].append(v)
    assert 400 < len(stays) < 1200
    for visits in stays.values():
        assert visits[0].zone == "ENT" and visits[-1].zone == "EXIT"
        for a, b in zip(visits, visits[1:], strict=False):
            assert b.enter == pytest.approx(a.exit)
            assert b.zone in adj[a.zone]
        assert all(v.exit - v.enter >= 8.0 for v in visits)


def test_a_tag_is_never_in_two_places(day) -> None:
    _, _, result = day
    per_tag: dict[str, list[TrueVisit]] = defaultdict(list)
    for v in result.visits:
        per_tag[v.epc].append(v)
    for visits in per_tag.values():
        visits.sort(key=lambda v: v.enter)
        for a, b in zip(visits, visits[1:], strict=False):
            assert b.enter >= a.exit - 1e-6


def test_conversion_in_truth_matches_the_scenario(day) -> None:
    sc, _, result = day
    visits = defaultdict(set)
    for v in result.visits:
        if v.zone.startswith("C"):
            visits[v.zone].add(v.shopper_id)
    bought = defaultdict(set)
    for p in result.purchases:
        bought[p.counter].add(p.shopper_id)
    c01 = len(bought["C01"]) / len(visits["C01"])
    assert abs(c01 - sc.counters["C01"].conversion) < 0.08


def test_reads_are_time_ordered_and_follow_the_rf_profile() -> None:
    sc = load_scenario(demo_data.SCENARIO_PATH, noise="clean")
    reads, truth = backfill_reads(sc, demo_data.layout(), START, START + timedelta(hours=1))
    times = [r.t for r in reads]
    assert times == sorted(times)
    in_zone_s = sum(v.exit - v.enter for v in truth.visits + truth.staff_visits)
    rate = len(times) / in_zone_s
    assert rate == pytest.approx(RF_PRESETS["clean"].read_rate_hz, rel=0.05)


def test_clock_offsets_within_the_profile() -> None:
    rf = RF_PRESETS["realistic"]
    world = RadioWorld(demo_data.layout(), rf, seed=1, epoch=0.0)
    assert np.all(np.abs(world.offsets) <= rf.clock_offset_s)


def test_score_visits_table() -> None:
    truth = [
        TrueVisit(1, "E1", "A", 0, 10),
        TrueVisit(1, "E1", "B", 10, 30),
        TrueVisit(2, "E2", "A", 0, 10),
    ]
    detected = [
        DetectedVisit("E1", "A", 1, 10),
        DetectedVisit("E1", "B", 10, 28),
        DetectedVisit("E1", "B", 28.5, 29),
        DetectedVisit("E3", "A", 0, 5),
    ]
    s = score_visits(truth, detected)
    assert (s.matched, s.true_visits, s.detected_visits) == (2, 3, 4)
    assert s.precision == 0.5 and s.recall == pytest.approx(2 / 3)
    assert s.dwell_median_abs_error_s == pytest.approx(1.5)
    assert s.exact_path_share == 0.5  # shopper 1's path A,B is exact; shopper 2 never seen
