"""Score detected zone visits against the true ones (pure, no I/O).

* Matching: a detected visit matches a true visit of the same tag and zone that it overlaps in
  time, one to one, largest overlap first (greedy per tag and zone).
* Precision = matched detected / detected; recall = matched true / true (1.0 when there is
  nothing to count).
* Dwell error = |detected dwell - true dwell| over the matches: median and 90th percentile
  (0 when nothing matched — look at ``matched``).
* Paths: a trip is one shopper's true stay (the true visits of one ``shopper_id``). Its path is
  exact when the zones of the tag's detected visits overlapping the stay, in enter order, equal
  the true zone sequence. Consecutive repeats are collapsed on both sides, as trips are built
  on the server, so a visit split in two by a gap in the reads counts against precision but not
  against the path.
* Only shoppers count: pass ``shopper_epcs`` to ignore every other tag (staff) on both sides.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.model import TrueVisit

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DetectedVisit:
    epc: str
    zone: str
    enter: float
    exit: float


@dataclass(frozen=True, slots=True)
class VisitScore:
    true_visits: int
    detected_visits: int
    matched: int
    precision: float
    recall: float
    dwell_median_abs_error_s: float
    dwell_p90_abs_error_s: float
    trips: int
    exact_path_share: float
    exact_paths: int = 0
    enter_median_abs_error_s: float = 0.0


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the intersection of [a0, a1] and [b0, b1] (negative when apart)."""
    return min(a1, b1) - max(a0, b0)


def collapse(zones: Sequence[str]) -> list[str]:
    """The sequence with consecutive repeats removed."""
    out: list[str] = []
    for z in zones:
        if not out or out[-1] != z:
            out.append(z)
    return out


def match_visits(
    truth: Sequence[TrueVisit], detected: Sequence[DetectedVisit]
) -> list[tuple[int, int]]:
    """(truth index, detected index) pairs: same tag and zone, overlapping, one to one, the
    largest overlaps first."""
    by_key_det: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, d in enumerate(detected):
        by_key_det[(d.epc, d.zone)].append(j)
    by_key_true: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(truth):
        by_key_true[(t.epc, t.zone)].append(i)
    pairs_out: list[tuple[int, int]] = []
    for key, tis in by_key_true.items():
        djs = by_key_det.get(key)
        if not djs:
            continue
        djs = sorted(djs, key=lambda j: detected[j].enter)
        starts = [detected[j].enter for j in djs]
        pairs: list[tuple[float, int, int]] = []
        for i in tis:
            t = truth[i]
            hi = int(np.searchsorted(starts, t.exit, side="left"))
            for j in djs[:hi]:
                d = detected[j]
                ov = overlap(t.enter, t.exit, d.enter, d.exit)
                if ov > 0:
                    pairs.append((ov, i, j))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, i, j in pairs:
            if i in used_t or j in used_d:
                continue
            used_t.add(i)
            used_d.add(j)
            pairs_out.append((i, j))
    return sorted(pairs_out)


def exact_paths(truth: Sequence[TrueVisit], detected: Sequence[DetectedVisit]) -> tuple[int, int]:
    """(trips whose detected path equals the true one, trips)."""
    stays: dict[int, list[TrueVisit]] = defaultdict(list)
    for t in truth:
        stays[t.shopper_id].append(t)
    det_by_epc: dict[str, list[DetectedVisit]] = defaultdict(list)
    for d in detected:
        det_by_epc[d.epc].append(d)
    exact = 0
    for visits in stays.values():
        visits.sort(key=lambda v: v.enter)
        lo, hi = visits[0].enter, visits[-1].exit
        seen = sorted(
            (d for d in det_by_epc.get(visits[0].epc, []) if overlap(lo, hi, d.enter, d.exit) > 0),
            key=lambda d: d.enter,
        )
        if collapse([d.zone for d in seen]) == collapse([v.zone for v in visits]):
            exact += 1
    return exact, len(stays)


def score_visits(
    truth: Sequence[TrueVisit],
    detected: Sequence[DetectedVisit],
    *,
    shopper_epcs: Collection[str] | None = None,
) -> VisitScore:
    """Precision, recall, dwell error and exact-path share of ``detected`` against ``truth``."""
    if shopper_epcs is not None:
        keep = set(shopper_epcs)
        truth = [t for t in truth if t.epc in keep]
        detected = [d for d in detected if d.epc in keep]
    pairs = match_visits(truth, detected)
    dwell_err = np.array(
        [
            abs((detected[j].exit - detected[j].enter) - (truth[i].exit - truth[i].enter))
            for i, j in pairs
        ]
        or [0.0]
    )
    enter_err = np.array([abs(detected[j].enter - truth[i].enter) for i, j in pairs] or [0.0])
    exact, trips = exact_paths(truth, detected)
    score = VisitScore(
        true_visits=len(truth),
        detected_visits=len(detected),
        matched=len(pairs),
        precision=len(pairs) / len(detected) if detected else 1.0,
        recall=len(pairs) / len(truth) if truth else 1.0,
        dwell_median_abs_error_s=float(np.median(dwell_err)),
        dwell_p90_abs_error_s=float(np.percentile(dwell_err, 90)),
        trips=trips,
        exact_path_share=exact / trips if trips else 1.0,
        exact_paths=exact,
        enter_median_abs_error_s=float(np.median(enter_err)),
    )
    logger.debug("visit score: %s", score)
    return score
