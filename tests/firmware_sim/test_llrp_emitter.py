"""The simulated LLRP reader, spoken to byte by byte over TCP (sllurp only encodes/decodes)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sllurp.llrp import LLRPMessage, LLRPROSpec

from firmware_sim import llrp_codec as c
from firmware_sim.llrp_emitter import LlrpReaderEmitter
from firmware_sim.model import SimRead


class RawClient:
    """An LLRP client on a plain socket: whole messages out, whole messages in."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self._buf = b""
        self._next_id = 100

    def send(self, msg: dict[str, Any]) -> int:
        self._next_id += 1
        name = next(iter(msg))
        msg[name]["ID"] = self._next_id
        self.sock.sendall(LLRPMessage(msgdict=msg).msgbytes)
        return self._next_id

    def recv(self) -> LLRPMessage:
        while True:
            msgs, rest = c.split_messages(self._buf)
            if msgs:
                first = msgs[0]
                size = c.HEADER_LEN + len(first.body)
                raw, self._buf = self._buf[:size], self._buf[size:]
                return LLRPMessage(msgbytes=raw)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the reader")
            self._buf = rest + data

    def recv_until(self, name: str) -> LLRPMessage:
        while True:
            msg = self.recv()
            if msg.getName() == name:
                return msg

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def reader() -> Iterator[LlrpReaderEmitter]:
    with LlrpReaderEmitter() as em:
        yield em


@pytest.fixture
def client(reader: LlrpReaderEmitter) -> Iterator[RawClient]:
    cl = RawClient(reader.port)
    try:
        yield cl
    finally:
        cl.close()


def start_inventory(cl: RawClient, *, keepalive_ms: int = 0) -> None:
    cl.recv_until("READER_EVENT_NOTIFICATION")
    cfg: dict[str, Any] = {"ResetToFactoryDefaults": False}
    if keepalive_ms:
        cfg["KeepaliveSpec"] = {"KeepaliveTriggerType": 1, "TimeInterval": keepalive_ms}
    cl.send({"SET_READER_CONFIG": cfg})
    assert cl.recv_until("SET_READER_CONFIG_RESPONSE").isSuccess()
    rospec = LLRPROSpec(None, 7, antennas=(1, 2))
    cl.send({"ADD_ROSPEC": {"ROSpecID": 7, "ROSpec": rospec}})
    assert cl.recv_until("ADD_ROSPEC_RESPONSE").isSuccess()
    cl.send({"ENABLE_ROSPEC": {"ROSpecID": 7}})
    assert cl.recv_until("ENABLE_ROSPEC_RESPONSE").isSuccess()


def test_connect_sends_a_successful_connection_attempt_event(client: RawClient) -> None:
    msg = client.recv()
    assert msg.getName() == "READER_EVENT_NOTIFICATION"
    assert msg.isSuccess()
    data = msg.msgdict["READER_EVENT_NOTIFICATION"]["ReaderEventNotificationData"]
    assert data["UTCTimestamp"]["Microseconds"] > 0


def test_capabilities_and_status_responses_echo_the_request_id(client: RawClient) -> None:
    client.recv_until("READER_EVENT_NOTIFICATION")
    msg_id = client.send({"GET_READER_CAPABILITIES": {"RequestedData": 0}})
    caps = client.recv()
    body = caps.msgdict["GET_READER_CAPABILITIES_RESPONSE"]
    assert caps.isSuccess() and body["ID"] == msg_id
    assert body["GeneralDeviceCapabilities"]["MaxNumberOfAntennaSupported"] == 4
    band = body["RegulatoryCapabilities"]["UHFBandCapabilities"]
    assert band["TransmitPowerLevelTableEntry"][-1]["TransmitPowerValue"] == 3250
    assert band["UHFC1G2RFModeTable"]["UHFC1G2RFModeTableEntry"][0]["ModeIdentifier"] == 1000
    msg_id = client.send({"DELETE_ROSPEC": {"ROSpecID": 0}})
    resp = client.recv()
    assert resp.getName() == "DELETE_ROSPEC_RESPONSE" and resp.isSuccess()
    assert resp.msgdict["DELETE_ROSPEC_RESPONSE"]["ID"] == msg_id


def test_reports_flow_only_once_a_rospec_is_enabled(
    reader: LlrpReaderEmitter, client: RawClient
) -> None:
    read = SimRead(10.0, "R1", 2, "3034257BF40000400000000C", -61.6, 1_793_000_000.25)
    reader.emit([read])  # nobody inventorying yet
    assert reader.stats.dropped == 1
    start_inventory(client)
    assert reader.wait_inventorying(5.0)
    reader.emit([read, read])
    report = client.recv_until("RO_ACCESS_REPORT")
    tags = report.msgdict["RO_ACCESS_REPORT"]["TagReportData"]
    assert len(tags) == 2
    assert tags[0]["EPC"] == b"3034257bf40000400000000c"
    assert (tags[0]["AntennaID"], tags[0]["PeakRSSI"], tags[0]["ROSpecID"]) == (2, -62, 7)
    assert tags[0]["FirstSeenTimestampUTC"] == 1_793_000_000_250_000
    assert reader.stats.reads_sent == 2 and reader.stats.reports == 1


def test_keepalives_at_the_requested_interval_and_acks_counted(
    reader: LlrpReaderEmitter, client: RawClient
) -> None:
    start_inventory(client, keepalive_ms=50)
    for _ in range(2):
        client.recv_until("KEEPALIVE")
        client.send({"KEEPALIVE_ACK": {}})
    client.recv_until("KEEPALIVE")
    # The client has the third keep-alive; the reader counts it after sending it, and counts
    # the ACKs on its reading thread: read the counts once they are in, not at once.
    stats = reader.keepalive_stats_when(
        lambda s: s.keepalive_acks >= 2 and s.keepalives_sent >= 3, timeout=30
    )
    assert stats.keepalive_acks == 2
    assert stats.keepalives_sent >= 3


def test_close_connection_is_answered_then_the_reader_hangs_up(
    reader: LlrpReaderEmitter, client: RawClient
) -> None:
    start_inventory(client)
    client.send({"CLOSE_CONNECTION": {}})
    assert client.recv_until("CLOSE_CONNECTION_RESPONSE").isSuccess()
    with pytest.raises(ConnectionError):
        client.recv()
    assert not reader.inventorying


def test_vendor_extensions_get_an_error_message(client: RawClient) -> None:
    client.recv_until("READER_EVENT_NOTIFICATION")
    client.send({"IMPINJ_ENABLE_EXTENSIONS": {}})
    err = client.recv()
    assert err.getName() == "ERROR_MESSAGE"
    assert err.msgdict["ERROR_MESSAGE"]["LLRPStatus"]["StatusCode"] == "UnsupportedMessage"


def test_split_messages_keeps_a_partial_message() -> None:
    whole = c.keepalive(1) + c.keepalive(2)
    msgs, rest = c.split_messages(whole + c.keepalive(3)[:5])
    assert [m.msg_id for m in msgs] == [1, 2]
    assert rest == c.keepalive(3)[:5]
    with pytest.raises(c.LlrpFramingError):
        c.split_messages(bytes.fromhex("043E 00000003 00000001"))


def test_tag_report_data_uses_epcdata_for_non_96_bit_epcs() -> None:
    report = c.TagReport("E200301666130121155074EF0011AA55", 1, -70, 5)
    params = dict(c.iter_params(c.tag_report_data(report)))
    assert c.P_TAG_REPORT_DATA in params
    inner = dict(c.iter_params(params[c.P_TAG_REPORT_DATA]))
    assert inner[c.P_EPC_DATA][:2] == b"\x00\x80"  # 128 bits
    assert c.TV_EPC96 not in inner
