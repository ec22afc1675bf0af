"""Zone tracker rules, table-driven: enter, exit, cross-reads, hysteresis, clock correction."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from edge.reads import TagRead
from edge.tracker import TrackerParams, Visit, ZoneTracker
from storeflow.wire import TagKind

ZONES = {("R1", 1): "A", ("R1", 2): "B", ("R1", 3): "C"}
EPC = "3500079FF0000040000000AA"


def zone_of(reader: str, antenna: int, _t: float) -> str | None:
    return ZONES.get((reader, antenna))


def run(
    reads: Sequence[tuple[float, int, float]],
    params: TrackerParams | None = None,
    kind: TagKind = TagKind.MEMBER_CARD,
) -> list[Visit]:
    """Feed (t, antenna, rssi) reads in order, tick once a second, then flush."""
    tracker = ZoneTracker(
        zone_of=zone_of, kind_of=lambda _: kind, params=params or TrackerParams(pad_edges=False)
    )
    out: list[Visit] = []
    next_tick = 0.0
    for t, ant, rssi in reads:
        while next_tick <= t:
            out += tracker.advance(next_tick)
            next_tick += 1.0
        out += tracker.feed([TagRead("R1", ant, EPC, rssi, host_ts=t)])
    out += tracker.advance(next_tick + 60)
    out += tracker.flush()
    return out


def steady(ant: int, start: float, end: float, rate: float = 2.0, rssi: float = -55.0):
    n = int((end - start) * rate) + 1
    return [(start + i / rate, ant, rssi) for i in range(n)]


def summary(visits: list[Visit]) -> list[tuple[str, float, float]]:
    return [(v.zone, round(v.enter, 2), round(v.exit, 2)) for v in visits]


CASES = [
    ("single zone", steady(1, 0, 10), [("A", 0.0, 10.0)]),
    ("too few reads never enter", [(0, 1, -55), (10, 1, -55)], []),
    ("move A then B", steady(1, 0, 10) + steady(2, 10.5, 20), [("A", 0, 10), ("B", 10.5, 20)]),
    (
        "absence ends a visit, return is a new visit",
        steady(1, 0, 5) + steady(1, 20, 25),
        [("A", 0, 5), ("A", 20, 25)],
    ),
    (
        "sparse weak cross-reads do not split a visit",
        sorted(steady(1, 0, 20) + [(3.2, 2, -66), (9.7, 2, -67), (15.1, 2, -65)]),
        [("A", 0, 20)],
    ),
    (
        "stronger rival zone wins by hysteresis",
        sorted(steady(1, 0, 10, rssi=-70) + steady(2, 5.25, 15, rssi=-50)),
        [("A", 0, 6.0), ("B", 5.25, 14.75)],
    ),
]


@pytest.mark.parametrize(("reads", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tracker_rules(reads, expected) -> None:
    got = summary(run(reads))
    assert got == [(z, float(a), float(b)) for z, a, b in expected]


def test_goods_tags_are_ignored_and_counted() -> None:
    tracker = ZoneTracker(zone_of=zone_of, kind_of=lambda _: TagKind.GOODS)
    tracker.feed([TagRead("R1", 1, EPC, -50, host_ts=t) for t in range(10)])
    assert tracker.flush() == []
    assert tracker.reads_ignored == {TagKind.GOODS: 10}


def test_unmapped_antenna_is_counted() -> None:
    tracker = ZoneTracker(zone_of=zone_of, kind_of=lambda _: TagKind.CART)
    tracker.feed([TagRead("R9", 1, EPC, -50, host_ts=1.0)])
    assert tracker.reads_unmapped == 1


def test_padding_widens_ends_by_median_read_gap() -> None:
    visits = run(steady(1, 10, 20, rate=2.0), params=TrackerParams(pad_edges=True))
    (v,) = visits
    pad = 0.6931 / 2.0
    assert v.enter == pytest.approx(10 - pad, abs=1e-3)
    assert v.exit == pytest.approx(20 + pad, abs=1e-3)


def test_reader_clock_offset_is_corrected() -> None:
    # Reader clock runs 3 s ahead; transport delay varies 0-0.3 s.
    tracker = ZoneTracker(
        zone_of=zone_of, kind_of=lambda _: TagKind.CART, params=TrackerParams(pad_edges=False)
    )
    reads = []
    for i in range(40):
        true_t = 100 + i * 0.5
        delay = (i % 4) * 0.1
        reads.append(TagRead("R1", 1, EPC, -50, host_ts=true_t + delay, reader_ts=true_t + 3.0))
    tracker.feed(reads)
    (v,) = tracker.flush()
    assert v.enter == pytest.approx(100.0, abs=0.01)
    assert v.exit == pytest.approx(119.5, abs=0.01)
    assert tracker.clock_offsets()["R1"] == pytest.approx(3.0, abs=0.01)


def test_a_visit_never_starts_after_its_first_read() -> None:
    """The previous visit of the tag was padded past this visit's reads (late reads of a reader
    the edge was behind with): padding stops at the previous end but never moves the start past
    the first read, so exit is never before enter (the server refuses such a visit)."""
    tracker = ZoneTracker(zone_of=zone_of, kind_of=lambda _: TagKind.MEMBER_CARD)
    open_visit = {
        "epc": EPC,
        "kind": TagKind.MEMBER_CARD.value,
        "zone": "B",
        "reader_id": "R1",
        "enter": 9.6,
        "last": 10.2,
        "reads": 4,
        "rssi_sum": -180.0,
        "last_seen": 10.2,
        "prev_exit": 10.35,  # the previous visit's padded end, after these reads
    }
    assert tracker.restore([open_visit]) == 1
    (v,) = tracker.flush()
    assert v.enter <= 9.6 and v.exit >= 10.2, (v.enter, v.exit)


def test_the_offset_kept_is_the_maximum_of_the_window() -> None:
    """The estimator keeps its window's maximum as samples come; it is the maximum taken anew,
    with host times that jump ahead and back."""
    import random

    from edge.clock_sync import OffsetEstimator

    rng = random.Random(5)
    est = OffsetEstimator()
    host = 1000.0
    for _ in range(5000):
        host += rng.choice([0.05, 0.3, 2.0, 25.0, -15.0])
        reader = host + 3.0 - rng.uniform(0, 0.5)
        got = est.correct(reader, host)
        best = max(m for _, m in est._maxima)
        assert est.offset_s == best
        assert got == reader - best
