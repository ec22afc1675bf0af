"""SerialReaderLoop against simulated R2000 readers on real TCP sockets and pseudo-terminals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import serial

from edge.drivers.r2000 import R2000Decoder
from edge.drivers.serial_io import SerialReaderLoop
from edge.reads import TagRead
from firmware_sim.model import SimRead
from firmware_sim.serial_emitter import R2000PtyEmitter, R2000SocketEmitter
from storeflow.clock import Clock
from tests.helpers.waiting import Collector, wait_until

EPC_A = "3500079FF00000400000000C"
EPC_B = "3500079FF00000800000002A"
EPC_128 = "E200301666130121155074EF0011AA55"


def sim_reads(n: int, *, t0: float = 1_700_000_000.0) -> list[SimRead]:
    epcs = (EPC_A, EPC_B, EPC_128)
    return [
        SimRead(
            t=t0 + i * 0.01,
            reader_id="R1",
            antenna=i % 4 + 1,
            epc=epcs[i % 3],
            rssi_dbm=-40.0 - (i % 30),
            reader_t=t0 + i * 0.01,
        )
        for i in range(n)
    ]


@pytest.fixture
def emitter() -> Iterator[R2000SocketEmitter]:
    em = R2000SocketEmitter(round_every=4)
    yield em
    em.close()


def attached(loop: SerialReaderLoop, emitter: R2000SocketEmitter, *, reconnects: int = 0) -> bool:
    """The emitter has a host and the loop has finished opening the port.

    Opening a port flushes its input buffer (pyserial does, like a real UART driver), so bytes
    sent before that are lost: tests emit only after this.
    """
    return emitter.wait_client(5) and wait_until(
        lambda: loop.health().connected and loop.health().reconnects >= reconnects
    )


class FixedClock:
    """Host time that stands still, so a test can say exactly when reads were received."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


@pytest.fixture
def open_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every port URL a loop tries to open, in order (each open still really happens)."""
    calls: list[str] = []
    real = serial.serial_for_url

    def counting(url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(serial, "serial_for_url", counting)
    return calls


def make_loop(
    url: str, sink: Collector, *, send_inventory: bool = False, clock: Clock | None = None
) -> SerialReaderLoop:
    return SerialReaderLoop(
        "R1",
        url,
        R2000Decoder("R1"),
        sink,
        clock=clock,
        send_inventory=send_inventory,
        backoff_initial_s=0.05,
        backoff_max_s=0.4,
    )


def test_reads_arrive_from_socket_emitter(emitter: R2000SocketEmitter) -> None:
    sink = Collector()
    host = FixedClock(1_800_000_000.0)
    loop = make_loop(emitter.url, sink, send_inventory=True, clock=host)
    loop.start()
    try:
        assert attached(loop, emitter)
        sent = sim_reads(12)
        emitter.emit(sent)
        got = sink.wait_for(len(sent))
        assert [(r.epc, r.antenna, r.rssi_dbm) for r in got] == [
            (s.epc, s.antenna, s.rssi_dbm) for s in sent
        ]
        assert all(r.reader_id == "R1" and r.reader_ts is None for r in got)
        assert {r.host_ts for r in got} == {host.t}
        health = loop.health()
        assert health.connected
        assert health.reads_total == 12
        assert health.frames_bad == 0
        assert health.reconnects == 0
        assert health.last_read_at is not None
        assert health.last_read_at.timestamp() == host.t
    finally:
        loop.stop()
    assert not loop.health().connected


def test_reconnects_after_the_emitter_drops_the_host(emitter: R2000SocketEmitter) -> None:
    sink = Collector()
    loop = make_loop(emitter.url, sink)
    loop.start()
    try:
        assert attached(loop, emitter)
        emitter.emit(sim_reads(3))
        assert len(sink.wait_for(3)) == 3
        emitter.disconnect()
        assert attached(loop, emitter, reconnects=1)
        emitter.emit(sim_reads(5))
        assert len(sink.wait_for(8)) == 8
        assert loop.health().connected
    finally:
        loop.stop()


def test_reconnects_when_the_reader_comes_back_on_the_same_port(open_attempts: list[str]) -> None:
    first = R2000SocketEmitter()
    port = first.port
    sink = Collector()
    loop = make_loop(first.url, sink)
    loop.start()
    try:
        assert attached(loop, first)
        first.emit(sim_reads(2))
        assert len(sink.wait_for(2)) == 2
        first.close()
        assert wait_until(lambda: not loop.health().connected)
        # Connection refused for a while: the loop keeps retrying.
        tried = len(open_attempts)
        assert wait_until(lambda: len(open_attempts) >= tried + 2)
        assert not loop.health().connected
        second = R2000SocketEmitter(port)
        try:
            assert attached(loop, second, reconnects=1)
            second.emit(sim_reads(4))
            assert len(sink.wait_for(6)) == 6
            health = loop.health()
            assert health.connected
            assert health.reconnects >= 1
            assert health.reads_total == 6
        finally:
            second.close()
    finally:
        loop.stop()


def test_start_before_the_reader_exists(open_attempts: list[str]) -> None:
    probe = R2000SocketEmitter()
    port = probe.port
    probe.close()
    sink = Collector()
    loop = make_loop(f"socket://127.0.0.1:{port}", sink)
    loop.start()
    try:
        assert wait_until(lambda: len(open_attempts) >= 2)  # refused, and tried again
        assert not loop.health().connected
        with R2000SocketEmitter(port) as em:
            assert attached(loop, em)
            em.emit(sim_reads(1))
            assert len(sink.wait_for(1)) == 1
            assert loop.health().reconnects == 0  # first successful connect
    finally:
        loop.stop()


def test_noisy_line_keeps_the_good_frames() -> None:
    sink = Collector()
    with R2000SocketEmitter(noise=0.3, seed=7, round_every=10) as em:
        loop = make_loop(em.url, sink)
        loop.start()
        try:
            assert attached(loop, em)
            sent = sim_reads(200)
            for i in range(0, len(sent), 20):
                em.emit(sent[i : i + 20])
            expected = em.stats.reads_sent - em.stats.corrupted
            assert em.stats.corrupted > 0
            got = sink.wait_for(expected)
            # Garbage can, rarely, hide the frame after it; nothing else may be lost.
            assert len(got) >= expected - 2
            assert {r.epc for r in got} == {EPC_A, EPC_B, EPC_128}
            assert loop.health().frames_bad > 0
        finally:
            loop.stop()


def test_on_reads_errors_do_not_stop_the_loop(emitter: R2000SocketEmitter) -> None:
    calls: list[int] = []

    def flaky(reads: list[TagRead]) -> None:
        calls.append(len(reads))
        if len(calls) == 1:
            raise RuntimeError("downstream failed")

    loop = SerialReaderLoop("R1", emitter.url, R2000Decoder("R1"), flaky)
    loop.start()
    try:
        assert attached(loop, emitter)
        emitter.emit(sim_reads(1))
        assert wait_until(lambda: len(calls) == 1)
        emitter.emit(sim_reads(1))
        assert wait_until(lambda: len(calls) == 2)
        assert loop.health().connected
    finally:
        loop.stop()


def test_reads_arrive_over_a_pty() -> None:
    sink = Collector()
    with R2000PtyEmitter(round_every=3) as em:
        assert not em.has_client
        em.emit(sim_reads(2))
        assert em.stats.dropped == 2
        loop = make_loop(em.device_path, sink, send_inventory=True)
        loop.start()
        try:
            assert wait_until(lambda: loop.health().connected)
            assert wait_until(lambda: em.has_client)
            sent = sim_reads(9)
            em.emit(sent)
            got = sink.wait_for(9)
            assert [(r.epc, r.antenna) for r in got] == [(s.epc, s.antenna) for s in sent]
            assert em.stats.reads_sent == 9
        finally:
            loop.stop()


def test_the_loop_says_how_far_behind_it_is(emitter: R2000SocketEmitter) -> None:
    """``caught_up_at`` is the edge time the port was last read empty; the health report's
    ``lag_s`` is how long ago that was, and ``bytes_waiting`` a partial frame held back."""
    sink = Collector()
    host = FixedClock(1_800_000_000.0)
    loop = make_loop(emitter.url, sink, clock=host)
    assert loop.caught_up_at() is None and loop.health().lag_s is None
    loop.start()
    try:
        assert attached(loop, emitter)
        host.t += 10.0
        emitter.emit(sim_reads(3))
        sink.wait_for(3)
        assert wait_until(lambda: loop.caught_up_at() == host.t)
        assert loop.health().lag_s == 0.0
        host.t += 2.5  # the loop reads nothing new while the clock stands still
        assert wait_until(lambda: loop.health().lag_s in (0.0, 2.5))
        assert loop.health().bytes_waiting == 0
    finally:
        loop.stop()
    assert loop.health().lag_s is None  # disconnected: no horizon
