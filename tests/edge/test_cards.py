"""Till card readers: RDM6300 framing and repeats, line scanners, garbage on the line."""

from __future__ import annotations

import random

from edge.drivers.cards import LineScannerDecoder, Rdm6300Decoder
from firmware_sim.encoders import rdm6300_frame

CARD = "14008EC793"


def test_rdm6300_every_split_point() -> None:
    stream = rdm6300_frame(CARD) + rdm6300_frame("0A0B0C0D0E")
    for cut in range(1, len(stream)):
        dec = Rdm6300Decoder()
        reads = dec.feed(stream[:cut], 1.0) + dec.feed(stream[cut:], 1.0)
        assert [r.card_number for r in reads] == [CARD, "0A0B0C0D0E"], cut


def test_rdm6300_lower_case_hex_and_bad_framing() -> None:
    dec = Rdm6300Decoder()
    lower = b"\x02" + CARD.lower().encode() + b"ce\x03"
    no_etx = rdm6300_frame("0A0B0C0D0E")[:-1] + b"\x00"
    (read,) = dec.feed(no_etx + lower, 1.0)
    assert read.card_number == CARD
    assert dec.stats.errors == {"framing": 1}


def test_rdm6300_two_cards_alternating_each_count_once_per_presentation() -> None:
    dec = Rdm6300Decoder(gap_s=0.5)
    other = "0A0B0C0D0E"
    reads = []
    for i in range(10):
        reads += dec.feed(rdm6300_frame(CARD) + rdm6300_frame(other), 1.0 + i * 0.1)
    assert sorted(r.card_number for r in reads) == sorted([CARD, other])
    assert dec.stats.ignored == 18


def test_rdm6300_garbage_fuzz_keeps_the_card() -> None:
    rng = random.Random(5)
    for _ in range(300):
        dec = Rdm6300Decoder()
        data = rng.randbytes(rng.randrange(0, 40)) + rdm6300_frame(CARD) + rng.randbytes(20)
        reads = []
        for pos in range(0, len(data), 5):
            reads += dec.feed(data[pos : pos + 5], 1.0)
        assert CARD in [r.card_number for r in reads]


def test_line_scanner_repeat_within_gap_counts_once() -> None:
    dec = LineScannerDecoder(gap_s=1.0)
    reads = dec.feed(b"600123\r", 1.0) + dec.feed(b"600123\r", 1.5) + dec.feed(b"600123\r", 3.0)
    assert [r.host_ts for r in reads] == [1.0, 3.0]
    assert dec.stats.ignored == 1


def test_magstripe_bad_tracks_are_counted() -> None:
    dec = LineScannerDecoder()
    assert dec.feed(b"%E?;E?\r%B6001^A/B^2512?\r", 1.0) == []
    assert dec.stats.frames_bad == 2
    (read,) = dec.feed(b"%E?;6001234567890=2512101?\r", 2.0)
    assert (read.card_number, read.scanner) == ("6001234567890", "magstripe")


def test_line_scanner_split_lines_and_crlf() -> None:
    dec = LineScannerDecoder()
    reads = dec.feed(b"1234", 1.0) + dec.feed(b"5\r", 1.0) + dec.feed(b"\n777\t", 1.0)
    assert [r.card_number for r in reads] == ["12345", "777"]
