"""The machine's speed measured beside the edge benchmark (orchestration/bench_calibrate.py)."""

from __future__ import annotations

from orchestration.bench_calibrate import _work, calibration_per_s


def test_the_calibration_work_is_fixed() -> None:
    """The same loops do the same work on every machine: only their time may differ."""
    assert _work(1_000) == _work(1_000)
    assert _work(1_000) != _work(2_000)


def test_calibration_is_loops_per_cpu_second() -> None:
    speed = calibration_per_s(loops=20_000, repeat=2)
    # whatever the machine, a positive finite rate; 20,000 loops take far more than a
    # microsecond and far less than a minute of CPU
    assert 20_000 / 60 < speed < 20_000 / 1e-6
