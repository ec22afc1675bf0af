"""Live and back-fill runs, truth files, and the ``sim`` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from firmware_sim.cli import (
    DEFAULT_SCENARIO,
    add_sim_parser,
    parse_ports,
    run_sim,
    run_truth,
    serial_ports,
    truth_period,
)
from firmware_sim.live import LiveSimulation, backfill_reads, batch_by_reader
from firmware_sim.model import SimRead, TruePurchase
from firmware_sim.scenario import RF_PRESETS, Scenario, load_scenario
from firmware_sim.shoppers import ShopperSimulator
from firmware_sim.truth import Truth, read_truth, write_truth
from storeflow.clock import ScaledClock
from storeflow.layout import StoreLayout, load_layout
from tests.fix_mqtt import BrokerProcess
from tests.helpers.waiting import wait_until

EPOCH = datetime(2026, 11, 2, 11, 0, tzinfo=UTC).timestamp()  # a Monday, the store is open


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(DEFAULT_SCENARIO)


@pytest.fixture(scope="module")
def layout(scenario: Scenario) -> StoreLayout:
    return load_layout(scenario.layout)


class Recorder:
    """An emitter that keeps what it was given and when (simulated time)."""

    def __init__(self, clock: ScaledClock, *, fail: bool = False) -> None:
        self.clock = clock
        self.fail = fail
        self.batches: list[tuple[float, list[SimRead]]] = []
        self.closed = False

    def emit(self, reads: Sequence[SimRead]) -> None:
        if self.fail:
            raise ConnectionError("no host connected")
        self.batches.append((self.clock.now(), list(reads)))

    def close(self) -> None:
        self.closed = True


class Till:
    def __init__(self) -> None:
        self.purchases: list[TruePurchase] = []

    def post(self, purchase: TruePurchase) -> None:
        self.purchases.append(purchase)


def fast_clock(scale: float = 1200.0) -> ScaledClock:
    return ScaledClock(sim_epoch=EPOCH, wall_start=time.time(), scale=scale)


def test_backfill_streams_time_ordered_reads_of_the_truth(
    scenario: Scenario, layout: StoreLayout
) -> None:
    start = datetime.fromtimestamp(EPOCH, UTC)
    reads, truth = backfill_reads(
        scenario, layout, start, start + timedelta(minutes=30), rf=RF_PRESETS["clean"]
    )
    got = list(reads)
    assert [r.t for r in got] == sorted(r.t for r in got)
    assert {r.epc for r in got} == {v.epc for v in truth.visits + truth.staff_visits}
    assert all(r.reader_t == r.t for r in got)  # clean: reader clocks are right
    assert truth.trips and truth.purchases is not None


def test_batches_keep_reader_order() -> None:
    reads = [SimRead(float(i), f"R{i % 2}", 1, "E", -50.0, float(i)) for i in range(6)]
    out = batch_by_reader(reads)
    assert [r.t for r in out["R0"]] == [0.0, 2.0, 4.0]
    assert [r.t for r in out["R1"]] == [1.0, 3.0, 5.0]


def test_live_emits_each_read_when_its_time_comes(
    scenario: Scenario, layout: StoreLayout, tmp_path: Path
) -> None:
    clock = fast_clock()
    recorders = {r.id: Recorder(clock) for r in layout.readers}
    till = Till()
    sim = LiveSimulation(
        scenario, layout, clock, recorders, truth_dir=tmp_path, chunk_s=300.0, pos=till
    )
    until = EPOCH + 1200.0  # 20 simulated minutes, one wall second
    sim.run(until_sim_ts=until)
    emitted = 0
    for reader_id, rec in recorders.items():
        assert rec.batches, reader_id
        for at, batch in rec.batches:
            assert {r.reader_id for r in batch} == {reader_id}
            assert all(EPOCH <= r.t <= at and r.t <= until for r in batch)
            emitted += len(batch)
    assert emitted == sim.emitted > 1000
    # Truth: what has happened by the end, and nothing else.
    truth = read_truth(tmp_path)
    assert truth.visits and truth.staff_visits and truth.trips
    assert all(v.exit <= until for v in truth.visits + truth.staff_visits)
    assert all(t.end <= until for t in truth.trips)
    full = ShopperSimulator(scenario, layout).simulate(
        datetime.fromtimestamp(EPOCH, UTC), datetime.fromtimestamp(until, UTC)
    )
    assert set(truth.visits) <= set(full.visits)
    all_epcs = {v.epc for v in full.visits + full.staff_visits}
    assert {r.epc for rec in recorders.values() for _, b in rec.batches for r in b} <= all_epcs
    # The till got the purchases made so far, in order.
    assert till.purchases == truth.purchases
    assert [p.at for p in till.purchases] == sorted(p.at for p in till.purchases)


def test_stop_from_another_thread(scenario: Scenario, layout: StoreLayout) -> None:
    clock = fast_clock(scale=60.0)
    sim = LiveSimulation(scenario, layout, clock, {r.id: Recorder(clock) for r in layout.readers})
    runner = threading.Thread(target=sim.run)
    runner.start()
    assert wait_until(lambda: sim.emitted > 0)  # running
    sim.stop()
    runner.join(timeout=3.0)
    assert not runner.is_alive()


def test_a_failing_reader_does_not_stop_the_others(
    scenario: Scenario, layout: StoreLayout, caplog: pytest.LogCaptureFixture
) -> None:
    clock = fast_clock()
    recorders = {r.id: Recorder(clock, fail=(r.id == "R1")) for r in layout.readers}
    sim = LiveSimulation(scenario, layout, clock, recorders)
    with caplog.at_level(logging.WARNING, logger="firmware_sim.live"):
        sim.run(until_sim_ts=EPOCH + 600.0)
    assert sim.dropped > 0 and sim.emitted > 0
    assert recorders["R2"].batches and not recorders["R1"].batches
    warnings = [r for r in caplog.records if "R1 cannot emit" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not per batch


def test_truth_files_round_trip(scenario: Scenario, layout: StoreLayout, tmp_path: Path) -> None:
    start = datetime.fromtimestamp(EPOCH, UTC)
    truth = ShopperSimulator(scenario, layout).simulate(start, start + timedelta(hours=1))
    write_truth(tmp_path, truth)
    write_truth(tmp_path, truth)  # replaces, does not append
    again = read_truth(tmp_path)
    assert again == truth
    assert read_truth(tmp_path / "missing") == Truth()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("", {}), ("R1=5001", {"R1": 5001}), (" R1=5001 , R2=5002 ", {"R1": 5001, "R2": 5002})],
)
def test_parse_ports(spec: str, expected: dict[str, int]) -> None:
    assert parse_ports(spec) == expected


@pytest.mark.parametrize("spec", ["R1", "R1=", "=5001", "R1=port", "R1=70000"])
def test_parse_ports_refuses_nonsense(spec: str) -> None:
    with pytest.raises(ValueError, match="READER=PORT"):
        parse_ports(spec)


@pytest.mark.parametrize(
    ("spec", "base", "expected"),
    [
        ("", None, {"R1": 0, "R2": 0}),
        ("", 6000, {"R1": 6000, "R2": 6001}),
        ("R2=7000", 6000, {"R1": 6000, "R2": 7000}),
    ],
)
def test_serial_ports(spec: str, base: int | None, expected: dict[str, int]) -> None:
    assert serial_ports(["R1", "R2"], spec=spec, base=base) == expected


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"day": None, "days": 1, "start": None, "hours": 12.0},
            (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)),
        ),
        (
            {"day": "2026-11-02", "days": 7, "start": None, "hours": 12.0},
            (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)),
        ),
        (
            {"day": None, "days": 1, "start": "2026-11-02T10:00:00", "hours": 2.5},
            (
                datetime(2026, 11, 2, 10, tzinfo=UTC),
                datetime(2026, 11, 2, 12, 30, tzinfo=UTC),
            ),
        ),
    ],
)
def test_truth_period(kwargs: dict[str, object], expected: tuple[datetime, datetime]) -> None:
    assert truth_period(today=TODAY, **kwargs) == expected  # type: ignore[arg-type]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="storeflow")
    add_sim_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_sim_truth_writes_a_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["sim", "truth", "--date", "2026-11-02", "--out", str(tmp_path)])
    assert args.func is run_truth
    assert run_truth(args) == 0
    truth = read_truth(tmp_path)
    assert 400 < len(truth.trips) < 900 and truth.purchases and truth.staff_visits
    assert "trips" in capsys.readouterr().out


def test_sim_truth_bad_scenario_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("layout: nowhere.yaml\ncounters: {}\nstaff: lots\n", encoding="utf-8")
    args = parse(["sim", "truth", "--scenario", str(bad), "--out", str(tmp_path / "t")])
    assert run_truth(args) == 2
    out = capsys.readouterr().out
    assert f"{bad}:3: staff" in out


def free_ports(n: int) -> int:
    """A base port with ``n`` free ports after it (best effort)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + n < 65535 and all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("restore_signals")
def test_sim_run_plays_the_readers(
    mqtt_broker: BrokerProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, port = mqtt_broker.host, mqtt_broker.port
    got: list[str] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, msg: got.append(msg.topic)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.connect(host, port)
    sub.subscribe("storeflow/demo/+/events")
    sub.loop_start()
    try:
        assert subscribed.wait(5)
        base = free_ports(2)
        args = parse(
            [
                "sim",
                "run",
                "--speed",
                "600",
                "--sim-epoch",
                str(EPOCH),
                "--minutes",
                "0.03",
                "--mqtt-url",
                mqtt_broker.url,
                "--serial-port-base",
                str(base),
                "--truth-dir",
                str(tmp_path),
                "--noise",
                "clean",
            ]
        )
        assert run_sim(args) == 0
        assert wait_until(
            lambda: {"storeflow/demo/R3/events", "storeflow/demo/R4/events"} <= set(got)
        )
    finally:
        sub.loop_stop()
        sub.disconnect()
    out = capsys.readouterr().out
    assert f"R1: R2000 serial stream at socket://127.0.0.1:{base}" in out
    assert f"R2: R2000 serial stream at socket://127.0.0.1:{base + 1}" in out
    assert "R3: Impinj IoT events on" in out and "simulation stopped" in out
    assert {"storeflow/demo/R3/events", "storeflow/demo/R4/events"} <= set(got)
    assert read_truth(tmp_path).visits
