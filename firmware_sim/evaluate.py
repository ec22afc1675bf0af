"""Score detected zone visits against the true ones (pure).

Matching: a detected visit matches a true visit of the same tag and zone that it overlaps in
time, one to one, largest overlap first. Precision = matched detected / detected; recall =
matched true / true; dwell error = |detected dwell - true dwell| over the matches. A trip's path
is exact when the detected zone sequence during the shopper's true stay equals the true one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.model import TrueVisit


@dataclass(frozen=True, slots=True)
class DetectedVisit:
    epc: str
    zone: str
    enter: float
    exit: float


@dataclass(frozen=True)
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


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _collapse(zones: Sequence[str]) -> list[str]:
    out: list[str] = []
    for z in zones:
        if not out or out[-1] != z:
            out.append(z)
    return out


def score_visits(truth: Sequence[TrueVisit], detected: Sequence[DetectedVisit]) -> VisitScore:
    by_key_true: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_key_det: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(truth):
        by_key_true[(t.epc, t.zone)].append(i)
    for j, d in enumerate(detected):
        by_key_det[(d.epc, d.zone)].append(j)
    errors: list[float] = []
    matched = 0
    for key, tis in by_key_true.items():
        djs = by_key_det.get(key, [])
        pairs = []
        for i in tis:
            t = truth[i]
            for j in djs:
                d = detected[j]
                ov = _overlap(t.enter, t.exit, d.enter, d.exit)
                if ov > 0:
                    pairs.append((ov, i, j))
        pairs.sort(reverse=True)
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, i, j in pairs:
            if i in used_t or j in used_d:
                continue
            used_t.add(i)
            used_d.add(j)
            matched += 1
            t, d = truth[i], detected[j]
            errors.append(abs((d.exit - d.enter) - (t.exit - t.enter)))
    # Paths: per true shopper stay, the detected sequence of that tag within the stay.
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
            (d for d in det_by_epc.get(visits[0].epc, []) if _overlap(lo, hi, d.enter, d.exit) > 0),
            key=lambda d: d.enter,
        )
        if _collapse([d.zone for d in seen]) == _collapse([v.zone for v in visits]):
            exact += 1
    err = np.asarray(errors) if errors else np.asarray([0.0])
    return VisitScore(
        true_visits=len(truth),
        detected_visits=len(detected),
        matched=matched,
        precision=matched / len(detected) if detected else 0.0,
        recall=matched / len(truth) if truth else 0.0,
        dwell_median_abs_error_s=float(np.median(err)),
        dwell_p90_abs_error_s=float(np.percentile(err, 90)),
        trips=len(stays),
        exact_path_share=exact / len(stays) if stays else 0.0,
    )
