"""Replay simulated reads through the real edge code, without sleeping.

Each simulated read is encoded the way its reader would send it (an R2000 frame, an Impinj IoT
JSON event), decoded by the edge's own driver, and tracked by the edge's own pipeline. Used to
back-fill history quickly in the demo and by ``storeflow sim evaluate``.

Readers of protocol ``llrp`` go over a real TCP socket: a simulated LLRP reader
(:class:`firmware_sim.llrp_emitter.LlrpReaderEmitter`) on a free local port and the edge's
sllurp-based :class:`edge.drivers.llrp_io.LlrpReaderLoop` connected to it. The replay stays in
lock-step with them: each chunk is sent as one RO_ACCESS_REPORT and the replay waits (on a
condition, bounded) until the driver has handed every read of it over; the driver's clock is a
:class:`ReplayClock` set to the chunk's host receive time, so reads are stamped in simulated time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.drivers.llrp_io import LlrpReaderLoop
from edge.drivers.registry import message_decoder, stream_decoder
from edge.pipeline import EdgePipeline
from edge.reads import MessageDecoder, StreamDecoder, TagRead
from firmware_sim.encoders import impinj_tag_event, r2000_tag_frame
from firmware_sim.llrp_emitter import LlrpReaderEmitter
from firmware_sim.model import SimRead

logger = logging.getLogger(__name__)

TRANSPORT_DELAY_S = 0.02  # serial/MQTT delivery from reader to host in the replay
LLRP_HANDOVER_TIMEOUT_S = 30.0  # wall seconds the driver may take to hand over one report


@dataclass
class ReplayStats:
    reads_in: int = 0
    reads_decoded: int = 0
    frames_bad: int = 0
    seconds: float = 0.0
    last_ts: float = 0.0

    @property
    def reads_per_s(self) -> float:
        return self.reads_in / self.seconds if self.seconds else 0.0


class _Reader:
    """One simulated reader as the edge sees it: encoder on one side, real decoder on the other.

    Reads are delivered in chunks of ``chunk_s`` of simulated time, as a serial port's ``read()``
    or the R700's newline-delimited HTTP stream hands them over: every read in a chunk gets the
    host receive time of the chunk's end.
    """

    def __init__(self, reader_id: str, protocol: str) -> None:
        self.reader_id = reader_id
        self.protocol = protocol
        self.stream: StreamDecoder | None = None
        self.message: MessageDecoder | None = None
        if protocol == "r2000":
            self.stream = stream_decoder(protocol, reader_id)
        else:
            self.message = message_decoder(protocol, reader_id)
        self._chunk: list[bytes] = []
        self._chunk_end = 0.0

    def add(self, read: SimRead) -> None:
        if self.stream is not None:
            self._chunk.append(
                r2000_tag_frame(
                    addr=1, antenna=read.antenna, epc_hex=read.epc, rssi_dbm=read.rssi_dbm
                )
            )
        else:
            self._chunk.append(
                impinj_tag_event(
                    hostname=self.reader_id,
                    epc_hex=read.epc,
                    antenna=read.antenna,
                    rssi_dbm=read.rssi_dbm,
                    at=datetime.fromtimestamp(read.reader_t, tz=UTC),
                )
            )
        self._chunk_end = read.t

    def flush(self) -> list[TagRead]:
        if not self._chunk:
            return []
        host_ts = self._chunk_end + TRANSPORT_DELAY_S
        if self.stream is not None:
            reads = self.stream.feed(b"".join(self._chunk), host_ts)
        else:
            assert self.message is not None
            reads = self.message.decode(b"\r\n".join(self._chunk), host_ts)
        self._chunk = []
        return reads

    @property
    def frames_bad(self) -> int:
        dec = self.stream or self.message
        return dec.stats.frames_bad if dec is not None else 0


class ReplayClock:
    """The host clock of a replay: simulated time, set by the replay (thread-safe enough: one
    float assignment)."""

    def __init__(self, now: float = 0.0) -> None:
        self._now = now

    def set(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


class _LlrpReader:
    """One simulated LLRP reader over TCP as the edge sees it: emitter -> socket -> driver."""

    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id
        self.clock = ReplayClock()
        self.emitter = LlrpReaderEmitter()
        self._cond = threading.Condition()
        self._received: list[TagRead] = []
        self.loop = LlrpReaderLoop(
            reader_id,
            self.emitter.host,
            self._on_reads,
            port=self.emitter.port,
            clock=self.clock,
            backoff_initial_s=0.1,
        )
        self.loop.start()
        if not (
            self.loop.wait_connected(LLRP_HANDOVER_TIMEOUT_S)
            and self.emitter.wait_inventorying(LLRP_HANDOVER_TIMEOUT_S)
        ):
            self.close()
            raise RuntimeError(f"LLRP reader {reader_id}: the driver did not connect")
        self._chunk: list[SimRead] = []

    def _on_reads(self, reads: list[TagRead]) -> None:
        with self._cond:
            self._received += reads
            self._cond.notify_all()

    def add(self, read: SimRead) -> None:
        self._chunk.append(read)

    def flush(self) -> list[TagRead]:
        if not self._chunk:
            return []
        chunk, self._chunk = self._chunk, []
        self.clock.set(chunk[-1].t + TRANSPORT_DELAY_S)
        dropped = self.emitter.stats.dropped
        self.emitter.emit(chunk)
        if self.emitter.stats.dropped != dropped:
            raise RuntimeError(f"LLRP reader {self.reader_id}: the driver is not connected")
        with self._cond:
            arrived = self._cond.wait_for(
                lambda: len(self._received) + self.frames_bad >= len(chunk),
                LLRP_HANDOVER_TIMEOUT_S,
            )
            reads, self._received = self._received, []
        if not arrived:
            raise RuntimeError(f"LLRP reader {self.reader_id}: a report did not arrive")
        return reads

    @property
    def frames_bad(self) -> int:
        return self.loop.stats.frames_bad

    def close(self) -> None:
        self.loop.stop()
        self.emitter.close()


def replay(
    reads: Iterable[SimRead],
    *,
    pipeline: EdgePipeline,
    protocols: Mapping[str, str],
    tick_s: float = 1.0,
    chunk_s: float = 0.2,
    progress: Callable[[ReplayStats], None] | None = None,
    progress_every: int = 250_000,
) -> ReplayStats:
    """Push ``reads`` (time-ordered) through encoders, the edge decoders and ``pipeline``."""
    readers: dict[str, _Reader | _LlrpReader] = {}
    try:
        for rid, proto in protocols.items():
            readers[rid] = _LlrpReader(rid) if proto == "llrp" else _Reader(rid, proto)
        return _replay(
            reads,
            readers,
            pipeline=pipeline,
            tick_s=tick_s,
            chunk_s=chunk_s,
            progress=progress,
            progress_every=progress_every,
        )
    finally:
        for r in readers.values():
            if isinstance(r, _LlrpReader):
                r.close()


def _replay(
    reads: Iterable[SimRead],
    readers: Mapping[str, _Reader | _LlrpReader],
    *,
    pipeline: EdgePipeline,
    tick_s: float,
    chunk_s: float,
    progress: Callable[[ReplayStats], None] | None,
    progress_every: int,
) -> ReplayStats:
    stats = ReplayStats()
    started = time.perf_counter()
    next_tick = float("-inf")
    next_flush = float("-inf")
    for read in reads:
        stats.reads_in += 1
        if read.t >= next_flush:
            for r in readers.values():
                decoded = r.flush()
                stats.reads_decoded += len(decoded)
                pipeline.feed(decoded)
            next_flush = read.t + chunk_s
        if read.t >= next_tick:
            pipeline.tick(read.t)
            next_tick = read.t + tick_s
        readers[read.reader_id].add(read)
        stats.last_ts = read.t
        if progress is not None and stats.reads_in % progress_every == 0:
            stats.seconds = time.perf_counter() - started
            progress(stats)
    for r in readers.values():
        decoded = r.flush()
        stats.reads_decoded += len(decoded)
        pipeline.feed(decoded)
    pipeline.flush()
    stats.seconds = time.perf_counter() - started
    stats.frames_bad = sum(r.frames_bad for r in readers.values())
    return stats
