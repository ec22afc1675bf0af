"""The reconnect back-off every link uses (serial readers, MQTT, the uplink, till scanners)."""

from __future__ import annotations

import pytest

from storeflow.backoff import next_backoff


@pytest.mark.parametrize(
    ("current", "expected"),
    [(0.0, 0.5), (-1.0, 0.5), (0.5, 1.0), (1.0, 2.0), (16.0, 30.0), (30.0, 30.0)],
)
def test_next_backoff_doubles_up_to_the_cap(current: float, expected: float) -> None:
    assert next_backoff(current) == expected


def test_backoff_sequence_reaches_thirty_seconds() -> None:
    delays = [next_backoff(0.0)]
    for _ in range(8):
        delays.append(next_backoff(delays[-1]))
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_custom_start_and_cap() -> None:
    assert next_backoff(0.0, initial=0.05, maximum=0.4) == 0.05
    assert next_backoff(0.3, initial=0.05, maximum=0.4) == 0.4
