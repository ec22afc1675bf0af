"""What the uplink does with each server answer, and its back-off schedule."""

from __future__ import annotations

import pytest

from edge.uplink import Outcome, classify_response


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (201, Outcome.SENT),
        (401, Outcome.AUTH),
        (403, Outcome.AUTH),
        (400, Outcome.POISON),
        (422, Outcome.POISON),
        (413, Outcome.POISON),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_classify_response(status: int, outcome: Outcome) -> None:
    assert classify_response(status) is outcome
