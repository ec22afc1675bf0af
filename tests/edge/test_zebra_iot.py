"""Zebra FX IoT Connector decoder: message shapes, quirks and resynchronising after garbage."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from edge.drivers.zebra_iot import ZebraIotDecoder, split_documents
from firmware_sim.encoders import zebra_tag_event

EPC = "3500079FF00000B00000000C"
AT = datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)
ONE = zebra_tag_event(epc_hex=EPC, antenna=2, rssi_dbm=-55, at=AT)


@pytest.mark.parametrize(
    ("text", "values", "bad"),
    [
        ('{"a":1}', [{"a": 1}], False),
        ('{"a":1}{"b":2}', [{"a": 1}, {"b": 2}], False),
        ('{"a":1}\n {"b":2}\r\n', [{"a": 1}, {"b": 2}], False),
        ('[{"a":1},{"b":2}]', [{"a": 1}, {"b": 2}], False),
        ('{"a":1}{"b":', [{"a": 1}], True),
        ('xx{"a":1}', [{"a": 1}], True),
        ("", [], False),
    ],
)
def test_split_documents(text: str, values: list[object], bad: bool) -> None:
    assert split_documents(text) == (values, bad)


@pytest.mark.parametrize("event_type", ["SIMPLE", "INVENTORY", "CUSTOM"])
def test_tag_event_types(event_type: str) -> None:
    doc = {
        "type": event_type,
        "timestamp": "2026-11-02T04:00:00.250-0600",
        "data": {"eventNum": 9, "format": "epc", "idHex": EPC.lower(), "antenna": 3},
    }
    (read,) = ZebraIotDecoder("Z1").decode(json.dumps(doc).encode(), 7.0)
    assert (read.reader_id, read.epc, read.antenna, read.rssi_dbm) == ("Z1", EPC, 3, -70.0)
    assert read.reader_ts == pytest.approx(1793613600.25)
    assert read.host_ts == 7.0


def test_truncated_object_then_a_good_one() -> None:
    dec = ZebraIotDecoder("Z1")
    reads = dec.decode(ONE[: len(ONE) // 2] + ONE, 1.0)
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in reads] == [(EPC, 2, -55.0)]
    assert dec.stats.frames_bad >= 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"type":"SIMPLE","data":{"antenna":1}}', "no_epc"),
        (b'{"type":"SIMPLE","data":{"idHex":"zz"}}', "no_epc"),
        (b'{"type":"SIMPLE"}', "not_a_tag_event"),
        (b"42", "not_a_tag_event"),
        (b"\xc3\x28", "encoding"),
    ],
)
def test_bad_events_are_counted(payload: bytes, reason: str) -> None:
    dec = ZebraIotDecoder("Z1")
    assert dec.decode(payload, 1.0) == []
    assert dec.stats.errors == {reason: 1}


def test_random_garbage_around_events_never_raises_and_keeps_them() -> None:
    rng = random.Random(99)
    alphabet = b'{}[]":,0123456789abcdefxyz \n'
    for _ in range(200):
        noise = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        dec = ZebraIotDecoder("Z1")
        reads = dec.decode(noise + ONE + ONE, 1.0)
        assert sum(r.epc == EPC for r in reads) >= 1
