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

import itertools
import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from edge.drivers.llrp_io import LlrpReaderLoop
from edge.drivers.registry import message_decoder, stream_decoder
from edge.pipeline import EdgePipeline
from edge.reads import MessageDecoder, StreamDecoder, TagRead
from firmware_sim.encoders import (
    epc_table,
    impinj_tag_event,
    impinj_tag_events,
    r2000_tag_frame,
    r2000_tag_frames,
)
from firmware_sim.llrp_emitter import LlrpReaderEmitter
from firmware_sim.model import SimRead
from firmware_sim.rf import ReadBlock

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


# -- the same replay, a block of reads at a time ---------------------------------------------
#
# :func:`replay_blocks` gives the edge exactly what :func:`replay` gives it for the same reads
# (the same bytes and JSON events in the same chunks, at the same host times, the same ticks),
# without an object per read on the simulator's side: each reader's reads of a block are
# encoded at once (R2000 frames as one array, Impinj events from one template), and the chunk
# and tick points are found by bisection instead of a test per read.


class _EpcRows:
    """The EPCs of a read stream as rows of bytes (:func:`epc_table`), grown as the stream's
    EPC list grows; None while they are not all one length."""

    def __init__(self) -> None:
        self._source: Sequence[str] | None = None
        self._size = 0
        self._table: np.ndarray | None = None

    def table(self, epcs: Sequence[str]) -> np.ndarray | None:
        if epcs is not self._source or len(epcs) < self._size:
            self._source, self._size, self._table = epcs, 0, None
        if len(epcs) > self._size:
            try:
                more = epc_table(epcs[self._size :])
            except ValueError:
                return None
            if self._table is not None and more.shape[1] != self._table.shape[1]:
                return None
            self._table = more if self._table is None else np.concatenate([self._table, more])
            self._size = len(epcs)
        return self._table


class _BlockReader:
    """One simulated reader in a block replay: its reads of a block encoded at once, handed to
    the edge's decoder a chunk at a time (:class:`_Reader` does the same read by read)."""

    def __init__(self, reader_id: str, protocol: str, epc_rows: _EpcRows) -> None:
        self.reader_id = reader_id
        self.protocol = protocol
        self._epc_rows = epc_rows
        self._fallback: _Reader | _LlrpReader | None = None
        self.stream: StreamDecoder | None = None
        self.message: MessageDecoder | None = None
        if protocol == "r2000":
            self.stream = stream_decoder(protocol, reader_id)
        elif protocol == "impinj_iot":
            self.message = message_decoder(protocol, reader_id)
        else:  # other protocols are encoded read by read
            self._fallback = (
                _LlrpReader(reader_id) if protocol == "llrp" else _Reader(reader_id, protocol)
            )
        self._parts: list[Any] = []
        self._chunk_end = 0.0
        # The block being handed over: reads [lo, hi) of it are taken by :meth:`take`.
        self._frames = b""
        self._offsets: list[int] = []
        self._events: list[bytes] = []
        self._records: list[SimRead] = []

    def load(self, block: ReadBlock, idx: np.ndarray) -> None:
        """Encode this reader's reads of ``block`` (rows ``idx``)."""
        rows = block.epc[idx]
        if self.stream is not None:
            table = self._epc_rows.table(block.epcs)
            if table is not None:
                self._frames = r2000_tag_frames(
                    addr=1,
                    antennas=block.antenna[idx],
                    epcs=table,
                    rows=rows,
                    rssi_dbm=block.rssi_dbm[idx],
                )
                size = table.shape[1] + 9
                self._offsets = list(range(0, (len(idx) + 1) * size, size))
            else:  # EPCs of several lengths: frame by frame
                frames = [
                    r2000_tag_frame(addr=1, antenna=a, epc_hex=block.epcs[e], rssi_dbm=r)
                    for a, e, r in zip(
                        block.antenna[idx].tolist(),
                        rows.tolist(),
                        block.rssi_dbm[idx].tolist(),
                        strict=True,
                    )
                ]
                self._frames = b"".join(frames)
                self._offsets = [0, *itertools.accumulate(len(f) for f in frames)]
        elif self.message is not None:
            self._events = impinj_tag_events(
                hostname=self.reader_id,
                epcs_hex=block.epcs,
                rows=rows,
                antennas=block.antenna[idx],
                rssi_dbm=block.rssi_dbm[idx],
                at=block.reader_t[idx],
            )
        else:
            self._records = list(_select(block, idx).reads())

    def take(self, lo: int, hi: int, end_t: float) -> None:
        """Reads ``lo`` to ``hi`` of the loaded block join the chunk (the last at ``end_t``)."""
        if self.stream is not None:
            self._parts.append(self._frames[self._offsets[lo] : self._offsets[hi]])
        elif self.message is not None:
            self._parts += self._events[lo:hi]
        else:
            self._parts += self._records[lo:hi]
        self._chunk_end = end_t

    def flush(self) -> list[TagRead]:
        if not self._parts:
            return []
        parts, self._parts = self._parts, []
        host_ts = self._chunk_end + TRANSPORT_DELAY_S
        if self.stream is not None:
            return self.stream.feed(parts[0] if len(parts) == 1 else b"".join(parts), host_ts)
        if self.message is not None:
            return self.message.decode(b"\r\n".join(parts), host_ts)
        assert self._fallback is not None
        for read in parts:
            self._fallback.add(read)
        return self._fallback.flush()

    @property
    def frames_bad(self) -> int:
        if self._fallback is not None:
            return self._fallback.frames_bad
        dec = self.stream or self.message
        return dec.stats.frames_bad if dec is not None else 0

    def close(self) -> None:
        if isinstance(self._fallback, _LlrpReader):
            self._fallback.close()


def _select(block: ReadBlock, idx: np.ndarray) -> ReadBlock:
    return ReadBlock(
        t=block.t[idx],
        reader=block.reader[idx],
        antenna=block.antenna[idx],
        epc=block.epc[idx],
        rssi_dbm=block.rssi_dbm[idx],
        reader_t=block.reader_t[idx],
        reader_ids=block.reader_ids,
        epcs=block.epcs,
    )


def due_points(times: list[float], start: float, step: float) -> tuple[list[int], float]:
    """Where :func:`replay` acts on a time-ordered run of reads: the indexes ``i`` with
    ``times[i] >= due``, ``due`` moving to ``times[i] + step`` at each. Returns them and the
    next ``due``. Pure."""
    points: list[int] = []
    due = start
    i = bisect_left(times, due)
    while i < len(times):
        points.append(i)
        due = times[i] + step
        i = bisect_left(times, due, i + 1)
    return points, due


def replay_blocks(
    blocks: Iterable[ReadBlock],
    *,
    pipeline: EdgePipeline,
    protocols: Mapping[str, str],
    tick_s: float = 1.0,
    chunk_s: float = 0.2,
    progress: Callable[[ReplayStats], None] | None = None,
    progress_every: int = 250_000,
) -> ReplayStats:
    """:func:`replay` of reads given as blocks of columns (:meth:`RadioWorld.read_blocks`):
    the edge gets the same chunks at the same times. ``progress`` is called about every
    ``progress_every`` reads."""
    epc_rows = _EpcRows()
    readers: dict[str, _BlockReader] = {}
    try:
        for rid, proto in protocols.items():
            readers[rid] = _BlockReader(rid, proto, epc_rows)
        return _replay_blocks(
            blocks,
            readers,
            pipeline=pipeline,
            tick_s=tick_s,
            chunk_s=chunk_s,
            progress=progress,
            progress_every=progress_every,
        )
    finally:
        for r in readers.values():
            r.close()


def _replay_blocks(
    blocks: Iterable[ReadBlock],
    readers: Mapping[str, _BlockReader],
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
    next_progress = progress_every
    order = list(readers.values())

    decoded: list[TagRead] = []  # decoded, not yet tracked

    def flush_all() -> None:
        for r in order:
            decoded.extend(r.flush())

    def track() -> None:
        # The reads decoded since the last tick, tracked as one batch: the tracker takes reads
        # one by one, so this is what feeding each chunk as it is decoded does.
        if decoded:
            stats.reads_decoded += len(decoded)
            pipeline.feed(decoded.copy())
            decoded.clear()

    for block in blocks:
        n = len(block)
        if n == 0:
            continue
        base = stats.reads_in
        times = block.t.tolist()
        flushes, next_flush = due_points(times, next_flush, chunk_s)
        ticks, next_tick = due_points(times, next_tick, tick_s)
        # Per reader: its rows of the block, and how many of them come before each flush.
        mine: list[tuple[_BlockReader, list[int], list[int]]] = []
        for k, rid in enumerate(block.reader_ids):
            idx = np.flatnonzero(block.reader == k)
            if len(idx) == 0:
                continue
            reader = readers[rid]  # a read of a reader the replay does not know: KeyError
            reader.load(block, idx)
            before = np.searchsorted(idx, flushes).tolist() + [len(idx)]
            mine.append((reader, idx.tolist(), before))
        taken = [0] * len(mine)
        f = k_tick = 0
        while f < len(flushes) or k_tick < len(ticks):
            if f < len(flushes) and (k_tick >= len(ticks) or flushes[f] <= ticks[k_tick]):
                for m, (reader, rows, before) in enumerate(mine):
                    hi = before[f]
                    if hi > taken[m]:
                        reader.take(taken[m], hi, times[rows[hi - 1]])
                        taken[m] = hi
                flush_all()
                at = flushes[f]
                f += 1
            else:
                at = ticks[k_tick]
                track()
                pipeline.tick(times[at])
                k_tick += 1
            if progress is not None and base + at >= next_progress:
                stats.reads_in = base + at
                stats.last_ts = times[at]
                stats.seconds = time.perf_counter() - started
                progress(stats)
                next_progress = stats.reads_in + progress_every
        for m, (reader, rows, _before) in enumerate(mine):
            if len(rows) > taken[m]:
                reader.take(taken[m], len(rows), times[rows[-1]])
        stats.reads_in = base + n
        stats.last_ts = times[-1]
    flush_all()
    track()
    pipeline.flush()
    stats.seconds = time.perf_counter() - started
    stats.frames_bad = sum(r.frames_bad for r in readers.values())
    return stats
