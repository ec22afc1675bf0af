"""The enter rule from an empty state: the loudest zone over the window is entered, not the first
to collect ``enter_reads`` reads (which may be a neighbour's cross-reads)."""

from __future__ import annotations

import math

import pytest

from edge.reads import TagRead
from edge.tracker import TrackerParams, Visit, ZoneTracker, entry_zone
from storeflow.wire import TagKind

RULE_CASES = [
    ("nothing heard", {}, None),
    ("one zone, enough reads", {"A": (3, -60.0)}, "A"),
    ("one zone, too few reads", {"A": (2, -60.0)}, None),
    ("louder zone ready wins", {"A": (3, -70.0), "B": (3, -50.0)}, "B"),
    (
        "louder zone not ready holds back a weaker ready zone",
        {"A": (3, -70.0), "B": (2, -50.0)},
        None,
    ),
    ("weaker zone not ready does not hold back", {"A": (3, -50.0), "B": (1, -70.0)}, "A"),
    ("zones with no reads in the window are ignored", {"A": (3, -70.0), "B": (0, -math.inf)}, "A"),
]


@pytest.mark.parametrize(
    ("heard", "expected"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_entry_zone(heard: dict[str, tuple[int, float]], expected: str | None) -> None:
    assert entry_zone(heard, 3) == expected


def _run(reads: list[tuple[float, int, float]]) -> list[Visit]:
    zones = {1: "A", 2: "B"}
    tracker = ZoneTracker(
        zone_of=lambda _r, ant, _t: zones.get(ant),
        kind_of=lambda _: TagKind.MEMBER_CARD,
        params=TrackerParams(pad_edges=False),
    )
    out = tracker.feed(
        TagRead("R1", a, "3500079FF0000040000000AA", r, host_ts=t) for t, a, r in reads
    )
    return out + tracker.flush()


def test_cross_reads_arriving_first_open_no_phantom_visit() -> None:
    # The tag walks into B (loud); A's antenna catches three weak cross-reads first.
    cross = [(0.0, 1, -72.0), (0.3, 1, -71.0), (0.6, 1, -73.0)]
    true = [(0.2 + 0.5 * i, 2, -52.0) for i in range(20)]
    visits = _run(sorted(cross + true))
    assert [(v.zone, v.enter, v.reads) for v in visits] == [("B", 0.2, 20)]


def test_a_lone_loud_read_only_delays_entry_until_it_leaves_the_window() -> None:
    reads = [(0.0, 2, -40.0)] + [(0.5 + 0.5 * i, 1, -60.0) for i in range(16)]
    visits = _run(reads)
    # A has 3 reads at 1.5 s but B was louder until its read left the 4 s window (t > 4.0).
    assert [(v.zone, v.enter, v.exit) for v in visits] == [("A", 0.5, 8.0)]
