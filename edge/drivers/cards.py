"""Member-card readers at the till: pure decoders.

* RDM6300-style 125 kHz EM4100 readers (9600 8N1, transmit only):
  ``02 | 10 ASCII hex (2 version + 8 card) | 2 ASCII hex XOR checksum | 03``. The reader repeats
  the frame while the card lies on it: one presentation counts once (repeats of the same card are
  suppressed until it has been gone for ``gap_s``).
* Barcode and magstripe scanners: ASCII ended by CR, LF, CRLF or TAB, sometimes wrapped in
  STX/ETX; magstripe sends ``%track1?;track2?`` and may send ``E`` for a track it could not read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from edge.reads import DecodeStats

logger = logging.getLogger(__name__)

STX, ETX = 0x02, 0x03
_HEX = re.compile(rb"^[0-9A-Fa-f]{12}$")
_TRACK2 = re.compile(r";(\d{1,19})=?[^?]*\?")


@dataclass(frozen=True, slots=True)
class CardRead:
    card_number: str
    host_ts: float
    scanner: Literal["rdm6300", "barcode", "magstripe"]


class _Debounce:
    """One presentation counts once: the same code again within ``gap_s`` is a repeat."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self._last: dict[str, float] = {}

    def fresh(self, code: str, ts: float) -> bool:
        last = self._last.get(code)
        self._last[code] = ts
        return last is None or ts - last > self.gap_s


class Rdm6300Decoder:
    """Byte stream from an RDM6300 in, one :class:`CardRead` per card presentation out."""

    def __init__(self, gap_s: float = 1.0) -> None:
        self.stats = DecodeStats()
        self._buf = b""
        self._debounce = _Debounce(gap_s)

    def feed(self, data: bytes, host_ts: float) -> list[CardRead]:
        buf = self._buf + data
        out: list[CardRead] = []
        while True:
            start = buf.find(STX)
            if start < 0:
                self.stats.bytes_skipped += len(buf)
                buf = b""
                break
            self.stats.bytes_skipped += start
            buf = buf[start:]
            if len(buf) < 14:
                break
            frame, rest = buf[:14], buf[14:]
            body = frame[1:13]
            if frame[13] != ETX or not _HEX.match(body):
                self.stats.bad("framing")
                buf = buf[1:]
                continue
            data5 = bytes.fromhex(body[:10].decode())
            check = 0
            for b in data5:
                check ^= b
            if check != int(body[10:12], 16):
                self.stats.bad("checksum")
                buf = buf[1:]
                continue
            buf = rest
            self.stats.frames_ok += 1
            card = body[:10].decode().upper()
            if self._debounce.fresh(card, host_ts):
                out.append(CardRead(card, host_ts, "rdm6300"))
            else:
                self.stats.ignored += 1
        self._buf = buf
        self.stats.reads += len(out)
        return out


class LineScannerDecoder:
    """Barcode / magstripe scanner on serial: one code per terminated line."""

    def __init__(self, gap_s: float = 1.0) -> None:
        self.stats = DecodeStats()
        self._buf = b""
        self._debounce = _Debounce(gap_s)

    def feed(self, data: bytes, host_ts: float) -> list[CardRead]:
        buf = self._buf + data
        out: list[CardRead] = []
        parts = re.split(rb"\r\n|\r|\n|\t|\x03", buf)
        self._buf = parts.pop()  # the unterminated tail waits for more bytes
        for raw in parts:
            code = raw.strip(b"\x02 ").decode("ascii", errors="replace")
            if not code:
                continue
            read = self._parse(code, host_ts)
            if read is not None and self._debounce.fresh(read.card_number, host_ts):
                out.append(read)
            elif read is not None:
                self.stats.ignored += 1
        self.stats.reads += len(out)
        return out

    def _parse(self, code: str, host_ts: float) -> CardRead | None:
        if code.startswith(("%", ";")):
            m = _TRACK2.search(code)
            if m is None:
                self.stats.bad("magstripe_track2")
                return None
            self.stats.frames_ok += 1
            return CardRead(m.group(1), host_ts, "magstripe")
        if not code.isprintable() or "\ufffd" in code or code == "E":
            self.stats.bad("barcode")
            return None
        self.stats.frames_ok += 1
        return CardRead(code, host_ts, "barcode")
