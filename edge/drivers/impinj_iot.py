"""Impinj R700 "IoT Device Interface" events (MQTT, or the HTTP stream): a pure decoder.

One JSON object per event, or newline-delimited objects with CR-LF keep-alive lines. Only
``eventType == "tagInventory"`` carries reads; other event types are counted as ignored. Every
field is optional: the EPC comes from ``epcHex`` or from ``epc`` (base64, standard or URL-safe,
padding optional); RSSI from ``peakRssiCdbm`` (centi-dBm); the reader's clock from ``timestamp``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from edge.drivers.jsontime import parse_timestamp
from edge.reads import DecodeStats, TagRead

logger = logging.getLogger(__name__)

DEFAULT_RSSI_DBM = -70.0
_EPC_CACHE_MAX = 65_536
_new_read = tuple.__new__  # TagRead(...) without the keyword handling: the hot path's constructor
_raw_decode = json.JSONDecoder().raw_decode
_NOT_JSON = object()
_NUMBERS = (int, float)


def loads_line(line: bytes) -> Any:
    """``json.loads(line)`` for one stripped line, or ``_NOT_JSON`` where it raises. UTF-8 text
    that is one JSON value from its first byte to its last (what readers send) is read straight
    by the scanner; anything else goes through ``json.loads``, so the answer is always its."""
    try:
        doc, end = _raw_decode(line.decode())
        if end == len(line):  # ASCII: characters and bytes agree, nothing follows the value
            return doc
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        return json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def epc_from_event(event: dict[str, Any]) -> str | None:
    """The EPC as upper-case hex, from ``epcHex`` or a base64 ``epc``; None if absent/invalid."""
    hex_ = event.get("epcHex")
    if isinstance(hex_, str) and hex_:
        try:
            return bytes.fromhex(hex_).hex().upper()
        except ValueError:
            return None
    b64 = event.get("epc")
    if isinstance(b64, str) and b64:
        text = b64.strip().replace("-", "+").replace("_", "/")
        text += "=" * (-len(text) % 4)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.hex().upper() if raw else None
    return None


class ImpinjIotDecoder:
    """Implements :class:`edge.reads.MessageDecoder`."""

    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id
        self.stats = DecodeStats()
        self._epcs: dict[str, str | None] = {}  # epcHex as sent -> the EPC (None: not hex)

    def decode(self, payload: bytes, host_ts: float) -> list[TagRead]:
        reads: list[TagRead] = []
        append = reads.append
        make = _new_read
        epcs = self._epcs
        reader_id = self.reader_id
        fast = 0
        for line in payload.splitlines():
            line = line.strip()
            if not line:
                continue  # keep-alive
            doc = loads_line(line)
            if doc is _NOT_JSON:
                self.stats.bad("json")
                logger.debug("%s: not JSON: %r", self.reader_id, line[:80])
                continue
            # The hot path: a tag event of a tag seen before, with the fields a reader sends.
            # Anything else takes _one, which comes to the same read.
            if type(doc) is dict and doc.get("eventType") == "tagInventory":
                event = doc.get("tagInventoryEvent")
                if type(event) is dict:
                    hex_ = event.get("epcHex")
                    epc = epcs.get(hex_) if type(hex_) is str else None
                    antenna = event.get("antennaPort", 1)
                    rssi = event.get("peakRssiCdbm")
                    stamp = doc.get("timestamp")
                    if (
                        epc is not None
                        and type(antenna) is int
                        and antenna > 0
                        and type(rssi) is int
                        and type(stamp) is str
                    ):
                        append(
                            make(
                                TagRead,
                                (
                                    reader_id,
                                    antenna,
                                    epc,
                                    rssi / 100.0,
                                    host_ts,
                                    parse_timestamp(stamp),
                                ),
                            )
                        )
                        fast += 1
                        continue
            read = self._one(doc, host_ts)
            if read is not None:
                append(read)
        self.stats.frames_ok += fast
        self.stats.reads += len(reads)
        return reads

    def _epc(self, event: dict[str, Any]) -> str | None:
        """:func:`epc_from_event`, remembered per ``epcHex`` (a tag is read many times)."""
        hex_ = event.get("epcHex")
        if not isinstance(hex_, str) or not hex_:
            return epc_from_event(event)
        try:
            return self._epcs[hex_]
        except KeyError:
            if len(self._epcs) >= _EPC_CACHE_MAX:
                self._epcs.clear()
            epc = self._epcs[hex_] = epc_from_event(event)
            return epc

    def _one(self, doc: Any, host_ts: float) -> TagRead | None:
        if not isinstance(doc, dict):
            self.stats.bad("not_an_object")
            return None
        if doc.get("eventType") != "tagInventory":
            self.stats.ignored += 1
            return None
        event = doc.get("tagInventoryEvent")
        if not isinstance(event, dict):
            self.stats.bad("no_tag_event")
            return None
        epc = self._epc(event)
        if epc is None:
            self.stats.bad("no_epc")
            return None
        antenna = event.get("antennaPort", 1)
        rssi = event.get("peakRssiCdbm")
        stamp = doc.get("timestamp")
        reader_ts = parse_timestamp(stamp) if isinstance(stamp, str) else None
        self.stats.frames_ok += 1
        return _new_read(
            TagRead,
            (
                self.reader_id,
                antenna if isinstance(antenna, int) and antenna > 0 else 1,
                epc,
                rssi / 100.0 if isinstance(rssi, _NUMBERS) else DEFAULT_RSSI_DBM,
                host_ts,
                reader_ts,
            ),
        )
