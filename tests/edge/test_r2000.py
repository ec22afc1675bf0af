"""R2000 "0xA0" decoder: the docs/protocols.md examples, EPC lengths, splits, noise and garbage."""

from __future__ import annotations

import random

import pytest

from edge.drivers.r2000 import R2000Decoder, checksum, inventory_command, sums_to_zero
from firmware_sim.encoders import r2000_end_of_round, r2000_tag_frame

EXAMPLE = bytes.fromhex("A0130189043000E2003016661301211550 74EF45BF".replace(" ", ""))
END_OF_ROUND = bytes.fromhex("A00A01890000110000 0005B6".replace(" ", ""))
EPC96 = "E200301666130121155074EF"
EPC128 = "E2003016661301211550 74EF01020304".replace(" ", "")
MAX_FRAME = b"\xa0" + b"\xff" * 255 + bytes((checksum(b"\xa0" + b"\xff" * 255),))


def test_protocols_md_tag_report() -> None:
    dec = R2000Decoder("R1")
    (read,) = dec.feed(EXAMPLE, 10.0)
    assert (read.antenna, read.epc, read.rssi_dbm, read.host_ts) == (1, EPC96, -60.0, 10.0)
    assert read.reader_ts is None


def test_end_of_round_is_ignored_not_bad() -> None:
    dec = R2000Decoder("R1")
    assert dec.feed(END_OF_ROUND, 1.0) == []
    assert (dec.stats.ignored, dec.stats.frames_bad) == (1, 0)
    assert r2000_end_of_round(1, 0, 0x11, 5) == END_OF_ROUND


def test_inventory_command_and_checksum() -> None:
    assert inventory_command() == bytes.fromhex("A004018901D1")
    assert checksum(EXAMPLE[:-1]) == EXAMPLE[-1]


@pytest.mark.parametrize(
    "frame",
    [
        EXAMPLE,
        END_OF_ROUND,
        EXAMPLE[:-1],
        b"\xa0" + b"\xff" * 256,  # the largest byte sum a frame can have: 65,440
        MAX_FRAME,  # sums to 0 mod 256 at the maximum length
        *(random.Random(seed).randbytes(seed % 258) for seed in range(200)),
    ],
)
def test_checksum_rule_is_the_byte_sum(frame: bytes) -> None:
    """The decoder's fast checksum test agrees with the plain byte sum for every frame size."""
    assert sums_to_zero(frame) == (sum(frame) % 256 == 0)


@pytest.mark.parametrize(
    ("epc", "antenna"), [(EPC96, 1), (EPC128, 4), ("3500079FF00000B00000000C", 2)]
)
def test_encoder_round_trip(epc: str, antenna: int) -> None:
    frame = r2000_tag_frame(addr=1, antenna=antenna, epc_hex=epc, rssi_dbm=-71)
    (read,) = R2000Decoder("R1").feed(frame, 0.0)
    assert (read.epc, read.antenna, read.rssi_dbm) == (epc, antenna, -71.0)


def test_frames_split_at_every_byte_boundary() -> None:
    stream = (
        EXAMPLE + END_OF_ROUND + r2000_tag_frame(addr=1, antenna=3, epc_hex=EPC128, rssi_dbm=-50)
    )
    for cut in range(1, len(stream)):
        dec = R2000Decoder("R1")
        reads = dec.feed(stream[:cut], 1.0) + dec.feed(stream[cut:], 2.0)
        assert [r.epc for r in reads] == [EPC96, EPC128], cut
        assert dec.stats.frames_bad == 0


def test_bad_checksum_then_good_frame_keeps_the_good_one() -> None:
    bad = bytearray(EXAMPLE)
    bad[-1] ^= 0xFF
    dec = R2000Decoder("R1")
    reads = dec.feed(bytes(bad) + EXAMPLE, 1.0)
    assert [r.epc for r in reads] == [EPC96]
    assert dec.stats.frames_bad == 1


def test_truncated_frame_then_good_frame() -> None:
    dec = R2000Decoder("R1")
    reads = dec.feed(EXAMPLE[:9] + EXAMPLE, 1.0)
    assert [r.epc for r in reads] == [EPC96]
    assert dec.stats.frames_bad >= 1


def test_noise_between_frames_is_skipped_and_counted() -> None:
    dec = R2000Decoder("R1")
    reads = dec.feed(b"\x00\x13\xff" + EXAMPLE + b"\x55\xa0\x01" + EXAMPLE, 1.0)
    assert len(reads) == 2
    assert dec.stats.bytes_skipped >= 3


def test_random_garbage_never_raises_and_never_hides_a_good_frame() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        tail = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        dec = R2000Decoder("R1")
        data = garbage + EXAMPLE + tail
        reads = []
        pos = 0
        while pos < len(data):  # arbitrary read() sizes
            step = rng.randrange(1, 30)
            reads += dec.feed(data[pos : pos + step], 1.0)
            pos += step
        assert EPC96 in [r.epc for r in reads]
