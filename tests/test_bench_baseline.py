"""``make bench`` fails on an edge throughput regression: the comparison with the baseline."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from orchestration.bench import EDGE_ANSWER, EDGE_BASELINE, EDGE_WORKLOAD, EdgeBenchResult
from orchestration.bench_baseline import compare, load_baseline, write_baseline
from orchestration.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
BASE = {"tags": 400, "frames": 1000, "visits": 20, "reads_per_s": 300_000}


def _check(result: dict[str, object], tolerance: float = 0.3) -> tuple[bool, str]:
    v = compare(
        result,
        BASE,
        metric="reads_per_s",
        workload=("tags", "frames"),
        answer=("visits",),
        tolerance=tolerance,
    )
    return v.ok, v.message


@pytest.mark.parametrize(
    ("change", "ok", "words"),
    [
        ({}, True, "ok: reads_per_s 300,000 against the baseline's 300,000: 1.00x"),
        ({"reads_per_s": 450_000}, True, "1.50x"),
        ({"reads_per_s": 210_000}, True, "0.70x (allowed down to 0.70x)"),
        ({"reads_per_s": 209_000}, False, "REGRESSION: reads_per_s 209,000"),
        ({"reads_per_s": 100_000}, False, "0.33x (allowed down to 0.70x)"),
        (
            {"frames": 999},
            False,
            "not comparable: this run's workload differs from the baseline's (frames 999 vs 1000)",
        ),
        ({"tags": None}, False, "tags None vs 400"),
        ({"visits": 21}, False, "a different answer (visits 21 vs 20 in the baseline)"),
        ({"reads_per_s": "fast"}, False, "cannot compare reads_per_s"),
    ],
)
def test_compare(change: dict[str, object], ok: bool, words: str) -> None:
    got_ok, message = _check({**BASE, **change})
    assert got_ok is ok
    assert words in message


def test_tolerance_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        _check(BASE, tolerance=1.5)


def test_missing_or_broken_baseline_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="write one with --write-baseline"):
        load_baseline(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="is not JSON"):
        load_baseline(tmp_path / "bad.json")
    write_baseline(tmp_path / "sub" / "b.json", BASE)
    assert load_baseline(tmp_path / "sub" / "b.json") == BASE


def test_committed_edge_baseline_matches_the_default_run() -> None:
    """The baseline holds every figure of a run, measured with the command's defaults."""
    baseline = json.loads((ROOT / EDGE_BASELINE).read_text())
    assert set(baseline) == {f.name for f in fields(EdgeBenchResult)}
    args = build_parser().parse_args(["bench", "edge"])
    assert (baseline["tags"], baseline["simulated_s"]) == (args.tags, args.seconds)
    assert set(EDGE_WORKLOAD + EDGE_ANSWER) <= set(baseline)
    assert baseline["reads_per_s"] > 0 and baseline["frames_bad"] == 0
    # make bench compares reads per unit of the machine's speed, measured beside them
    assert baseline["reads_per_calibration"] == round(
        baseline["reads_per_s"] / baseline["calibration_per_s"], 4
    )


def test_make_bench_compares_the_edge_figure() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"bench edge --baseline {EDGE_BASELINE}" in makefile


def test_a_figure_per_unit_of_machine_speed_keeps_its_digits() -> None:
    """The edge's reads per calibration loop are below one: the message shows their digits."""
    v = compare(
        {"reads_per_calibration": 0.1801},
        {"reads_per_calibration": 0.1943},
        metric="reads_per_calibration",
        workload=(),
        tolerance=0.3,
    )
    assert v.ok
    assert "reads_per_calibration 0.1801 against the baseline's 0.1943: 0.93x" in v.message
