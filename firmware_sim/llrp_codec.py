"""LLRP (EPCglobal Low Level Reader Protocol 1.0.1) bytes as a fixed reader writes them (pure).

Only what a simulated reader needs: the message header, the TLV and TV parameter encodings, the
reader-to-client messages (responses with ``LLRPStatus``, capabilities, ``RO_ACCESS_REPORT``,
``READER_EVENT_NOTIFICATION``, ``KEEPALIVE``) and a small walker over the client's messages.
Written from the specification, independently of the edge's decoder (which uses sllurp), so the
simulator and the driver check each other.

Message: ``Rsvd(3) Ver(3) Type(10) | Length(32, whole message) | ID(32) | body``.
TLV parameter: ``Rsvd(6) Type(10) | Length(16, whole parameter) | value``.
TV parameter: ``1 Type(7) | value`` of a length fixed by the type (types 1..127).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

LLRP_VERSION = 1
HEADER = struct.Struct("!HII")
HEADER_LEN = HEADER.size  # 10
PARAM_HEADER = struct.Struct("!HH")

# Message types (LLRP 1.0.1 section 16.1).
GET_READER_CAPABILITIES = 1
GET_READER_CONFIG = 2
SET_READER_CONFIG = 3
CLOSE_CONNECTION_RESPONSE = 4
GET_READER_CAPABILITIES_RESPONSE = 11
GET_READER_CONFIG_RESPONSE = 12
SET_READER_CONFIG_RESPONSE = 13
CLOSE_CONNECTION = 14
ADD_ROSPEC = 20
DELETE_ROSPEC = 21
START_ROSPEC = 22
STOP_ROSPEC = 23
ENABLE_ROSPEC = 24
DISABLE_ROSPEC = 25
GET_ROSPECS = 26
ADD_ROSPEC_RESPONSE = 30
DELETE_ROSPEC_RESPONSE = 31
START_ROSPEC_RESPONSE = 32
STOP_ROSPEC_RESPONSE = 33
ENABLE_ROSPEC_RESPONSE = 34
DISABLE_ROSPEC_RESPONSE = 35
GET_ROSPECS_RESPONSE = 36
ADD_ACCESSSPEC = 40
DELETE_ACCESSSPEC = 41
ENABLE_ACCESSSPEC = 42
DISABLE_ACCESSSPEC = 43
GET_ACCESSSPECS = 44
ADD_ACCESSSPEC_RESPONSE = 50
DELETE_ACCESSSPEC_RESPONSE = 51
ENABLE_ACCESSSPEC_RESPONSE = 52
DISABLE_ACCESSSPEC_RESPONSE = 53
GET_ACCESSSPECS_RESPONSE = 54
GET_REPORT = 60
RO_ACCESS_REPORT = 61
KEEPALIVE = 62
READER_EVENT_NOTIFICATION = 63
ENABLE_EVENTS_AND_REPORTS = 64
KEEPALIVE_ACK = 72
ERROR_MESSAGE = 100
CUSTOM_MESSAGE = 1023

# Requests answered by a response carrying only an LLRPStatus.
STATUS_RESPONSES: dict[int, int] = {
    GET_READER_CONFIG: GET_READER_CONFIG_RESPONSE,
    SET_READER_CONFIG: SET_READER_CONFIG_RESPONSE,
    CLOSE_CONNECTION: CLOSE_CONNECTION_RESPONSE,
    ADD_ROSPEC: ADD_ROSPEC_RESPONSE,
    DELETE_ROSPEC: DELETE_ROSPEC_RESPONSE,
    START_ROSPEC: START_ROSPEC_RESPONSE,
    STOP_ROSPEC: STOP_ROSPEC_RESPONSE,
    ENABLE_ROSPEC: ENABLE_ROSPEC_RESPONSE,
    DISABLE_ROSPEC: DISABLE_ROSPEC_RESPONSE,
    GET_ROSPECS: GET_ROSPECS_RESPONSE,
    ADD_ACCESSSPEC: ADD_ACCESSSPEC_RESPONSE,
    DELETE_ACCESSSPEC: DELETE_ACCESSSPEC_RESPONSE,
    ENABLE_ACCESSSPEC: ENABLE_ACCESSSPEC_RESPONSE,
    DISABLE_ACCESSSPEC: DISABLE_ACCESSSPEC_RESPONSE,
    GET_ACCESSSPECS: GET_ACCESSSPECS_RESPONSE,
}

# TLV parameter types.
P_UTC_TIMESTAMP = 128
P_GENERAL_DEVICE_CAPABILITIES = 137
P_PER_ANTENNA_AIR_PROTOCOL = 140
P_GPIO_CAPABILITIES = 141
P_LLRP_CAPABILITIES = 142
P_REGULATORY_CAPABILITIES = 143
P_UHF_BAND_CAPABILITIES = 144
P_TRANSMIT_POWER_LEVEL_TABLE_ENTRY = 145
P_FREQUENCY_INFORMATION = 146
P_FIXED_FREQUENCY_TABLE = 148
P_ROSPEC = 177
P_RO_BOUNDARY_SPEC = 178
P_ROSPEC_START_TRIGGER = 179
P_KEEPALIVE_SPEC = 220
P_TAG_REPORT_DATA = 240
P_EPC_DATA = 241
P_READER_EVENT_NOTIFICATION_DATA = 246
P_CONNECTION_ATTEMPT_EVENT = 256
P_CONNECTION_CLOSE_EVENT = 257
P_LLRP_STATUS = 287
P_C1G2_LLRP_CAPABILITIES = 327
P_UHF_C1G2_RF_MODE_TABLE = 328
P_UHF_C1G2_RF_MODE_TABLE_ENTRY = 329

# TV parameter types and their value lengths.
TV_ANTENNA_ID = 1
TV_FIRST_SEEN_UTC = 2
TV_LAST_SEEN_UTC = 4
TV_PEAK_RSSI = 6
TV_TAG_SEEN_COUNT = 8
TV_ROSPEC_ID = 9
TV_EPC96 = 13
TV_LENGTHS = {
    1: 2, 2: 8, 3: 8, 4: 8, 5: 8, 6: 1, 7: 2, 8: 2, 9: 4, 10: 2,
    11: 2, 12: 2, 13: 12, 14: 2, 15: 2, 16: 4, 17: 2, 18: 4, 19: 2, 20: 2,
}  # fmt: skip

STATUS_SUCCESS = 0
STATUS_UNSUPPORTED_MESSAGE = 109
CONNECTION_SUCCESS = 0
START_TRIGGER_IMMEDIATE = 1

IMPINJ_PEN = 25882  # Impinj's IANA private enterprise number
SPEEDWAY_R420_MODEL = 2001002


class LlrpFramingError(ValueError):
    """Bytes that are not a well-formed LLRP message."""


def message(msg_type: int, msg_id: int, body: bytes = b"") -> bytes:
    """A whole LLRP message."""
    return HEADER.pack((LLRP_VERSION << 10) | msg_type, HEADER_LEN + len(body), msg_id) + body


def tlv(param_type: int, value: bytes = b"") -> bytes:
    return PARAM_HEADER.pack(param_type, 4 + len(value)) + value


def tv(param_type: int, value: bytes) -> bytes:
    if TV_LENGTHS.get(param_type) != len(value):
        raise ValueError(f"TV parameter {param_type} takes {TV_LENGTHS.get(param_type)} bytes")
    return bytes((0x80 | param_type,)) + value


def llrp_status(code: int = STATUS_SUCCESS, description: str = "") -> bytes:
    text = description.encode()
    return tlv(P_LLRP_STATUS, struct.pack("!HH", code, len(text)) + text)


def status_response(msg_type: int, msg_id: int, code: int = STATUS_SUCCESS) -> bytes:
    """``*_RESPONSE`` (or ``ERROR_MESSAGE``) carrying only an LLRPStatus."""
    return message(msg_type, msg_id, llrp_status(code))


def utc_timestamp(micros: int) -> bytes:
    return tlv(P_UTC_TIMESTAMP, struct.pack("!Q", micros))


def connection_attempt_event(
    msg_id: int, *, micros: int, status: int = CONNECTION_SUCCESS
) -> bytes:
    """``READER_EVENT_NOTIFICATION`` sent on connect: UTCTimestamp + ConnectionAttemptEvent."""
    data = utc_timestamp(micros) + tlv(P_CONNECTION_ATTEMPT_EVENT, struct.pack("!H", status))
    return message(READER_EVENT_NOTIFICATION, msg_id, tlv(P_READER_EVENT_NOTIFICATION_DATA, data))


def connection_close_event(msg_id: int, *, micros: int) -> bytes:
    """``READER_EVENT_NOTIFICATION`` a reader sends before it closes the connection itself."""
    data = utc_timestamp(micros) + tlv(P_CONNECTION_CLOSE_EVENT)
    return message(READER_EVENT_NOTIFICATION, msg_id, tlv(P_READER_EVENT_NOTIFICATION_DATA, data))


def keepalive(msg_id: int) -> bytes:
    return message(KEEPALIVE, msg_id)


def capabilities_response(msg_id: int, *, antennas: int = 4, firmware: str = "5.14.0.240") -> bytes:
    """``GET_READER_CAPABILITIES_RESPONSE`` of a Speedway-like reader: general device, LLRP,
    regulatory (power table 10.00..32.50 dBm, one fixed frequency, one Gen2 RF mode) and C1G2
    capabilities."""
    fw = firmware.encode()
    per_antenna = b"".join(
        tlv(P_PER_ANTENNA_AIR_PROTOCOL, struct.pack("!HHB", a, 1, 1))
        for a in range(1, antennas + 1)
    )
    general = tlv(
        P_GENERAL_DEVICE_CAPABILITIES,
        struct.pack("!HHIIH", antennas, 0xC000, IMPINJ_PEN, SPEEDWAY_R420_MODEL, len(fw))
        + fw
        + tlv(P_GPIO_CAPABILITIES, struct.pack("!HH", 4, 4))
        + per_antenna,
    )
    llrp_caps = tlv(P_LLRP_CAPABILITIES, struct.pack("!BBHIIIII", 0x40, 1, 0, 1, 32, 1, 508, 8))
    power = b"".join(
        tlv(P_TRANSMIT_POWER_LEVEL_TABLE_ENTRY, struct.pack("!HH", i + 1, 1000 + 25 * i))
        for i in range(91)
    )
    freq = tlv(
        P_FREQUENCY_INFORMATION,
        b"\x00" + tlv(P_FIXED_FREQUENCY_TABLE, struct.pack("!HI", 1, 866_900)),
    )
    mode = tlv(
        P_UHF_C1G2_RF_MODE_TABLE,
        tlv(
            P_UHF_C1G2_RF_MODE_TABLE_ENTRY,
            struct.pack("!IBBBBIIIII", 1000, 0x40, 2, 0, 0, 640_000, 1500, 6250, 6250, 0),
        ),
    )
    band = tlv(P_UHF_BAND_CAPABILITIES, power + freq + mode)
    regulatory = tlv(P_REGULATORY_CAPABILITIES, struct.pack("!HH", 276, 2) + band)
    c1g2 = tlv(P_C1G2_LLRP_CAPABILITIES, struct.pack("!BH", 0x00, 2))
    body = llrp_status() + general + llrp_caps + regulatory + c1g2
    return message(GET_READER_CAPABILITIES_RESPONSE, msg_id, body)


@dataclass(frozen=True, slots=True)
class TagReport:
    """One TagReportData: what one antenna saw of one tag."""

    epc_hex: str
    antenna: int
    peak_rssi_dbm: int
    first_seen_us: int
    rospec_id: int = 1
    seen_count: int = 1


def tag_report_data(report: TagReport) -> bytes:
    """TagReportData with EPC-96 (TV) for 96-bit EPCs or EPCData (TLV) for others, then
    ROSpecID, AntennaID, PeakRSSI, FirstSeen/LastSeenTimestampUTC and TagSeenCount."""
    epc = bytes.fromhex(report.epc_hex)
    if len(epc) == 12:
        epc_param = tv(TV_EPC96, epc)
    else:
        epc_param = tlv(P_EPC_DATA, struct.pack("!H", len(epc) * 8) + epc)
    if not -128 <= report.peak_rssi_dbm <= 127:
        raise ValueError(f"PeakRSSI is a signed byte, got {report.peak_rssi_dbm}")
    first = struct.pack("!Q", report.first_seen_us)
    return tlv(
        P_TAG_REPORT_DATA,
        epc_param
        + tv(TV_ROSPEC_ID, struct.pack("!I", report.rospec_id))
        + tv(TV_ANTENNA_ID, struct.pack("!H", report.antenna))
        + tv(TV_PEAK_RSSI, struct.pack("!b", report.peak_rssi_dbm))
        + tv(TV_FIRST_SEEN_UTC, first)
        + tv(TV_LAST_SEEN_UTC, first)
        + tv(TV_TAG_SEEN_COUNT, struct.pack("!H", report.seen_count)),
    )


def ro_access_report(msg_id: int, reports: list[TagReport]) -> bytes:
    return message(RO_ACCESS_REPORT, msg_id, b"".join(tag_report_data(r) for r in reports))


@dataclass(frozen=True, slots=True)
class Message:
    """A message as read off the wire."""

    msg_type: int
    msg_id: int
    body: bytes


def split_messages(buf: bytes) -> tuple[list[Message], bytes]:
    """Whole messages at the start of ``buf`` and the incomplete rest.

    Raises :class:`LlrpFramingError` on a length shorter than a header (the stream cannot be
    resynchronised: LLRP has no frame marker, so the connection has to be dropped).
    """
    out: list[Message] = []
    pos = 0
    while len(buf) - pos >= HEADER_LEN:
        word, length, msg_id = HEADER.unpack_from(buf, pos)
        if length < HEADER_LEN:
            raise LlrpFramingError(f"message length {length} < {HEADER_LEN}")
        if len(buf) - pos < length:
            break
        out.append(Message(word & 0x3FF, msg_id, bytes(buf[pos + HEADER_LEN : pos + length])))
        pos += length
    return out, bytes(buf[pos:])


def iter_params(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(type, value)`` of the parameters in ``data`` (TLV and TV), at one nesting level."""
    pos = 0
    while pos < len(data):
        first = data[pos]
        if first & 0x80:
            ptype = first & 0x7F
            size = TV_LENGTHS.get(ptype)
            if size is None:
                raise LlrpFramingError(f"unknown TV parameter type {ptype}")
            yield ptype, data[pos + 1 : pos + 1 + size]
            pos += 1 + size
            continue
        if len(data) - pos < 4:
            raise LlrpFramingError("truncated parameter header")
        word, length = PARAM_HEADER.unpack_from(data, pos)
        if length < 4 or pos + length > len(data):
            raise LlrpFramingError(f"bad parameter length {length}")
        yield word & 0x3FF, data[pos + 4 : pos + length]
        pos += length


def find_param(data: bytes, *path: int) -> bytes | None:
    """The value of the first parameter reached by following TLV types ``path``, or None."""
    value: bytes | None = data
    for ptype in path:
        assert value is not None
        value = next((v for t, v in iter_params(value) if t == ptype), None)
        if value is None:
            return None
    return value


def keepalive_interval_ms(set_reader_config_body: bytes) -> int | None:
    """The periodic keep-alive interval a SET_READER_CONFIG asks for (None: not mentioned,
    0: keep-alives off)."""
    spec = find_param(set_reader_config_body[1:], P_KEEPALIVE_SPEC)  # skip the reset flag byte
    if spec is None or len(spec) < 5:
        return None
    trigger, interval = struct.unpack_from("!BI", spec)
    return interval if trigger == 1 else 0


def rospec_summary(add_rospec_body: bytes) -> tuple[int, int]:
    """``(ROSpecID, start trigger type)`` of an ADD_ROSPEC."""
    rospec = find_param(add_rospec_body, P_ROSPEC)
    if rospec is None or len(rospec) < 6:
        raise LlrpFramingError("ADD_ROSPEC without a ROSpec")
    (rospec_id,) = struct.unpack_from("!I", rospec)
    trigger = find_param(rospec[6:], P_RO_BOUNDARY_SPEC, P_ROSPEC_START_TRIGGER)
    return rospec_id, trigger[0] if trigger else 0


def rospec_id_of(body: bytes) -> int:
    """The ROSpecID field of ENABLE/START/STOP/DISABLE/DELETE_ROSPEC (0 = all)."""
    if len(body) < 4:
        raise LlrpFramingError("ROSpec message without a ROSpecID")
    return int(struct.unpack_from("!I", body)[0])
