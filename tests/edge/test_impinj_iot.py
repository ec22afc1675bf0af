"""Impinj R700 IoT Device Interface decoder: field fallbacks, stream framing, garbage."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from edge.drivers.impinj_iot import ImpinjIotDecoder, epc_from_event
from firmware_sim.encoders import impinj_tag_event

EPC = "3500079FF00000B00000000C"
AT = datetime(2026, 11, 2, 10, 0, 0, 500000, tzinfo=UTC)


def _event(**tag: object) -> bytes:
    doc = {"timestamp": "2026-11-02T10:00:00.5Z", "eventType": "tagInventory"}
    return json.dumps({**doc, "tagInventoryEvent": tag}).encode()


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"epcHex": EPC.lower()}, EPC),
        ({"epcHex": "", "epc": "NQAHn/AAALAAAAAM"}, EPC),
        ({"epc": "NQAHn/AAALAAAAAM"}, EPC),
        ({"epc": "4gAwFmYTASEVUHTv"}, "E200301666130121155074EF"),
        ({"epc": "4gA"}, "E200"),  # padding left off
        ({"epc": "not base64!"}, None),
        ({"epc": ""}, None),
        ({"epcHex": 12}, None),
        ({}, None),
    ],
)
def test_epc_from_event(event: dict[str, object], expected: str | None) -> None:
    assert epc_from_event(event) == expected


@pytest.mark.parametrize(
    ("tag", "antenna", "rssi"),
    [
        ({"epcHex": EPC, "antennaPort": 4, "peakRssiCdbm": -5525}, 4, -55.25),
        ({"epcHex": EPC}, 1, -70.0),
        ({"epcHex": EPC, "antennaPort": True, "peakRssiCdbm": "loud"}, 1, -70.0),
        ({"epcHex": EPC, "antennaPort": 0}, 1, -70.0),
    ],
)
def test_optional_fields_have_defaults(tag: dict[str, object], antenna: int, rssi: float) -> None:
    (read,) = ImpinjIotDecoder("R7").decode(_event(**tag), 3.0)
    assert (read.reader_id, read.antenna, read.rssi_dbm, read.host_ts) == ("R7", antenna, rssi, 3.0)
    assert read.reader_ts == pytest.approx(1793613600.5)


def test_http_stream_with_keep_alives_and_a_bad_line_between_good_ones() -> None:
    one = impinj_tag_event(hostname="r700", epc_hex=EPC, antenna=2, rssi_dbm=-60, at=AT)
    payload = b"\r\n" + one + b"\r\n\r\n" + b'{"eventType": "tagInv' + b"\r\n" + one + b"\n"
    dec = ImpinjIotDecoder("R7")
    reads = dec.decode(payload, 1.0)
    assert [(r.epc, r.antenna) for r in reads] == [(EPC, 2), (EPC, 2)]
    assert (dec.stats.reads, dec.stats.frames_ok, dec.stats.errors) == (2, 2, {"json": 1})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[1, 2]", "not_an_object"),
        (b'{"eventType": "tagInventory"}', "no_tag_event"),
        (b'{"eventType": "tagInventory", "tagInventoryEvent": {"antennaPort": 1}}', "no_epc"),
        (b"\xff\xfe{}", "json"),
    ],
)
def test_bad_payloads_are_counted_by_reason(payload: bytes, reason: str) -> None:
    dec = ImpinjIotDecoder("R7")
    assert dec.decode(payload, 1.0) == []
    assert dec.stats.errors == {reason: 1}


def test_other_event_types_are_ignored_and_a_bad_timestamp_keeps_the_read() -> None:
    dec = ImpinjIotDecoder("R7")
    ignored = b'{"eventType": "inventoryStatus", "inventoryStatusEvent": {"status": "running"}}'
    assert dec.decode(ignored, 1.0) == []
    payload = json.dumps(
        {"timestamp": "yesterday", "eventType": "tagInventory", "tagInventoryEvent": {"epc": "4gA"}}
    )
    (read,) = dec.decode(payload.encode(), 1.0)
    assert read.reader_ts is None
    assert (dec.stats.ignored, dec.stats.frames_bad) == (1, 0)


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    dec = ImpinjIotDecoder("R7")
    good = impinj_tag_event(hostname="r700", epc_hex=EPC, antenna=1, rssi_dbm=-60, at=AT)
    for _ in range(200):
        noise = rng.randbytes(rng.randrange(0, 60))
        reads = dec.decode(noise + b"\n" + good + b"\n" + noise, 1.0)
        assert EPC in [r.epc for r in reads]


@pytest.mark.parametrize(
    "line",
    [
        b'{"a": 1}',
        b"[1, 2]",
        b'"\xc3\xa9t\xc3\xa9"',  # UTF-8 beyond ASCII
        b'{"a": 1} x',
        b'{"a": 1}{"b": 2}',
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
        b"\xff\xfe{\x00}\x00",  # UTF-16 with its mark
        b"\xff\xfe{}",
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate
        b"nul",
        b"1\x0b",
    ],
)
def test_loads_line_answers_as_json_loads(line: bytes) -> None:
    from edge.drivers.impinj_iot import _NOT_JSON, loads_line

    try:
        expected = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        expected = _NOT_JSON
    assert loads_line(line) == expected


def test_the_epc_of_a_tag_read_again_is_the_same() -> None:
    dec = ImpinjIotDecoder("R7")
    twice = _event(epcHex=EPC.lower()) + b"\n" + _event(epcHex=EPC.lower())
    bad = _event(epcHex="not hex")
    assert [r.epc for r in dec.decode(twice, 1.0)] == [EPC, EPC]
    assert dec.decode(bad + b"\n" + bad, 1.0) == []
    assert dec.stats.errors == {"no_epc": 2}


@pytest.mark.parametrize(
    "tag",
    [
        {"epcHex": EPC, "antennaPort": 4, "peakRssiCdbm": -5525},
        {"epcHex": EPC},
        {"epcHex": EPC, "antennaPort": True, "peakRssiCdbm": "loud"},
        {"epcHex": EPC, "antennaPort": 0, "peakRssiCdbm": -55.5},
        {"epcHex": EPC, "antennaPort": 2, "peakRssiCdbm": False},
        {"epcHex": EPC.lower(), "antennaPort": 2, "peakRssiCdbm": -6000},
    ],
)
def test_a_tag_seen_before_decodes_as_the_first_time(tag: dict[str, object]) -> None:
    """The first event of a tag takes the general path, later ones the shortcut for known tags:
    both come to the same read and the same counts."""
    for stamp in ("2026-11-02T10:00:00.5Z", "2026-11-02T10:00:00.500000000Z", 5):
        doc = {"timestamp": stamp, "eventType": "tagInventory", "tagInventoryEvent": tag}
        dec = ImpinjIotDecoder("R7")
        first = dec.decode(json.dumps(doc).encode(), 3.0)
        again = dec.decode(json.dumps(doc).encode(), 3.0)
        assert again == first and len(first) == 1
        assert [type(v) for v in again[0]] == [type(v) for v in first[0]]
        assert (dec.stats.reads, dec.stats.frames_ok, dec.stats.errors) == (2, 2, {})
