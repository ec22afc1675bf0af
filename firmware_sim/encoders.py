"""What real readers put on the wire, byte for byte (the simulator's side of docs/protocols.md).

Pure functions: a read in, the bytes or JSON a real device would send out. The edge's decoders are
tested against these and against the vendor documentation's own examples.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

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


def epc_table(epcs_hex: Sequence[str]) -> np.ndarray:
    """The EPCs as rows of bytes, for :func:`r2000_tag_frames`: all must be one length, a whole
    number of 16-bit words (2..62 bytes)."""
    raw = [bytes.fromhex(e) for e in epcs_hex]
    sizes = {len(e) for e in raw}
    if len(sizes) > 1:
        raise ValueError(f"EPCs of several lengths in one table: {sorted(sizes)} bytes")
    size = sizes.pop() if sizes else 12
    if size % 2 or not 2 <= size <= 62:
        raise ValueError(f"EPC must be a whole number of 16-bit words, got {size} bytes")
    return np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), size)


def r2000_tag_frames(
    *,
    addr: int,
    antennas: np.ndarray,
    epcs: np.ndarray,
    rows: np.ndarray,
    rssi_dbm: np.ndarray,
    freq_index: int = 0,
) -> bytes:
    """The frames :func:`r2000_tag_frame` makes for many reads, back to back, byte for byte:
    read ``i`` has antenna ``antennas[i]``, the EPC in row ``rows[i]`` of ``epcs``
    (:func:`epc_table`) and RSSI ``rssi_dbm[i]``. Each frame is ``epcs.shape[1] + 9`` bytes."""
    ant = np.asarray(antennas, dtype=np.int64)
    if len(ant) and (ant.min() < 1 or ant.max() > 4):
        raise ValueError(f"R2000 antennas are 1..4, got {sorted(set(ant.tolist()) - {1, 2, 3, 4})}")
    size = epcs.shape[1]
    n = len(ant)
    frames = np.empty((n, size + 9), dtype=np.uint8)
    frames[:, 0] = R2000_HEADER
    frames[:, 1] = size + 7
    frames[:, 2] = addr
    frames[:, 3] = R2000_CMD_INVENTORY
    frames[:, 4] = ((freq_index & 0x3F) << 2) | (ant - 1)
    pc = (size // 2) << 11
    frames[:, 5] = pc >> 8
    frames[:, 6] = pc & 0xFF
    frames[:, 7 : 7 + size] = epcs[rows]
    raw = np.clip(np.round(np.asarray(rssi_dbm, dtype=np.float64)) + RSSI_OFFSET_DBM, 0, 255)
    frames[:, size + 7] = raw.astype(np.uint8)
    frames[:, size + 8] = (-frames[:, : size + 8].sum(axis=1, dtype=np.int64)) & 0xFF
    return frames.tobytes()


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


def impinj_tag_events(
    *,
    hostname: str,
    epcs_hex: Sequence[str],
    rows: np.ndarray,
    antennas: np.ndarray,
    rssi_dbm: np.ndarray,
    at: np.ndarray,
) -> list[bytes]:
    """The events :func:`impinj_tag_event` makes (``epcHex``) for many reads, byte for byte:
    read ``i`` has the EPC ``epcs_hex[rows[i]]``, antenna ``antennas[i]``, RSSI ``rssi_dbm[i]``
    and the reader's time ``at[i]`` (epoch seconds)."""
    epc_json = {int(r): json.dumps(epcs_hex[r]) for r in np.unique(rows).tolist()}
    cdbm = np.round(np.asarray(rssi_dbm, dtype=np.float64) * 100).astype(np.int64)
    seconds, nanos = _epoch_to_utc_parts(np.asarray(at, dtype=np.float64))
    host = json.dumps(hostname)
    middle = ',"frequency":920625,"transmitPowerCdbm":3000,"lastSeenTime":"'
    heads: dict[int, str] = {}
    seconds_text: dict[int, str] = {}
    out: list[bytes] = []
    append = out.append
    for sec, ns, row, ant, level in zip(
        seconds.tolist(),
        nanos.tolist(),
        rows.tolist(),
        antennas.tolist(),
        cdbm.tolist(),
        strict=True,
    ):
        prefix = seconds_text.get(sec)
        if prefix is None:
            prefix = seconds_text[sec] = datetime.fromtimestamp(sec, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S."
            )
        ant_head = heads.get(ant)
        if ant_head is None:  # the event between its time stamp and its RSSI
            ant_head = heads[ant] = (
                f'Z","hostname":{host},"eventType":"tagInventory","tagInventoryEvent":'
                f'{{"antennaPort":{ant},"antennaName":"Antenna {ant}","peakRssiCdbm":'
            )
        stamp = f"{prefix}{ns:09d}"
        append(
            f'{{"timestamp":"{stamp}{ant_head}{level}{middle}{stamp}Z","epcHex":'
            f"{epc_json[row]}}}}}".encode()
        )
    return out


def _epoch_to_utc_parts(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole seconds and nanoseconds of ``datetime.fromtimestamp(t, UTC)``: rounded to the
    microsecond, half to even, as CPython rounds it."""
    whole = np.trunc(t)
    micros = np.round((t - whole) * 1e6)
    carry = micros >= 1e6
    borrow = micros < 0
    micros = np.where(carry, micros - 1e6, np.where(borrow, micros + 1e6, micros))
    whole = whole + carry - borrow
    return whole.astype(np.int64), micros.astype(np.int64) * 1000


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
