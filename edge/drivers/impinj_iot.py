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

    def decode(self, payload: bytes, host_ts: float) -> list[TagRead]:
        reads: list[TagRead] = []
        for line in payload.splitlines():
            line = line.strip()
            if not line:
                continue  # keep-alive
            try:
                doc = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                self.stats.bad("json")
                logger.debug("%s: not JSON: %r", self.reader_id, line[:80])
                continue
            read = self._one(doc, host_ts)
            if read is not None:
                reads.append(read)
        self.stats.reads += len(reads)
        return reads

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
        epc = epc_from_event(event)
        if epc is None:
            self.stats.bad("no_epc")
            return None
        antenna = event.get("antennaPort", 1)
        rssi = event.get("peakRssiCdbm")
        stamp = doc.get("timestamp")
        reader_ts = parse_timestamp(stamp) if isinstance(stamp, str) else None
        self.stats.frames_ok += 1
        return TagRead(
            self.reader_id,
            antenna if isinstance(antenna, int) and antenna > 0 else 1,
            epc,
            rssi / 100.0 if isinstance(rssi, int | float) else DEFAULT_RSSI_DBM,
            host_ts,
            reader_ts,
        )
