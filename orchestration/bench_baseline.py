"""A benchmark's figure against a committed baseline: the comparison ``make bench`` fails on.

A baseline is the benchmark's own JSON line, kept in a file (``bench/baseline_edge.json``).
:func:`compare` is pure: it says whether a new result is comparable with the baseline (the same
workload), whether it gave the same answer (a result that changed is a bug, not a slowdown),
and whether its throughput fell by more than the tolerance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    message: str


def load_baseline(path: Path) -> dict[str, Any]:
    """The baseline in ``path``; a missing or unreadable file is a :class:`ValueError` that says
    how to write one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no baseline at {path}: write one with --write-baseline {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds {type(data).__name__}, not a JSON object")
    return data


def write_baseline(path: Path, result: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(result), indent=2, sort_keys=True) + "\n")


def _figure(value: float) -> str:
    """A throughput as people read it: 709,785, or 0.1943 for a figure below 100."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def compare(
    result: Mapping[str, Any],
    baseline: Mapping[str, Any],
    *,
    metric: str,
    workload: Sequence[str],
    answer: Sequence[str] = (),
    tolerance: float,
    unit: str = "",
) -> Verdict:
    """``result`` against ``baseline``: the ``workload`` keys must be equal (else the figures are
    not comparable), the ``answer`` keys too (else the code now computes something else), and
    ``metric`` (higher is better) at least ``1 - tolerance`` times the baseline's."""
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    differ = [k for k in workload if result.get(k) != baseline.get(k)]
    if differ:
        pairs = ", ".join(f"{k} {result.get(k)!r} vs {baseline.get(k)!r}" for k in differ)
        return Verdict(
            False,
            f"not comparable: this run's workload differs from the baseline's ({pairs}); "
            "run with the baseline's settings or write a new baseline",
        )
    changed = [k for k in answer if result.get(k) != baseline.get(k)]
    if changed:
        pairs = ", ".join(f"{k} {result.get(k)!r} vs {baseline.get(k)!r}" for k in changed)
        return Verdict(
            False,
            f"the same workload gave a different answer ({pairs} in the baseline): the results "
            "changed, not only the speed",
        )
    now, then = result.get(metric), baseline.get(metric)
    if not isinstance(now, int | float) or not isinstance(then, int | float) or then <= 0:
        return Verdict(False, f"cannot compare {metric}: {now!r} against a baseline of {then!r}")
    ratio = now / then
    floor = 1 - tolerance
    figures = (
        f"{metric} {_figure(now)}{unit} against the baseline's {_figure(then)}{unit}: "
        f"{ratio:.2f}x (allowed down to {floor:.2f}x)"
    )
    if ratio < floor:
        return Verdict(False, f"REGRESSION: {figures}")
    return Verdict(True, f"ok: {figures}")
