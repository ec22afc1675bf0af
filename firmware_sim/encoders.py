"""What real readers put on the wire, byte for byte (the simulator's side of docs/protocols.md).

Pure functions: a read in, the bytes or JSON a real device would send out. The edge's decoders are
tested against these and against the vendor documentation's own examples.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

R2000_HEADER = 0xA0
R2000_CMD_INVENTORY = 0x89
RSSI_OFFSET_DBM = 129

GID_MANAGER = 31231  # the demo chain's GS1 general manager number (storeflow.epc encodes)


def _check(body: bytes) -> int:
    return -sum(body) & 0xFF


def r2000_tag_frame(
    *, addr: int, antenna: int, epc_hex: str, rssi_dbm: float, freq_index: int = 0
) -> bytes:
    """A real-time inventory tag report: ``A0 Len Addr 89 FreqAnt PC(2) EPC RSSI Check``."""
    epc = bytes.fromhex(epc_hex)
    if len(epc) % 2 or not 2 <= len(epc) <= 62:
        raise ValueError(f"EPC must be a whole number of 16-bit words, got {len(epc)} bytes")
    if not 1 <= antenna <= 4:
        raise ValueError(f"R2000 antennas are 1..4, got {antenna}")
    pc = (len(epc) // 2) << 11
    raw_rssi = max(0, min(255, round(rssi_dbm) + RSSI_OFFSET_DBM))
    freq_ant = ((freq_index & 0x3F) << 2) | (antenna - 1)
    body = (
        bytes((R2000_HEADER, len(epc) + 7, addr, R2000_CMD_INVENTORY, freq_ant))
        + pc.to_bytes(2, "big")
        + epc
        + bytes((raw_rssi,))
    )
    return body + bytes((_check(body),))


def r2000_end_of_round(addr: int, antenna: int, rate: int, total: int) -> bytes:
    """End of an inventory round: ``A0 0A Addr 89 Ant Rate(2) Total(4) Check``."""
    body = (
        bytes((R2000_HEADER, 0x0A, addr, R2000_CMD_INVENTORY, antenna - 1 if antenna else 0))
        + rate.to_bytes(2, "big")
        + total.to_bytes(4, "big")
    )
    return body + bytes((_check(body),))


def rfc3339_nanos(at: datetime) -> str:
    """``2026-11-02T10:00:00.123456789Z``: nanosecond precision, as the R700 sends it."""
    at = at.astimezone(UTC)
    nanos = at.microsecond * 1000
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def impinj_tag_event(
    *,
    hostname: str,
    epc_hex: str,
    antenna: int,
    rssi_dbm: float,
    at: datetime,
    use_base64: bool = False,
    url_safe: bool = False,
) -> bytes:
    """One Impinj R700 IoT Device Interface ``tagInventory`` event as JSON bytes."""
    event: dict[str, object] = {
        "antennaPort": antenna,
        "antennaName": f"Antenna {antenna}",
        "peakRssiCdbm": round(rssi_dbm * 100),
        "frequency": 920_625,
        "transmitPowerCdbm": 3000,
        "lastSeenTime": rfc3339_nanos(at),
    }
    if use_base64:
        raw = bytes.fromhex(epc_hex)
        enc = base64.urlsafe_b64encode(raw) if url_safe else base64.b64encode(raw)
        event["epc"] = enc.decode().rstrip("=") if url_safe else enc.decode()
    else:
        event["epcHex"] = epc_hex
    doc = {
        "timestamp": rfc3339_nanos(at),
        "hostname": hostname,
        "eventType": "tagInventory",
        "tagInventoryEvent": event,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def zebra_tag_event(
    *, epc_hex: str, antenna: int, rssi_dbm: float, at: datetime, event_num: int = 0
) -> bytes:
    """One Zebra FX IoT Connector ``SIMPLE`` event, with the colon-less offset the FX sends."""
    at = at.astimezone(UTC)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    doc = {
        "type": "SIMPLE",
        "timestamp": stamp,
        "data": {
            "eventNum": event_num,
            "format": "epc",
            "idHex": epc_hex.lower(),
            "antenna": antenna,
            "peakRssi": round(rssi_dbm),
            "reads": 1,
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def rdm6300_frame(card_number_hex10: str) -> bytes:
    """An RDM6300 125 kHz frame: ``02 | 10 hex chars | 2 hex chars XOR checksum | 03``."""
    card = card_number_hex10.upper()
    data = bytes.fromhex(card)
    if len(data) != 5:
        raise ValueError(f"an EM4100 number is 10 hex characters, got {card_number_hex10!r}")
    check = 0
    for b in data:
        check ^= b
    return b"\x02" + card.encode() + f"{check:02X}".encode() + b"\x03"
