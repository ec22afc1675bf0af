"""Replay simulated reads through the real edge code, without sockets or sleeping.

Each simulated read is encoded the way its reader would send it (an R2000 frame, an Impinj IoT
JSON event), decoded by the edge's own driver, and tracked by the edge's own pipeline. Used to
back-fill history quickly in the demo and by ``storeflow sim evaluate``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.drivers.registry import message_decoder, stream_decoder
from edge.pipeline import EdgePipeline
from edge.reads import MessageDecoder, StreamDecoder, TagRead
from firmware_sim.encoders import impinj_tag_event, r2000_tag_frame
from firmware_sim.model import SimRead

logger = logging.getLogger(__name__)

TRANSPORT_DELAY_S = 0.02  # serial/MQTT delivery from reader to host in the replay


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
    readers = {rid: _Reader(rid, proto) for rid, proto in protocols.items()}
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
