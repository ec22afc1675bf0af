"""Simulator encoders against the byte examples of docs/protocols.md and vendors' field shapes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from firmware_sim.encoders import (
    epc_table,
    impinj_tag_event,
    impinj_tag_events,
    r2000_end_of_round,
    r2000_tag_frame,
    r2000_tag_frames,
    rdm6300_frame,
    rfc3339_nanos,
    zebra_tag_event,
)

AT = datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)


def test_r2000_tag_frame_is_the_protocols_md_example() -> None:
    frame = r2000_tag_frame(
        addr=1, antenna=1, epc_hex="E200301666130121155074EF", rssi_dbm=-60, freq_index=1
    )
    assert frame == bytes.fromhex("A0130189043000E200301666130121155074EF45BF")


def test_r2000_end_of_round_is_the_protocols_md_example() -> None:
    assert r2000_end_of_round(1, 1, 0x11, 5) == bytes.fromhex("A00A018900001100000005B6")


@pytest.mark.parametrize(
    ("epc_hex", "pc_and_len"),
    [("E200301666130121155074EF", (0x30, 0x13)), ("E2" * 16, (0x40, 0x17))],
)
def test_r2000_pc_and_length_follow_the_epc(epc_hex: str, pc_and_len: tuple[int, int]) -> None:
    frame = r2000_tag_frame(addr=0xFF, antenna=4, epc_hex=epc_hex, rssi_dbm=-200)
    assert (frame[5], frame[1]) == pc_and_len
    assert frame[2] == 0xFF and frame[4] & 3 == 3
    assert frame[-2] == 0  # RSSI clamped to one byte
    assert sum(frame) % 256 == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"antenna": 0, "epc_hex": "E200"},
        {"antenna": 5, "epc_hex": "E200"},
        {"antenna": 1, "epc_hex": "E2"},  # not whole 16-bit words
        {"antenna": 1, "epc_hex": "not hex"},
    ],
)
def test_r2000_tag_frame_rejects_what_a_reader_cannot_send(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        r2000_tag_frame(addr=1, rssi_dbm=-60, **kwargs)  # type: ignore[arg-type]


def test_rdm6300_frame_is_the_protocols_md_example() -> None:
    assert rdm6300_frame("14008ec793") == b"\x02" + b"14008EC793" + b"CE" + b"\x03"
    with pytest.raises(ValueError):
        rdm6300_frame("14008EC7")


def test_rfc3339_nanos_is_utc_with_nine_digits() -> None:
    plus_two = AT.astimezone(timezone(timedelta(hours=2)))
    assert rfc3339_nanos(plus_two) == "2026-11-02T10:00:00.123456000Z"


@pytest.mark.parametrize(
    ("use_base64", "url_safe", "epc_field"),
    [
        (False, False, None),
        (True, False, base64.b64encode(bytes.fromhex("FBFF00000000000000000001")).decode()),
        (True, True, base64.urlsafe_b64encode(bytes.fromhex("FBFF00000000000000000001")).decode()),
    ],
)
def test_impinj_tag_event_fields(use_base64: bool, url_safe: bool, epc_field: str | None) -> None:
    doc = json.loads(
        impinj_tag_event(
            hostname="impinj-13-5a-9c",
            epc_hex="FBFF00000000000000000001",
            antenna=2,
            rssi_dbm=-52.5,
            at=AT,
            use_base64=use_base64,
            url_safe=url_safe,
        )
    )
    assert doc["eventType"] == "tagInventory"
    assert doc["hostname"] == "impinj-13-5a-9c"
    assert doc["timestamp"] == "2026-11-02T10:00:00.123456000Z"
    event = doc["tagInventoryEvent"]
    assert event["antennaPort"] == 2 and event["peakRssiCdbm"] == -5250
    assert isinstance(event["frequency"], int) and isinstance(event["transmitPowerCdbm"], int)
    if epc_field is None:
        assert event["epcHex"] == "FBFF00000000000000000001"
    else:
        assert "epcHex" not in event
        assert event["epc"] == epc_field.rstrip("=") if url_safe else epc_field
        assert ("-" in event["epc"] or "_" in event["epc"]) == url_safe


def test_zebra_tag_event_fields() -> None:
    doc = json.loads(
        zebra_tag_event(epc_hex="3500079FF00000B00000000C", antenna=3, rssi_dbm=-61.4, at=AT)
    )
    assert doc["type"] == "SIMPLE"
    assert doc["timestamp"] == "2026-11-02T10:00:00.123+0000"
    data = doc["data"]
    assert (data["format"], data["idHex"], data["antenna"], data["peakRssi"]) == (
        "epc",
        "3500079ff00000b00000000c",
        3,
        -61,
    )


def _many_reads(n: int, seed: int = 3) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    epcs = [f"{int(rng.integers(0, 2**62)):024X}" for _ in range(30)]
    rows = rng.integers(0, len(epcs), n)
    antennas = rng.integers(1, 5, n)
    rssi = np.round(rng.uniform(-140, 0, n), 1)  # beyond what one byte holds, both ways
    rssi[:200] = np.arange(200) * 0.5 - 100  # halves: rounded to even, as round() does
    return epcs, rows, antennas, rssi


def test_r2000_tag_frames_are_the_frames_one_by_one() -> None:
    epcs, rows, antennas, rssi = _many_reads(5_000)
    frames = r2000_tag_frames(
        addr=1, antennas=antennas, epcs=epc_table(epcs), rows=rows, rssi_dbm=rssi
    )
    assert frames == b"".join(
        r2000_tag_frame(addr=1, antenna=int(a), epc_hex=epcs[r], rssi_dbm=float(s))
        for a, r, s in zip(antennas, rows, rssi, strict=True)
    )


def test_r2000_tag_frames_refuse_what_a_reader_cannot_send() -> None:
    table = epc_table(["E200301666130121155074EF"])
    with pytest.raises(ValueError, match="antennas are 1..4"):
        r2000_tag_frames(
            addr=1,
            antennas=np.array([1, 5]),
            epcs=table,
            rows=np.array([0, 0]),
            rssi_dbm=np.zeros(2),
        )
    with pytest.raises(ValueError, match="several lengths"):
        epc_table(["E200301666130121155074EF", "E200"])
    with pytest.raises(ValueError, match="16-bit words"):
        epc_table(["E2"])


@pytest.mark.parametrize("hostname", ["r700-1", 'odd "100%" name \u00e9'])
def test_impinj_tag_events_are_the_events_one_by_one(hostname: str) -> None:
    epcs, rows, antennas, rssi = _many_reads(5_000)
    rng = np.random.default_rng(4)
    at = 1_793_613_600.0 + np.sort(rng.uniform(0, 3 * 86_400, len(rows)))
    # instants that round up into the next second, and halves of a microsecond
    at[:100] = 1_793_613_600.0 + np.arange(100) + 0.9999996
    at[100:200] = 1_793_613_600.0 + np.arange(100) + (2 * np.arange(100) + 1) / 2e6
    events = impinj_tag_events(
        hostname=hostname, epcs_hex=epcs, rows=rows, antennas=antennas, rssi_dbm=rssi, at=at
    )
    assert events == [
        impinj_tag_event(
            hostname=hostname,
            epc_hex=epcs[r],
            antenna=int(a),
            rssi_dbm=float(s),
            at=datetime.fromtimestamp(float(t), tz=UTC),
        )
        for a, r, s, t in zip(antennas, rows, rssi, at, strict=True)
    ]
