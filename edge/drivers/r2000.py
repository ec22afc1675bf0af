"""Impinj R2000 "0xA0" serial module protocol (YR903, IND903, CF-MU801 ...): a pure decoder.

Frame: ``A0 | Len | Addr | Cmd | Data... | Check``. ``Len`` counts Addr through Check; ``Check``
is the two's complement of the sum of all earlier bytes, so a whole frame sums to 0 mod 256.

A real-time inventory (cmd 0x89) tag report carries ``FreqAnt | PC(2) | EPC(n) | RSSI``:
antenna = (FreqAnt & 3) + 1, EPC length in bytes = (PC >> 11) * 2, RSSI dBm = raw - 129.
The end of an inventory round is ``A0 0A Addr 89 Ant Rate(2) Total(4) Check``.

Serial streams carry partial frames, noise and corrupted frames. The decoder keeps a partial
frame between :meth:`R2000Decoder.feed` calls and, on a bad length or checksum, drops one byte
and resynchronises on the next 0xA0 whose length and checksum hold, so a good frame right after
garbage is never lost. A false 0xA0 in noise passes length and checksum once in 256 tries and
its length can swallow the start of a real frame: a tag report must also have a PC that agrees
with its length, and a frame of any other command gives way to a tag report starting inside it.
"""

from __future__ import annotations

import logging
from zlib import adler32

from edge.reads import DecodeStats, TagRead

logger = logging.getLogger(__name__)

HEADER = 0xA0
CMD_REAL_TIME_INVENTORY = 0x89
BROADCAST_ADDR = 0xFF
RSSI_OFFSET_DBM = 129

_HEADER_BYTE = b"\xa0"
_MIN_LEN = 3  # Addr, Cmd, Check
_END_OF_ROUND_LEN = 0x0A  # Addr Cmd Ant Rate(2) Total(4) Check
_ERROR_LEN = 0x04  # Addr Cmd ErrorCode Check
_TAG_OVERHEAD = 7  # Addr Cmd FreqAnt PC(2) RSSI Check, i.e. Len = EPC bytes + 7
_EPC_CACHE_MAX = 65_536
_new_read = tuple.__new__  # TagRead(...) without the keyword handling: the hot path's constructor
# Per byte value: the antenna of a FreqAnt byte, the RSSI (dBm) of a raw RSSI byte.
_ANTENNA = tuple((b & 3) + 1 for b in range(256))
_RSSI_DBM = tuple(float(b - RSSI_OFFSET_DBM) for b in range(256))


def checksum(frame_wo_check: bytes) -> int:
    """The check byte for a frame without it: two's complement of the byte sum."""
    return -sum(frame_wo_check) & 0xFF


def sums_to_zero(frame: bytes) -> bool:
    """Whether the bytes of ``frame`` sum to 0 mod 256 (the checksum rule holds).

    Adler-32 started from 0 keeps the plain byte sum in its low 16 bits while that sum stays
    below 65,521; a frame is at most 257 bytes and starts with 0xA0, so its sum is at most
    65,440. Several times faster than ``sum()`` over the bytes."""
    return not adler32(frame, 0) & 0xFF


def inventory_command(addr: int = 1, repeat: int = 1) -> bytes:
    """Host -> reader "real-time inventory" command (``A0 04 01 89 01 D1`` for the defaults)."""
    if not 0 <= addr <= 0xFF or not 0 <= repeat <= 0xFF:
        raise ValueError(f"addr and repeat must be 0..255, got addr={addr} repeat={repeat}")
    body = bytes((HEADER, 0x04, addr, CMD_REAL_TIME_INVENTORY, repeat))
    return body + bytes((checksum(body),))


def _find_good_frame(buf: bytes, start: int, end: int) -> int:
    """Index of the first complete frame in ``buf[start:end]`` whose length and checksum hold,
    or -1."""
    pos = buf.find(_HEADER_BYTE, start, end)
    while pos >= 0:
        if pos + 1 < end:
            length = buf[pos + 1]
            stop = pos + 2 + length
            if length >= _MIN_LEN and stop <= end and sums_to_zero(buf[pos:stop]):
                return pos
        pos = buf.find(_HEADER_BYTE, pos + 1, end)
    return -1


_NONE, _FOUND, _WAIT = 0, 1, 2


def _inner_tag_frame(buf: bytes, start: int, stop: int, end: int) -> int:
    """Whether a tag report frame whose length, PC and checksum hold starts in
    ``buf[start:stop]`` (``_FOUND``), may start there once more bytes arrive (``_WAIT``), or not
    (``_NONE``). ``end`` is the end of the bytes received so far."""
    pos = buf.find(_HEADER_BYTE, start, stop)
    while pos >= 0:
        if pos + 1 >= end:
            return _WAIT
        length = buf[pos + 1]
        if length > _TAG_OVERHEAD:
            frame_end = pos + 2 + length
            if frame_end > end:
                return _WAIT
            if (
                buf[pos + 3] == CMD_REAL_TIME_INVENTORY
                and ((buf[pos + 5] >> 2) & 0x3E) + _TAG_OVERHEAD == length
                and sums_to_zero(buf[pos:frame_end])
            ):
                return _FOUND
        pos = buf.find(_HEADER_BYTE, pos + 1, stop)
    return _NONE


class R2000Decoder:
    """Byte stream in, :class:`TagRead` out. Implements :class:`edge.reads.StreamDecoder`."""

    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id
        self.stats = DecodeStats()
        self._buf = b""
        self._resyncing = False
        self._epc_cache: dict[bytes, str] = {}

    @property
    def pending_bytes(self) -> int:
        """Bytes held back as the start of a frame not yet complete."""
        return len(self._buf)

    def _reject(self, buf: bytes, pos: int, reason: str) -> None:
        """Drop the 0xA0 at ``pos``; count one bad frame per run of failed candidates."""
        self.stats.bytes_skipped += 1
        if not self._resyncing:
            self._resyncing = True
            self.stats.bad(reason)
            logger.debug(
                "%s: %s at header %s, resynchronising",
                self.reader_id,
                reason,
                buf[pos : pos + 8].hex(" "),
            )

    def feed(self, data: bytes, host_ts: float) -> list[TagRead]:
        buf = self._buf + data if self._buf else bytes(data)
        n = len(buf)
        reads: list[TagRead] = []
        append = reads.append
        make = _new_read
        antenna_of = _ANTENNA
        rssi_of = _RSSI_DBM
        stats = self.stats
        cache = self._epc_cache
        reader_id = self.reader_id
        ok = 0
        pos = 0
        # The hot path: a whole tag report at ``pos`` whose PC agrees with its length and whose
        # checksum holds (an end of round's even Len never equals a tag report's odd one).
        # Anything else takes the general rules below, which come to the same verdicts.
        while pos < n:
            if buf[pos] == HEADER and pos + 1 < n:
                length = buf[pos + 1]
                end = pos + 2 + length
                if (
                    length > _TAG_OVERHEAD
                    and end <= n
                    and buf[pos + 3] == CMD_REAL_TIME_INVENTORY
                    and ((buf[pos + 5] >> 2) & 0x3E) + _TAG_OVERHEAD == length
                    and not adler32(buf[pos:end], 0) & 0xFF  # sums_to_zero, inlined
                ):
                    key = buf[pos + 7 : end - 2]
                    epc = cache.get(key)
                    if epc is None:
                        if len(cache) >= _EPC_CACHE_MAX:
                            cache.clear()
                        epc = cache[key] = key.hex().upper()
                    append(
                        make(
                            TagRead,
                            (
                                reader_id,
                                antenna_of[buf[pos + 4]],
                                epc,
                                rssi_of[buf[end - 2]],
                                host_ts,
                                None,
                            ),
                        )
                    )
                    ok += 1
                    self._resyncing = False
                    pos = end
                    continue
            if buf[pos] != HEADER:
                nxt = buf.find(_HEADER_BYTE, pos)
                if nxt < 0:
                    stats.bytes_skipped += n - pos
                    pos = n
                    break
                stats.bytes_skipped += nxt - pos
                pos = nxt
                continue
            if pos + 1 >= n:
                break
            length = buf[pos + 1]
            if length < _MIN_LEN:
                self._reject(buf, pos, "length")
                pos += 1
                continue
            end = pos + 2 + length
            if end > n:
                # Incomplete. Wait for more bytes, unless a good frame already follows: then
                # this header was noise (a bogus length) and must not hold that frame back.
                nxt = _find_good_frame(buf, pos + 1, n)
                if nxt < 0:
                    break
                self._reject(buf, pos, "length")
                stats.bytes_skipped += nxt - pos - 1
                pos = nxt
                continue
            if not sums_to_zero(buf[pos:end]):
                self._reject(buf, pos, "checksum")
                pos += 1
                continue
            cmd = buf[pos + 3]
            if cmd == CMD_REAL_TIME_INVENTORY and length not in (_END_OF_ROUND_LEN, _ERROR_LEN):
                epc_len = (buf[pos + 5] >> 2) & 0x3E  # (PC >> 11) words * 2 bytes
                if epc_len == 0 or epc_len + _TAG_OVERHEAD != length:
                    # Length and checksum held by chance: a false header in noise, whose length
                    # may swallow the start of a real frame. Drop one byte, not the whole span.
                    self._reject(buf, pos, "epc_length")
                    pos += 1
                    continue
            elif cmd != CMD_REAL_TIME_INVENTORY:
                # A frame we ignore anyway; a false header in noise passes the checksum once in
                # 256 tries. Give way to any tag frame that starts inside it.
                inner = _inner_tag_frame(buf, pos + 1, end, n)
                if inner == _WAIT:
                    break
                if inner == _FOUND:
                    self._reject(buf, pos, "overlap")
                    pos += 1
                    continue
            self._resyncing = False
            # A tag report with a good PC was taken by the hot path above: what is left here
            # is another command, an end of round or an error report.
            ok += 1
            stats.ignored += 1
            if cmd == CMD_REAL_TIME_INVENTORY and length == _ERROR_LEN:
                logger.debug("%s: inventory error code 0x%02X", reader_id, buf[pos + 4])
            pos = end
        self._buf = buf[pos:] if pos < n else b""
        stats.frames_ok += ok
        stats.reads += len(reads)
        return reads
