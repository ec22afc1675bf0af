"""Till card readers (RDM6300, barcode, magstripe); EPC identity is tested in tests/test_epc.py."""

from __future__ import annotations

import pytest

from edge.drivers.cards import LineScannerDecoder, Rdm6300Decoder
from firmware_sim.encoders import rdm6300_frame

FRAME = b"\x02" + b"14008EC793" + b"CE" + b"\x03"


def test_rdm6300_protocols_md_example() -> None:
    assert rdm6300_frame("14008EC793") == FRAME
    (read,) = Rdm6300Decoder().feed(FRAME, 1.0)
    assert (read.card_number, read.scanner) == ("14008EC793", "rdm6300")


def test_rdm6300_one_presentation_counts_once() -> None:
    dec = Rdm6300Decoder(gap_s=1.0)
    reads = []
    for i in range(20):  # the reader repeats the frame every 100 ms while the card lies there
        reads += dec.feed(FRAME, 10.0 + i * 0.1)
    reads += dec.feed(FRAME, 14.0)  # taken away and presented again
    assert [r.host_ts for r in reads] == [10.0, 14.0]


def test_rdm6300_bad_checksum_and_split_frames() -> None:
    dec = Rdm6300Decoder()
    bad = b"\x02" + b"14008EC793" + b"00" + b"\x03"
    other = rdm6300_frame("0A0B0C0D0E")
    reads = dec.feed(b"\xff" + bad + other[:7], 1.0) + dec.feed(other[7:], 1.1)
    assert [r.card_number for r in reads] == ["0A0B0C0D0E"]
    assert dec.stats.errors == {"checksum": 1}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"600123456789\r", [("600123456789", "barcode")]),
        (b"600123456789\n", [("600123456789", "barcode")]),
        (b"600123456789\r\n", [("600123456789", "barcode")]),
        (b"600123456789\t", [("600123456789", "barcode")]),
        (b"\x02600123456789\x03", [("600123456789", "barcode")]),
        (b"%B6001234^MEMBER/A^2512?;6001234567890=2512?\r", [("6001234567890", "magstripe")]),
        (b";E?\r", []),
        (b"6001", []),  # no terminator yet
    ],
)
def test_line_scanner_framings(data: bytes, expected: list[tuple[str, str]]) -> None:
    reads = LineScannerDecoder().feed(data, 1.0)
    assert [(r.card_number, r.scanner) for r in reads] == expected
