"""The pipeline's outbox writes: one per closed visit live, a batch at a time in a replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.agent import tag_kind
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.reads import TagRead
from edge.zones import AntennaMap
from storeflow.layout import load_layout

LAYOUT = load_layout(Path("firmware_sim/stores/demo.yaml"))
READER = LAYOUT.readers[0].id
CARDS = [f"3500079FF0000010000000{i:02X}" for i in range(1, 8)]


def _pipeline(outbox: Outbox, **kw: object) -> EdgePipeline:
    return EdgePipeline(
        store_id="demo",
        antenna_map=AntennaMap.from_layout(LAYOUT),
        kind_of=tag_kind,
        outbox=outbox,
        **kw,  # type: ignore[arg-type]
    )


def _visit_reads(epc: str, start: float) -> list[TagRead]:
    return [TagRead(READER, 1, epc, -50.0, host_ts=start + 0.5 * i) for i in range(10)]


def test_closed_visits_wait_for_a_batch_and_the_flush() -> None:
    outbox = Outbox(":memory:")
    pipe = _pipeline(outbox, outbox_batch=3)
    for i, epc in enumerate(CARDS):
        pipe.feed(iter(_visit_reads(epc, 100.0 * i)))  # any iterable of reads
        pipe.tick(100.0 * i + 60.0)
        assert outbox.depth() == 3 * ((i + 1) // 3)
    pipe.flush()
    assert outbox.depth() == len(CARDS) == pipe.visits_out
    outbox.close()


def test_the_batches_hold_what_one_by_one_writes() -> None:
    one, batched = Outbox(":memory:"), Outbox(":memory:")
    for outbox, size in ((one, 1), (batched, 4)):
        pipe = _pipeline(outbox, outbox_batch=size)
        for i, epc in enumerate(CARDS):
            pipe.feed(_visit_reads(epc, 30.0 * i))
            pipe.tick(30.0 * i + 20.0)
        pipe.flush()
    assert [p.event for p in one.peek(100)] == [p.event for p in batched.peek(100)]


def test_a_durable_pipeline_does_not_batch() -> None:
    with pytest.raises(ValueError, match="durable"):
        _pipeline(Outbox(":memory:"), durable=True, outbox_batch=10)
