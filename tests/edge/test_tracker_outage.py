"""Absence is counted only while the edge listens: a reader outage or an edge restart does not
split a visit, and the hold is bounded. Before, a visit closed by the absence rule while its
reader was away (or the edge was down), and the reads that came after opened a second one."""

from __future__ import annotations

import pytest

from edge.reads import TagRead
from edge.tracker import TrackerParams, Visit, ZoneTracker
from storeflow.wire import TagKind

EPC = "3500079FF0000040000000AA"
P = TrackerParams(pad_edges=False)  # exit timeout 5 s + late margin 1 s


def tracker(params: TrackerParams = P) -> ZoneTracker:
    return ZoneTracker(
        zone_of=lambda r, a, _t: {("R1", 1): "A", ("R2", 1): "B"}.get((r, a)),
        kind_of=lambda _: TagKind.MEMBER_CARD,
        params=params,
    )


def reads(reader: str, times: list[float], host_ts: float | None = None) -> list[TagRead]:
    """Reads at ``times`` (reader clock = host clock), received at ``host_ts`` (default: then)."""
    return [
        TagRead(reader, 1, EPC, -55.0, host_ts=t if host_ts is None else host_ts, reader_ts=t)
        for t in times
    ]


def spans(visits: list[Visit]) -> list[tuple[str, float, float]]:
    return [(v.zone, round(v.enter, 1), round(v.exit, 1)) for v in visits]


def test_a_reader_outage_holds_its_visits_and_late_reads_extend_them() -> None:
    tr = tracker()
    out = tr.feed(reads("R1", [0.0, 0.5, 1.0, 1.5, 2.0]))
    tr.reader_down("R1", 2.5)
    for now in range(3, 30):  # the reader is away for 27 s: nothing closes
        out += tr.advance(float(now))
    assert out == []
    tr.reader_up("R1", 30.0)
    # what the reader queued while it was away arrives now, stamped by its own clock
    out += tr.feed(reads("R1", [2.5 + 0.5 * i for i in range(56)], host_ts=30.0))
    for now in range(31, 45):
        out += tr.advance(float(now))
    assert spans(out) == [("A", 0.0, 30.0)]


def test_absence_counts_from_when_the_reader_is_back() -> None:
    tr = tracker()
    out = tr.feed(reads("R1", [0.0, 0.5, 1.0, 1.5, 2.0]))
    tr.reader_down("R1", 3.0)
    out += tr.advance(20.0)
    tr.reader_up("R1", 20.0)
    out += tr.advance(25.9)  # the tag is gone: 5.9 s of listening is not yet the timeout
    assert out == []
    out += tr.advance(26.1)
    assert spans(out) == [("A", 0.0, 2.0)]  # it ends at its last read, not at the outage


def test_other_readers_visits_close_as_usual_during_an_outage() -> None:
    tr = tracker()
    out = tr.feed(reads("R2", [0.0, 0.5, 1.0, 1.5, 2.0]))
    tr.reader_down("R1", 2.0)
    out += tr.advance(8.1)
    assert spans(out) == [("B", 0.0, 2.0)]


@pytest.mark.parametrize(("hold", "closed_by"), [(10.0, 13.0), (0.0, 8.1)])
def test_the_hold_is_bounded(hold: float, closed_by: float) -> None:
    """A reader that never comes back does not keep its visits open for ever."""
    tr = tracker(TrackerParams(pad_edges=False, reader_outage_hold_s=hold))
    out = tr.feed(reads("R1", [0.0, 0.5, 1.0, 1.5, 2.0]))
    tr.reader_down("R1", 3.0)
    out += tr.advance(closed_by)
    assert spans(out) == [("A", 0.0, 2.0)]


def test_a_restored_visit_ages_only_from_the_restart() -> None:
    """The edge was down 20 s (kill -9): its restored visit is extended by the next reads."""
    before = tracker()
    before.feed(reads("R1", [0.0, 0.5, 1.0, 1.5, 2.0]))
    saved = before.open_state()
    after = tracker()
    assert after.restore(saved, resumed_at=22.0) == 1
    out = after.advance(22.0)
    out += after.feed(reads("R1", [22.5, 23.0]))
    out += after.advance(40.0)
    assert spans(out) == [("A", 0.0, 23.0)]


@pytest.mark.parametrize(("horizon", "closed"), [(3.0, False), (7.9, False), (8.5, True)])
def test_a_reader_the_edge_is_behind_with_is_judged_as_of_what_was_read(
    horizon: float, closed: bool
) -> None:
    """Reads of R1 up to ``horizon`` are in; later ones may still wait in the port. Before,
    the visit closed at ``now`` whatever was still unread, and the waiting reads split it."""
    tr = tracker()
    tr.feed(reads("R1", [0.0, 0.5, 1.0, 1.5, 2.0]))
    out = tr.advance(10.0, {"R1": horizon})
    assert bool(out) is closed
