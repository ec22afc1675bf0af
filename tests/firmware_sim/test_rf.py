"""The RF model: reads per the profile, in time order, streamed, with clocks and outages."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from firmware_sim.cli import DEFAULT_SCENARIO
from firmware_sim.model import SimRead, TrueVisit
from firmware_sim.rf import (
    RSSI_AT_1M_DBM,
    RadioWorld,
    ReaderClock,
    draw_reader_clocks,
    generate_reads,
    point_in_polygon,
    rssi_at,
    sample_point,
)
from firmware_sim.scenario import RF_PRESETS, RfProfile, load_scenario
from storeflow.layout import StoreLayout, load_layout

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp()
EPC = "3500079FF000001000000001"


@pytest.fixture(scope="module")
def layout() -> StoreLayout:
    return load_layout(load_scenario(DEFAULT_SCENARIO).layout)


def antenna_zone(layout: StoreLayout) -> dict[tuple[str, int], str]:
    return layout.antenna_zones()


def one_tag(zone: str, dwell: float, *, epc: str = EPC, start: float = T0) -> list[TrueVisit]:
    return [TrueVisit(1, epc, zone, start, start + dwell)]


def reads_of(
    visits: list[TrueVisit],
    layout: StoreLayout,
    rf: RfProfile,
    seed: int = 1,
    clocks: dict[str, ReaderClock] | None = None,
) -> list[SimRead]:
    return list(generate_reads(visits, layout, rf, np.random.default_rng(seed), clocks or {}))


@pytest.mark.parametrize(
    ("distance", "expected"),
    [(0.0, RSSI_AT_1M_DBM), (1.0, -40.0), (10.0, -60.0), (100.0, -80.0)],
)
def test_rssi_falls_with_distance(distance: float, expected: float) -> None:
    assert rssi_at(distance) == pytest.approx(expected)


TRIANGLE = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]


@pytest.mark.parametrize(
    ("x", "y", "inside"),
    [(1, 1, True), (4, 4, True), (6, 6, False), (-1, 1, False), (1, 11, False)],
)
def test_point_in_polygon(x: float, y: float, inside: bool) -> None:
    assert point_in_polygon(x, y, TRIANGLE) is inside


def test_sampled_points_fall_inside_the_zone() -> None:
    rng = np.random.default_rng(3)
    points = [sample_point(TRIANGLE, rng) for _ in range(500)]
    assert all(point_in_polygon(x, y, TRIANGLE) for x, y in points)
    assert np.mean([x for x, _ in points]) == pytest.approx(10 / 3, abs=0.4)  # centroid


def test_clean_reads_come_from_the_zone_antenna_at_the_read_rate(layout: StoreLayout) -> None:
    rf = RF_PRESETS["clean"]
    reads = reads_of(one_tag("C03", 3600.0), layout, rf)
    zones = {antenna_zone(layout)[(r.reader_id, r.antenna)] for r in reads}
    assert zones == {"C03"}
    assert len(reads) == pytest.approx(rf.read_rate_hz * 3600, rel=0.05)
    assert all(T0 <= r.t < T0 + 3600 and r.reader_t == r.t and r.epc == EPC for r in reads)
    assert -80 < float(np.mean([r.rssi_dbm for r in reads])) < -40


def test_realistic_misses_and_cross_reads(layout: StoreLayout) -> None:
    rf = RF_PRESETS["realistic"].model_copy(update={"disconnects_per_hour": 0.0})
    visits = [TrueVisit(i, EPC, "A2", T0 + i * 1000.0, T0 + i * 1000.0 + 900.0) for i in range(10)]
    reads = reads_of(visits, layout, rf)
    where = Counter(antenna_zone(layout)[(r.reader_id, r.antenna)] for r in reads)
    own = where.pop("A2")
    assert own == pytest.approx(2.0 * 0.9 * 9000, rel=0.05)
    assert set(where) <= {"ENT", "A1", "A3", "C02", "C03"}  # A2's neighbours
    assert sum(where.values()) / own == pytest.approx(rf.cross_read_rate, rel=0.15)
    own_rssi = [r.rssi_dbm for r in reads if antenna_zone(layout)[(r.reader_id, r.antenna)] == "A2"]
    cross_rssi = [
        r.rssi_dbm for r in reads if antenna_zone(layout)[(r.reader_id, r.antenna)] != "A2"
    ]
    assert np.mean(own_rssi) - np.mean(cross_rssi) > 8.0


def test_reads_are_in_time_order_across_readers_and_tags(layout: StoreLayout) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    visits = sorted(
        (
            TrueVisit(i, f"3500079FF0000010000000{i:02X}", zone, T0 + i * 7.0, T0 + i * 7.0 + 95.0)
            for i, zone in enumerate(["ENT", "A1", "C05", "CHK", "EXIT", "A5"] * 20)
        ),
        key=lambda v: v.enter,
    )
    reads = list(
        generate_reads(visits, layout, scenario.rf, np.random.default_rng(2), {}, window_s=30.0)
    )
    times = [r.t for r in reads]
    assert times == sorted(times) and len(times) > 1000
    assert {r.epc for r in reads} == {v.epc for v in visits}


def test_reads_stream_from_an_endless_visit_stream(layout: StoreLayout) -> None:
    def endless() -> Iterator[TrueVisit]:
        for i in itertools.count():
            yield TrueVisit(i, EPC, "A1", T0 + i * 30.0, T0 + i * 30.0 + 30.0)

    first = list(
        itertools.islice(
            generate_reads(endless(), layout, RF_PRESETS["clean"], np.random.default_rng(0), {}),
            2000,
        )
    )
    assert len(first) == 2000 and first[-1].t < T0 + 3 * 3600


def test_unsorted_visits_are_refused(layout: StoreLayout) -> None:
    visits = [TrueVisit(1, EPC, "A1", T0 + 60, T0 + 90), TrueVisit(2, EPC, "A2", T0, T0 + 30)]
    with pytest.raises(ValueError, match="sorted"):
        reads_of(visits, layout, RF_PRESETS["clean"])


def test_reader_clocks_offset_and_drift(layout: StoreLayout) -> None:
    rf = RF_PRESETS["realistic"]
    clocks = draw_reader_clocks(layout, rf, np.random.default_rng(5), epoch=T0)
    assert set(clocks) == {r.id for r in layout.readers}
    for c in clocks.values():
        assert abs(c.offset_s) <= rf.clock_offset_s
        assert abs(c.drift) <= rf.clock_drift_ppm * 1e-6
    clean = RF_PRESETS["clean"]
    reads = reads_of(one_tag("C01", 600.0, start=T0 + 86400), layout, clean, clocks=clocks)
    c = clocks[reads[0].reader_id]
    for r in reads:
        assert r.reader_t == pytest.approx(r.t + c.offset_s + c.drift * (r.t - T0), abs=1e-6)


@pytest.mark.parametrize(
    ("clock", "t", "expected"),
    [
        (ReaderClock(), 100.0, 100.0),
        (ReaderClock(offset_s=-2.5), 100.0, 97.5),
        (ReaderClock(offset_s=1.0, drift=1e-4, epoch=0.0), 10_000.0, 10_002.0),
    ],
)
def test_reader_time(clock: ReaderClock, t: float, expected: float) -> None:
    assert clock.reader_time(t) == pytest.approx(expected)


def test_disconnects_leave_gaps(layout: StoreLayout) -> None:
    rf = RF_PRESETS["clean"].model_copy(update={"disconnects_per_hour": 6.0, "disconnect_s": 60.0})
    reads = reads_of(one_tag("A3", 4 * 3600.0), layout, rf, seed=4)
    expected_lost = 4 * 6 * 60 / (4 * 3600)  # about 10 % of the time down
    assert len(reads) == pytest.approx(2 * 4 * 3600 * (1 - expected_lost), rel=0.1)
    gaps = np.diff([r.t for r in reads])
    assert (gaps > 30).sum() >= 5  # at 2 Hz a 30 s silence is an outage


def test_antenna_validity_is_honoured(layout: StoreLayout) -> None:
    moved = datetime.fromtimestamp(T0 + 3600, UTC)
    readers = []
    for r in layout.readers:
        antennas = [
            a.model_copy(update={"valid_to": moved}) if a.zone == "C07" else a for a in r.antennas
        ]
        readers.append(r.model_copy(update={"antennas": antennas}))
    changed = layout.model_copy(update={"readers": readers})
    rf = RF_PRESETS["clean"]
    before = reads_of(one_tag("C07", 60.0), changed, rf)
    after = reads_of(one_tag("C07", 60.0, start=T0 + 7200), changed, rf)
    assert before and not after


def test_radio_world_is_deterministic_for_a_seed(layout: StoreLayout) -> None:
    rf = RF_PRESETS["harsh"]
    visits = one_tag("C02", 300.0)
    a = list(RadioWorld(layout, rf, seed=9, epoch=T0).reads(visits))
    b = list(RadioWorld(layout, rf, seed=9, epoch=T0).reads(visits))
    assert a == b and a
    assert np.all(np.abs(RadioWorld(layout, rf, seed=9, epoch=T0).offsets) <= 10.0)


def test_rssi_stays_in_the_protocols_range(layout: StoreLayout) -> None:
    rf = RF_PRESETS["harsh"].model_copy(update={"rssi_noise_db": 40.0})
    reads = reads_of(one_tag("EXIT", 600.0), layout, rf)
    assert all(-100.0 <= r.rssi_dbm <= -20.0 for r in reads)
    assert all(math.isclose(r.rssi_dbm, round(r.rssi_dbm, 1)) for r in reads)


def test_read_blocks_hold_the_same_reads_as_the_read_stream(layout: StoreLayout) -> None:
    """Blocks of columns (the back-fill's form) and SimReads one by one: the same reads, drawn
    alike, with outages and reader clocks."""
    rf = RF_PRESETS["harsh"].model_copy(update={"disconnects_per_hour": 12.0})
    visits = sorted(
        (
            TrueVisit(
                i, f"3500079FF0000010000000{i % 40:02X}", zone, T0 + i * 11.0, T0 + i * 11.0 + 80.0
            )
            for i, zone in enumerate(["ENT", "A1", "C05", "C03", "CHK", "EXIT", "A5"] * 30)
        ),
        key=lambda v: v.enter,
    )
    one_by_one = list(RadioWorld(layout, rf, seed=4, epoch=T0).reads(visits))
    blocks = list(RadioWorld(layout, rf, seed=4, epoch=T0).read_blocks(visits))
    assert len(blocks) > 1 and len(one_by_one) > 10_000
    assert [r for b in blocks for r in b.reads()] == one_by_one
    assert sum(len(b) for b in blocks) == len(one_by_one)
    ends = [(float(b.t[0]), float(b.t[-1])) for b in blocks]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))  # blocks follow each other
