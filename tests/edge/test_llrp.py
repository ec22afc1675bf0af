"""The LLRP converter on byte fixtures: RO_ACCESS_REPORT bytes as readers send them -> reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.config import ReaderConfig, load_edge_config
from edge.drivers.llrp import LlrpDecoder, epc_hex, reader_time, rssi_dbm, tag_reads
from edge.drivers.registry import message_decoder
from edge.reads import DecodeStats

HOST_TS = 1_793_000_001.5

# RO_ACCESS_REPORT (ver 1, type 61 -> 0x043D), length 41, ID 1, one TagReportData (type 240,
# length 31): EPC-96 (TV 13 -> 0x8D), AntennaID 2 (TV 1 -> 0x81), PeakRSSI -55 dBm (TV 6 -> 0x86,
# 0xC9), FirstSeenTimestampUTC 1_793_000_000_123_456 us (TV 2 -> 0x82).
REPORT_EPC96 = bytes.fromhex(
    "04 3D 00000029 00000001"
    "00 F0 00 1F"
    "8D 30 34 25 7B F4 00 00 40 00 00 00 0C"
    "81 00 02"
    "86 C9"
    "82 00 06 5E B9 58 16 F2 40"
)

# Two TagReportData in one report: a 128-bit EPC as EPCData (TLV 241: bit count 0x0080 + 16 bytes)
# on antenna 4 with only a LastSeenTimestampUTC (TV 4 -> 0x84) and TagSeenCount 3 (TV 8 -> 0x88);
# then an EPC-96 on antenna 1 at -71 dBm (0xB9) with FirstSeenTimestampUTC.
REPORT_MIXED = bytes.fromhex(
    "04 3D 00000054 00000007"
    "00 F0 00 2B"
    "00 F1 00 16 00 80 E2 00 30 16 66 13 01 21 15 50 74 EF 00 11 AA 55"
    "81 00 04"
    "86 C0"
    "84 00 06 5E B9 58 16 F2 40"
    "88 00 03"
    "00 F0 00 1F"
    "8D 30 34 25 7B F4 00 00 40 00 00 00 0D"
    "81 00 01"
    "86 B9"
    "82 00 06 5E B9 58 16 F2 40"
)

KEEPALIVE = bytes.fromhex("04 3E 0000000A 00000005")

# A report whose TagReportData carries no AntennaID (the ROSpec did not ask for it).
REPORT_NO_ANTENNA = bytes.fromhex(
    "04 3D 00000026 00000002"
    "00 F0 00 1C"
    "8D 30 34 25 7B F4 00 00 40 00 00 00 0C"
    "86 C9"
    "82 00 06 5E B9 58 16 F2 40"
)


def test_epc96_report_becomes_one_read() -> None:
    dec = LlrpDecoder("R9")
    (read,) = dec.decode(REPORT_EPC96, HOST_TS)
    assert read.reader_id == "R9"
    assert read.epc == "3034257BF40000400000000C"
    assert read.antenna == 2
    assert read.rssi_dbm == -55.0
    assert read.reader_ts == pytest.approx(1_793_000_000.123456)
    assert read.host_ts == HOST_TS
    assert (dec.stats.frames_ok, dec.stats.reads, dec.stats.frames_bad) == (1, 1, 0)


def test_epcdata_and_epc96_in_one_report() -> None:
    dec = LlrpDecoder("R9")
    first, second = dec.decode(REPORT_MIXED, HOST_TS)
    assert first.epc == "E200301666130121155074EF0011AA55"
    assert (first.antenna, first.rssi_dbm) == (4, -64.0)
    assert first.reader_ts == pytest.approx(1_793_000_000.123456)  # from LastSeenTimestampUTC
    assert second.epc == "3034257BF40000400000000D"
    assert (second.antenna, second.rssi_dbm) == (1, -71.0)


def test_several_messages_in_one_payload_and_keepalives_ignored() -> None:
    dec = LlrpDecoder("R9")
    reads = dec.decode(KEEPALIVE + REPORT_EPC96 + KEEPALIVE + REPORT_MIXED, HOST_TS)
    assert [r.antenna for r in reads] == [2, 4, 1]
    assert dec.stats.ignored == 2
    assert dec.stats.frames_bad == 0


def test_report_without_antenna_is_counted_bad_not_guessed() -> None:
    dec = LlrpDecoder("R9")
    assert dec.decode(REPORT_NO_ANTENNA, HOST_TS) == []
    assert dec.stats.errors == {"no_antenna": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (REPORT_EPC96[:-3], "length"),  # cut short: the length field promises more
        (REPORT_EPC96[:6], "truncated"),  # not even a header
        (bytes.fromhex("04 3D 00000004 00000001"), "length"),  # length below a header
    ],
)
def test_broken_bytes_are_counted(payload: bytes, reason: str) -> None:
    dec = LlrpDecoder("R9")
    assert dec.decode(payload, HOST_TS) == []
    assert dec.stats.errors == {reason: 1}


def test_good_message_before_a_broken_one_is_kept() -> None:
    dec = LlrpDecoder("R9")
    reads = dec.decode(REPORT_EPC96 + REPORT_MIXED[:20], HOST_TS)
    assert len(reads) == 1
    assert dec.stats.frames_bad == 1


def test_registry_knows_llrp() -> None:
    assert isinstance(message_decoder("llrp", "R1"), LlrpDecoder)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"3034257bf40000400000000c", "3034257BF40000400000000C"),
        ("e2003016", "E2003016"),
        (b"", None),
        ("xyz", None),
        (None, None),
        ("ab" * 63, None),  # longer than any Gen2 EPC
    ],
)
def test_epc_hex(value: object, expected: str | None) -> None:
    assert epc_hex(value) == expected


def test_impinj_peak_rssi_wins_over_whole_dbm() -> None:
    assert rssi_dbm({"PeakRSSI": -56, "ImpinjPeakRSSI": -5540}) == -55.4
    assert rssi_dbm({"PeakRSSI": -56}) == -56.0
    assert rssi_dbm({}) is None


def test_reader_time_prefers_first_seen_and_ignores_zero_and_uptime() -> None:
    assert reader_time({"FirstSeenTimestampUTC": 2_000_000, "LastSeenTimestampUTC": 3_000_000}) == 2
    assert reader_time({"FirstSeenTimestampUTC": 0, "LastSeenTimestampUTC": 3_000_000}) == 3
    assert reader_time({"FirstSeenTimestampUptime": 5_000_000}) is None


def test_tag_reads_uses_default_rssi_and_host_time_when_missing() -> None:
    stats = DecodeStats()
    (read,) = tag_reads(
        [{"EPC": b"3034257bf40000400000000c", "AntennaID": 3}],
        reader_id="R1",
        host_ts=HOST_TS,
        stats=stats,
    )
    assert (read.rssi_dbm, read.reader_ts, read.antenna) == (-70.0, None, 3)
    assert stats.reads == 1


def test_example_config_has_an_llrp_reader_on_localhost() -> None:
    cfg, _ = load_edge_config("edge/examples/store.yaml")
    (r4,) = [r for r in cfg.readers if r.protocol == "llrp"]
    assert r4.llrp is not None
    assert (r4.llrp.host, r4.llrp.port, r4.llrp.antennas) == ("127.0.0.1", 5084, [1, 2, 3, 4])


def test_llrp_reader_config_is_strict() -> None:
    with pytest.raises(ValidationError, match="needs a `llrp:` section"):
        ReaderConfig(id="R1", protocol="llrp")
    with pytest.raises(ValidationError, match="hots"):
        ReaderConfig.model_validate({"id": "R1", "protocol": "llrp", "llrp": {"hots": "x"}})
    ok = ReaderConfig.model_validate({"id": "R1", "protocol": "llrp", "llrp": {"host": "10.0.0.5"}})
    assert ok.llrp is not None and ok.llrp.port == 5084
