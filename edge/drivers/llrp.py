"""LLRP (EPCglobal Low Level Reader Protocol) tag reports to :class:`TagRead`: a pure converter.

Fixed readers in LLRP mode (Impinj Speedway/R-series, Zebra FX) send ``RO_ACCESS_REPORT``
messages, each with zero or more ``TagReportData`` parameters. sllurp decodes the bytes into one
dict per ``TagReportData``; :func:`tag_reads` turns those into reads:

* EPC: ``EPC-96`` (TV, 96-bit EPCs) or ``EPCData`` (TLV, any length); sllurp gives both as
  lower-case hex bytes under ``EPC``. Upper-cased here.
* Antenna: ``AntennaID`` (1-based). A report without it cannot be placed in a zone: counted as
  bad, not guessed.
* RSSI: ``ImpinjPeakRSSI`` (centi-dBm, Impinj extension) when present, else ``PeakRSSI`` (signed
  byte, whole dBm).
* Reader time: ``FirstSeenTimestampUTC`` (microseconds since the epoch on the reader's clock),
  else ``LastSeenTimestampUTC``. Readers that only report uptime timestamps give no reader time:
  the host receive time is used instead.

:class:`LlrpDecoder` is the same conversion starting from message bytes (one or more whole LLRP
messages), for replays and byte-fixture tests; messages other than ``RO_ACCESS_REPORT`` are
counted as ignored.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from sllurp.llrp import LLRPMessage
from sllurp.llrp_proto import LLRPError

from edge.reads import DecodeStats, TagRead

logger = logging.getLogger(__name__)

LLRP_PORT = 5084
_HEADER = struct.Struct("!HII")
_MAX_EPC_HEX = 124  # 496 bits: the largest EPC a Gen2 tag can carry


def epc_hex(value: object) -> str | None:
    """sllurp's EPC (hex as bytes or str) as upper-case hex; None when absent or not hex."""
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or not value or len(value) > _MAX_EPC_HEX:
        return None
    try:
        return bytes.fromhex(value).hex().upper()
    except ValueError:
        return None


def rssi_dbm(tag: Mapping[str, Any]) -> float | None:
    impinj = tag.get("ImpinjPeakRSSI")
    if isinstance(impinj, int):
        return impinj / 100.0
    peak = tag.get("PeakRSSI")
    if isinstance(peak, int):
        return float(peak)
    return None


def reader_time(tag: Mapping[str, Any]) -> float | None:
    """Reader-clock epoch seconds from First- (else Last-) SeenTimestampUTC; None if absent."""
    for key in ("FirstSeenTimestampUTC", "LastSeenTimestampUTC"):
        micros = tag.get(key)
        if isinstance(micros, int) and micros > 0:
            return micros / 1e6
    return None


def tag_reads(
    tags: Iterable[Mapping[str, Any]],
    *,
    reader_id: str,
    host_ts: float,
    stats: DecodeStats,
    default_rssi_dbm: float = -70.0,
) -> list[TagRead]:
    """sllurp's decoded ``TagReportData`` dicts -> reads (bad ones counted in ``stats``)."""
    reads: list[TagRead] = []
    for tag in tags:
        epc = epc_hex(tag.get("EPC", tag.get("EPC-96")))
        if epc is None:
            stats.bad("no_epc")
            continue
        antenna = tag.get("AntennaID")
        if not isinstance(antenna, int) or antenna < 1:
            stats.bad("no_antenna")
            continue
        rssi = rssi_dbm(tag)
        reads.append(
            TagRead(
                reader_id,
                antenna,
                epc,
                default_rssi_dbm if rssi is None else rssi,
                host_ts,
                reader_time(tag),
            )
        )
    stats.reads += len(reads)
    return reads


class LlrpDecoder:
    """Whole LLRP messages (bytes) in, reads out. Implements :class:`edge.reads.MessageDecoder`."""

    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id
        self.stats = DecodeStats()

    def decode(self, payload: bytes, host_ts: float) -> list[TagRead]:
        reads: list[TagRead] = []
        pos = 0
        while pos < len(payload):
            if len(payload) - pos < _HEADER.size:
                self.stats.bad("truncated")
                break
            _, length, _ = _HEADER.unpack_from(payload, pos)
            if length < _HEADER.size or pos + length > len(payload):
                self.stats.bad("length")
                break
            reads += self._message(payload[pos : pos + length], host_ts)
            pos += length
        return reads

    def _message(self, data: bytes, host_ts: float) -> list[TagRead]:
        try:
            msg = LLRPMessage(msgbytes=data)
        except (LLRPError, KeyError, ValueError, IndexError, struct.error) as exc:
            self.stats.bad("undecodable")
            logger.debug("%s: cannot decode LLRP message %s: %s", self.reader_id, data[:16], exc)
            return []
        name = msg.getName()
        if name != "RO_ACCESS_REPORT":
            self.stats.ignored += 1
            return []
        self.stats.frames_ok += 1
        body = msg.msgdict[name]
        return tag_reads(
            body.get("TagReportData", []),
            reader_id=self.reader_id,
            host_ts=host_ts,
            stats=self.stats,
        )
