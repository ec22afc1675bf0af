"""Reconnect back-off: how long to wait before the next attempt after a failed one.

Shared by everything that keeps a link alive (serial readers, MQTT clients, the uplink, till
scanners): 0.5 s, 1 s, 2 s ... doubling up to 30 s.
"""

from __future__ import annotations

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0


def next_backoff(
    current: float, *, initial: float = BACKOFF_INITIAL_S, maximum: float = BACKOFF_MAX_S
) -> float:
    """The delay before the next attempt, given the delay used before the last one.

    ``current`` <= 0 means no attempt has failed yet: start at ``initial``; then double, capped.
    """
    if current <= 0:
        return min(initial, maximum)
    return min(current * 2, maximum)
