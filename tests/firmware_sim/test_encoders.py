"""Simulator encoders against the byte examples of docs/protocols.md and vendors' field shapes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from firmware_sim.encoders import (
    impinj_tag_event,
    r2000_end_of_round,
    r2000_tag_frame,
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
