"""What reader drivers produce: plain tag reads, and the small interface every driver meets.

A driver is a pure decoder (bytes or JSON in, :class:`TagRead` out) plus a thin I/O loop that
feeds it. Decoders never raise on bad input: they count it in :class:`DecodeStats`, log it, and
go on with the next good frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol


class TagRead(NamedTuple):
    """One read of one tag by one antenna (immutable; a tuple, so that millions a second can be
    made and unpacked cheaply).

    ``host_ts`` is when the host received it (epoch seconds, host clock); ``reader_ts`` is the
    reader's own timestamp when the protocol carries one (epoch seconds, reader clock, which may
    be seconds off and drifting). The tracker corrects one against the other.
    """

    reader_id: str
    antenna: int
    epc: str  # upper-case hex
    rssi_dbm: float
    host_ts: float
    reader_ts: float | None = None


@dataclass(slots=True)
class DecodeStats:
    """Counters a decoder keeps; they end up in the edge agent's health report."""

    frames_ok: int = 0
    reads: int = 0
    frames_bad: int = 0  # bad checksum, bad length, bad JSON, missing EPC ...
    bytes_skipped: int = 0  # noise dropped while resynchronising
    ignored: int = 0  # well-formed but not a tag read (other event types, end-of-round frames)
    errors: dict[str, int] = field(default_factory=dict)

    def bad(self, reason: str) -> None:
        self.frames_bad += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1


class StreamDecoder(Protocol):
    """A decoder for a byte stream (serial readers): keeps partial frames between calls."""

    stats: DecodeStats

    def feed(self, data: bytes, host_ts: float) -> list[TagRead]: ...


class MessageDecoder(Protocol):
    """A decoder for whole messages (MQTT readers): one payload in, zero or more reads out."""

    stats: DecodeStats

    def decode(self, payload: bytes, host_ts: float) -> list[TagRead]: ...
