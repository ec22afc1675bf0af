"""The back-fill's replay a block of reads at a time gives the edge what the replay read by read
gives it: the same visits, the same counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from edge.agent import tag_kind
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.zones import AntennaMap
from firmware_sim.live import _all_visits
from firmware_sim.rf import RadioWorld
from firmware_sim.shoppers import ShopperSimulator
from orchestration import demo_data
from orchestration.replay import ReplayStats, due_points, replay, replay_blocks

START = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("times", "start", "step", "points", "due"),
    [
        ([], 0.0, 1.0, [], 0.0),
        ([0.0, 0.5, 1.0, 1.1, 2.5], float("-inf"), 1.0, [0, 2, 4], 3.5),
        ([0.0, 0.5, 1.0, 1.1, 2.5], 1.05, 1.0, [3, 4], 3.5),
        ([1.0, 1.0, 1.0], float("-inf"), 0.0, [0, 1, 2], 1.0),
        ([1.0, 1.0, 1.2], float("-inf"), 0.2, [0, 2], 1.4),
    ],
)
def test_due_points(
    times: list[float], start: float, step: float, points: list[int], due: float
) -> None:
    assert due_points(times, start, step) == (points, pytest.approx(due))


def _run(protocols: dict[str, str], *, blocks: bool, batch: int) -> tuple[ReplayStats, list[str]]:
    scenario = demo_data.load_scenario_for_demo("harsh", today=date(2026, 11, 10))
    layout = demo_data.layout()
    truth = ShopperSimulator(scenario, layout).simulate(START, START + timedelta(minutes=40))
    world = RadioWorld(layout, scenario.rf, seed=scenario.seed, epoch=START.timestamp())
    outbox = Outbox(":memory:")
    pipeline = EdgePipeline(
        store_id="demo",
        antenna_map=AntennaMap.from_layout(layout),
        kind_of=tag_kind,
        outbox=outbox,
        outbox_batch=batch,
    )
    seen: list[int] = []
    if blocks:
        stats = replay_blocks(
            world.read_blocks(_all_visits(truth)),
            pipeline=pipeline,
            protocols=protocols,
            progress=lambda s: seen.append(s.reads_in),
            progress_every=5_000,
        )
        assert seen and seen == sorted(seen) and seen[-1] <= stats.reads_in
    else:
        stats = replay(world.reads(_all_visits(truth)), pipeline=pipeline, protocols=protocols)
    visits = [p.event.model_dump_json() for p in outbox.peek(100_000)]
    outbox.close()
    return stats, visits


@pytest.mark.parametrize(
    "protocols",
    [
        demo_data.reader_protocols(),
        # a reader of another protocol is encoded read by read
        {**demo_data.reader_protocols(), "R4": "zebra_iot"},
    ],
)
def test_blocks_give_the_edge_what_reads_one_by_one_give_it(protocols: dict[str, str]) -> None:
    one_by_one, expected = _run(protocols, blocks=False, batch=1)
    in_blocks, got = _run(protocols, blocks=True, batch=50)
    assert len(expected) > 100 and one_by_one.reads_in > 20_000
    assert got == expected  # in the same order
    assert (in_blocks.reads_in, in_blocks.reads_decoded, in_blocks.frames_bad) == (
        one_by_one.reads_in,
        one_by_one.reads_decoded,
        one_by_one.frames_bad,
    )
    assert in_blocks.last_ts == one_by_one.last_ts
