"""Impinj IoT Device Interface and Zebra IoT Connector decoders, with the vendors' quirks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from edge.drivers.impinj_iot import ImpinjIotDecoder
from edge.drivers.jsontime import parse_timestamp
from edge.drivers.registry import message_decoder, stream_decoder
from edge.drivers.zebra_iot import ZebraIotDecoder
from firmware_sim.encoders import impinj_tag_event, zebra_tag_event

EPC = "3500079FF00000B00000000C"
AT = datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T10:00:00Z", 1793613600.0),
        ("2026-11-02T10:00:00.123456789Z", 1793613600.123456789),
        ("2026-11-02T11:00:00.5+01:00", 1793613600.5),
        ("2026-11-02T04:00:00.000-0600", 1793613600.0),
        ("2026-11-02T10:00:00+0000", 1793613600.0),
        ("not a time", None),
        ("2026-11-02T10:00:00", None),  # no offset: refuse to guess
    ],
)
def test_timestamps(text: str, expected: float | None) -> None:
    got = parse_timestamp(text)
    assert got == pytest.approx(expected, abs=1e-6) if expected is not None else got is None


@pytest.mark.parametrize(("b64", "url_safe"), [(False, False), (True, False), (True, True)])
def test_impinj_epc_hex_or_base64(b64: bool, url_safe: bool) -> None:
    payload = impinj_tag_event(
        hostname="r700",
        epc_hex=EPC,
        antenna=3,
        rssi_dbm=-61.5,
        at=AT,
        use_base64=b64,
        url_safe=url_safe,
    )
    (read,) = ImpinjIotDecoder("R3").decode(payload, 5.0)
    assert (read.epc, read.antenna, read.rssi_dbm) == (EPC, 3, -61.5)
    assert read.reader_ts == pytest.approx(AT.timestamp(), abs=1e-6)


def test_impinj_every_field_optional_other_events_ignored_stream_lines() -> None:
    raw = base64.urlsafe_b64encode(bytes.fromhex(EPC)).decode().rstrip("=")
    lines = [
        json.dumps({"eventType": "tagInventory", "tagInventoryEvent": {"epc": raw}}),
        "",  # keep-alive
        json.dumps({"eventType": "antennaConnected", "antennaConnectedEvent": {}}),
        "{broken",
        json.dumps({"eventType": "tagInventory", "tagInventoryEvent": {"antennaPort": 2}}),
    ]
    dec = ImpinjIotDecoder("R3")
    (read,) = dec.decode("\r\n".join(lines).encode(), 1.0)
    assert (read.epc, read.antenna, read.rssi_dbm, read.reader_ts) == (EPC, 1, -70.0, None)
    assert dec.stats.ignored == 1
    assert dec.stats.errors == {"json": 1, "no_epc": 1}


def test_zebra_concatenated_objects_arrays_and_colonless_offsets() -> None:
    one = zebra_tag_event(epc_hex=EPC, antenna=2, rssi_dbm=-55, at=AT)
    assert b"+0000" in one
    payload = one + one + b"[" + one + b"," + one + b"]"
    dec = ZebraIotDecoder("Z1")
    reads = dec.decode(payload, 1.0)
    assert len(reads) == 4
    assert {(r.epc, r.antenna, r.rssi_dbm) for r in reads} == {(EPC, 2, -55.0)}
    assert reads[0].reader_ts == pytest.approx(round(AT.timestamp(), 3), abs=1e-3)


def test_zebra_garbage_is_counted_and_good_objects_kept() -> None:
    one = zebra_tag_event(epc_hex=EPC, antenna=1, rssi_dbm=-60, at=AT)
    dec = ZebraIotDecoder("Z1")
    reads = dec.decode(b"xx{oops" + one + b'{"type":"HEARTBEAT","data":{}}', 1.0)
    assert len(reads) == 1
    assert dec.stats.frames_bad >= 1 and dec.stats.ignored == 1


def test_registry_names_known_protocols() -> None:
    assert stream_decoder("r2000", "R1").stats.reads == 0
    assert message_decoder("zebra_iot", "Z").stats.reads == 0
    with pytest.raises(ValueError, match="known"):
        message_decoder("nonsense", "X")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02T10:00:00.123456789Z",
        "2026-11-02T10:00:00.000000000Z",
        "1970-01-01T00:00:00.000000001Z",
        "2026-11-02T23:59:59.999999999Z",
        "2026-13-02T10:00:00.123456789Z",  # no 13th month
        "2026-11-02 10:00:00.123456789Z",  # a space for the T: fromisoformat takes it
        "2026-11-02T10:00:00.12345678xZ",
        "2026-11-02T10:00:00.1234567٣9Z",  # a non-ASCII digit
        "2026-11-02T10:00:00,123456789Z",
        " 026-11-02T10:00:00.123456789Z",
        "2026-11-02T10:00:00.123456789z",
    ],
)
def test_the_r700_stamp_shortcut_gives_the_general_answer(text: str) -> None:
    from edge.drivers.jsontime import _parse

    assert parse_timestamp(text) == _parse(text)
    assert parse_timestamp(text) == _parse(text)  # the second time from the remembered second
