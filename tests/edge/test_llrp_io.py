"""LlrpReaderLoop (sllurp underneath) against the simulated LLRP reader on a real TCP socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.drivers.llrp_io import LlrpReaderLoop, is_silent
from firmware_sim import llrp_codec as c
from firmware_sim.llrp_emitter import LlrpReaderEmitter
from firmware_sim.model import SimRead
from tests.helpers.waiting import Collector, wait_until

EPC_A = "3034257BF40000400000000C"
EPC_B = "3500079FF00000800000002A"
EPC_128 = "E200301666130121155074EF0011AA55"

HOST_NOW = 1_793_000_100.0
READER_OFFSET_S = 2.5


class FixedClock:
    def now(self) -> float:
        return HOST_NOW


def sim_reads(n: int, *, t0: float = 1_793_000_000.0) -> list[SimRead]:
    epcs = (EPC_A, EPC_B, EPC_128)
    return [
        SimRead(
            t=t0 + i * 0.01,
            reader_id="R1",
            antenna=i % 4 + 1,
            epc=epcs[i % 3],
            rssi_dbm=-40.4 - (i % 30),
            reader_t=t0 + i * 0.01 + 0.125,
        )
        for i in range(n)
    ]


@pytest.fixture
def reader() -> Iterator[LlrpReaderEmitter]:
    with LlrpReaderEmitter(clock_offset_s=READER_OFFSET_S) as em:
        yield em


def make_loop(em: LlrpReaderEmitter, sink: Collector, **kw: float) -> LlrpReaderLoop:
    params: dict[str, float] = {"keepalive_s": 0.1, "backoff_initial_s": 0.05, "backoff_max_s": 0.4}
    params.update(kw)
    return LlrpReaderLoop(
        "R1",
        em.host,
        sink,
        port=em.port,
        clock=FixedClock(),
        **params,  # type: ignore[arg-type]
    )


@pytest.fixture
def loop(reader: LlrpReaderEmitter) -> Iterator[tuple[LlrpReaderLoop, Collector]]:
    sink = Collector()
    lp = make_loop(reader, sink)
    lp.start()
    try:
        assert lp.wait_connected(5.0)
        assert reader.wait_inventorying(5.0)
        yield lp, sink
    finally:
        lp.stop()


def test_handshake_and_tag_reports_become_reads(
    reader: LlrpReaderEmitter, loop: tuple[LlrpReaderLoop, Collector]
) -> None:
    lp, sink = loop
    req = reader.stats.requests
    # What sllurp sends before inventorying, each answered by the simulated reader.
    for msg_type in (
        c.GET_READER_CAPABILITIES,
        c.GET_READER_CONFIG,
        c.ENABLE_EVENTS_AND_REPORTS,
        c.SET_READER_CONFIG,
        c.DELETE_ACCESSSPEC,
        c.DELETE_ROSPEC,
        c.ADD_ROSPEC,
        c.ENABLE_ROSPEC,
    ):
        assert req.get(msg_type) == 1, msg_type
    sent = sim_reads(30)
    reader.emit(sent[:10])
    reader.emit(sent[10:])
    got = sink.wait_for(30)
    assert len(got) == 30
    for s, r in zip(sent, got, strict=True):
        assert (r.reader_id, r.epc, r.antenna) == ("R1", s.epc, s.antenna)
        assert r.rssi_dbm == round(s.rssi_dbm)  # PeakRSSI is whole dBm
        assert r.reader_ts == pytest.approx(s.reader_t + READER_OFFSET_S, abs=1e-6)
        assert r.host_ts == HOST_NOW
    health = lp.health()
    assert health.connected and health.reads_total == 30 and health.reconnects == 0


def test_keepalives_are_acknowledged(
    reader: LlrpReaderEmitter, loop: tuple[LlrpReaderLoop, Collector]
) -> None:
    lp, _ = loop
    assert wait_until(lambda: reader.stats.keepalive_acks >= 3)
    assert lp.keepalives >= 3
    assert lp.connected  # keep-alives keep the watchdog quiet while no tag is in the field
    assert lp.reconnects == 0


def test_reader_drops_connection_driver_reconnects_and_nothing_is_lost(
    reader: LlrpReaderEmitter, loop: tuple[LlrpReaderLoop, Collector]
) -> None:
    lp, sink = loop
    reader.emit(sim_reads(5))
    assert len(sink.wait_for(5)) == 5
    reader.disconnect()
    assert wait_until(lambda: lp.reconnects == 1)
    assert reader.wait_inventorying(5.0)
    assert reader.stats.clients == 2
    after = sim_reads(40, t0=1_793_000_010.0)
    for i in range(0, 40, 8):
        reader.emit(after[i : i + 8])
    got = sink.wait_for(45)
    assert [r.epc for r in got[5:]] == [s.epc for s in after]
    assert reader.stats.dropped == 0
    assert lp.health().reconnects == 1


def test_graceful_close_event_also_reconnects(
    reader: LlrpReaderEmitter, loop: tuple[LlrpReaderLoop, Collector]
) -> None:
    lp, sink = loop
    reader.disconnect(graceful=True)
    assert wait_until(lambda: lp.reconnects == 1)
    assert reader.wait_inventorying(5.0)
    reader.emit(sim_reads(3))
    assert len(sink.wait_for(3)) == 3


def test_silent_half_open_connection_is_detected_by_keepalive_watchdog(
    reader: LlrpReaderEmitter, loop: tuple[LlrpReaderLoop, Collector]
) -> None:
    lp, sink = loop
    reader.stall()  # TCP stays open, the reader says nothing any more
    assert wait_until(lambda: lp.reconnects == 1)
    assert reader.wait_inventorying(5.0)
    reader.emit(sim_reads(4))
    assert len(sink.wait_for(4)) == 4


def test_reader_down_then_back_on_the_same_port() -> None:
    sink = Collector()
    em = LlrpReaderEmitter()
    port = em.port
    lp = make_loop(em, sink)
    lp.start()
    try:
        assert lp.wait_connected(5.0)
        em.close()  # the reader reboots: the port refuses connections for a while
        assert wait_until(lambda: not lp.connected)
        with LlrpReaderEmitter(port) as back:
            assert wait_until(lambda: lp.reconnects == 1, timeout=10.0)
            assert back.wait_inventorying(5.0)
            back.emit(sim_reads(6))
            assert len(sink.wait_for(6)) == 6
    finally:
        lp.stop()


def test_stop_deletes_the_rospec_and_closes(reader: LlrpReaderEmitter) -> None:
    sink = Collector()
    lp = make_loop(reader, sink)
    lp.start()
    assert lp.wait_connected(5.0)
    # the reader has answered the whole start-up (a stop in the middle of it is a hard close)
    assert reader.wait_inventorying(5.0)
    lp.stop(timeout=30.0)
    assert not lp.connected
    # DELETE_ROSPEC on connect and again on the polite stop, then the socket is closed.
    assert wait_until(lambda: reader.stats.requests.get(c.DELETE_ROSPEC) == 2, timeout=30.0), (
        reader.stats.requests
    )
    assert wait_until(lambda: not reader.inventorying, timeout=30.0)


def test_unreachable_reader_is_retried_without_connecting() -> None:
    em = LlrpReaderEmitter()
    port = em.port
    em.close()
    lp = LlrpReaderLoop("R1", "127.0.0.1", Collector(), port=port, backoff_initial_s=0.01)
    lp.start()
    try:
        assert not lp.wait_connected(0.3)
        assert lp.health().connected is False
    finally:
        lp.stop()


@pytest.mark.parametrize(
    ("last_rx", "now", "keepalive_s", "silent"),
    [(0.0, 10.0, 5.0, False), (0.0, 15.1, 5.0, True), (0.0, 1e9, 0.0, False)],
)
def test_is_silent(last_rx: float, now: float, keepalive_s: float, silent: bool) -> None:
    assert is_silent(last_rx, now, keepalive_s=keepalive_s, factor=3.0) is silent
