"""``storeflow sim evaluate --reader llrp``: the scenario through simulated LLRP readers (TCP)."""

from __future__ import annotations

import pytest

from orchestration.evaluate import evaluate, reader_protocols


def test_reader_choice_maps_every_reader() -> None:
    layout = {"R1": "r2000", "R3": "impinj_iot"}
    assert reader_protocols("layout", layout) == layout
    assert reader_protocols("llrp", layout) == {"R1": "llrp", "R3": "llrp"}
    assert reader_protocols("mqtt", layout) == {"R1": "impinj_iot", "R3": "impinj_iot"}
    with pytest.raises(ValueError, match="unknown"):
        reader_protocols("zigbee", layout)


@pytest.mark.slow
def test_llrp_over_tcp_recovers_the_visits() -> None:
    r = evaluate(noise="realistic", hours=0.5, reader="llrp")
    assert r.reader == "llrp"
    assert r.reads > 10_000
    assert r.precision >= 0.98
    assert r.recall >= 0.98
