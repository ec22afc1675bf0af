"""The open visits are saved every ``checkpoint_s`` of edge time as reads come in, not only when
the ticker gets round to it: a kill -9 loses at most that much of what was read, however far
the ticker lags (before, only the ticker saved them, every 0.25 s of wall time at best)."""

from __future__ import annotations

from pathlib import Path

from edge.agent import EdgeAgent
from edge.config import load_edge_config
from edge.reads import TagRead
from storeflow.clock import set_file_clock

ROOT = Path(__file__).resolve().parents[2]
EPC = "3500079FF0000040000000AA"
T0 = 1_790_000_000.0


def agent(tmp_path: Path) -> tuple[EdgeAgent, Path]:
    clock = tmp_path / "clock"
    config = tmp_path / "edge.yaml"
    config.write_text(
        "device_id: edge-ckpt\n"
        "store_id: demo\n"
        f"layout: {ROOT / 'firmware_sim' / 'stores' / 'demo.yaml'}\n"
        "server: {url: 'http://127.0.0.1:9', token: t}\n"
        "readers:\n"
        "  - {id: R1, protocol: r2000, serial: {url: 'socket://127.0.0.1:9'}}\n"
        f"outbox: {{path: '{tmp_path / 'outbox.sqlite'}', checkpoint_s: 1.0}}\n"
        f"clock: {{file: '{clock}'}}\n"
    )
    cfg, layout = load_edge_config(config)
    return EdgeAgent(cfg, layout, token="t"), clock  # readers and threads never started


def feed(a: EdgeAgent, clock: Path, t: float, n: int) -> None:
    set_file_clock(clock, t)
    a.feed([TagRead("R1", 1, EPC, -50.0, host_ts=t) for _ in range(n)])


def saved_reads(a: EdgeAgent) -> list[int]:
    return [int(v["reads"]) for v in a.outbox.load_open_visits()]


def test_reads_save_the_open_visits_every_checkpoint_interval(tmp_path: Path) -> None:
    a, clock = agent(tmp_path)
    try:
        feed(a, clock, T0, 3)
        assert saved_reads(a) == [3]  # the visit opened: saved at once
        feed(a, clock, T0 + 0.5, 2)
        assert saved_reads(a) == [3]  # within the interval: not yet
        feed(a, clock, T0 + 1.1, 2)
        assert saved_reads(a) == [7]
    finally:
        a.outbox.close()
