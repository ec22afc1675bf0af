"""Zebra FX7500/FX9600 "IoT Connector" tag data events: a pure decoder.

``{"type": "SIMPLE"|"INVENTORY"|"CUSTOM", "timestamp": ..., "data": {"idHex", "antenna",
"peakRssi", ...}}``. Quirks handled: offsets without a colon (``+0000``), several objects
concatenated in one message with no delimiter (``}{``), or a JSON array of objects.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from edge.drivers.jsontime import parse_timestamp
from edge.reads import DecodeStats, TagRead

logger = logging.getLogger(__name__)

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def split_documents(text: str) -> tuple[list[Any], bool]:
    """Every JSON value in ``text`` (concatenated or arrays flattened); flag if garbage was met."""
    docs: list[Any] = []
    pos, n, bad = 0, len(text), False
    while pos < n:
        while pos < n and text[pos] in _WS:
            pos += 1
        if pos >= n:
            break
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except ValueError:
            bad = True
            nxt = text.find("{", pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        if isinstance(value, list):
            docs.extend(value)
        else:
            docs.append(value)
    return docs, bad


class ZebraIotDecoder:
    """Implements :class:`edge.reads.MessageDecoder`."""

    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id
        self.stats = DecodeStats()

    def decode(self, payload: bytes, host_ts: float) -> list[TagRead]:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            self.stats.bad("encoding")
            return []
        docs, bad = split_documents(text)
        if bad:
            self.stats.bad("json")
        reads = [r for d in docs if (r := self._one(d, host_ts)) is not None]
        self.stats.reads += len(reads)
        return reads

    def _one(self, doc: Any, host_ts: float) -> TagRead | None:
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            self.stats.bad("not_a_tag_event")
            return None
        if doc.get("type") not in ("SIMPLE", "INVENTORY", "CUSTOM"):
            self.stats.ignored += 1
            return None
        data = doc["data"]
        id_hex = data.get("idHex")
        try:
            epc = bytes.fromhex(id_hex).hex().upper() if isinstance(id_hex, str) else ""
        except ValueError:
            epc = ""
        if not epc:
            self.stats.bad("no_epc")
            return None
        antenna = data.get("antenna", 1)
        rssi = data.get("peakRssi")
        stamp = doc.get("timestamp")
        self.stats.frames_ok += 1
        return TagRead(
            self.reader_id,
            antenna if isinstance(antenna, int) and antenna > 0 else 1,
            epc,
            float(rssi) if isinstance(rssi, int | float) else -70.0,
            host_ts,
            parse_timestamp(stamp) if isinstance(stamp, str) else None,
        )
