"""The live emitters: R2000 bytes on a socket and a pty, vendor JSON over a real MQTT broker."""

from __future__ import annotations

import json
import os
import random
import select
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim.encoders import r2000_end_of_round, r2000_tag_frame
from firmware_sim.model import SimRead
from firmware_sim.mqtt_emitter import (
    ImpinjMqttEmitter,
    Packing,
    ZebraMqttEmitter,
    demo_topic,
    pack_events,
    plan_messages,
)
from firmware_sim.serial_emitter import (
    R2000Framer,
    R2000PtyEmitter,
    R2000SocketEmitter,
    add_noise,
)
from storeflow.net import free_port
from tests.fix_mqtt import BrokerProcess
from tests.helpers.waiting import wait_until

EPC = "3500079FF00000400000000C"
T0 = 1_700_000_000.0


def sim_reads(n: int, *, epc: str = EPC) -> list[SimRead]:
    return [
        SimRead(
            t=T0 + i,
            reader_id="R1",
            antenna=i % 4 + 1,
            epc=epc,
            rssi_dbm=-50.0 - i % 10,
            reader_t=T0 + i + 0.25,
        )
        for i in range(n)
    ]


def tag_frame(read: SimRead, addr: int = 1) -> bytes:
    return r2000_tag_frame(
        addr=addr, antenna=read.antenna, epc_hex=read.epc, rssi_dbm=read.rssi_dbm
    )


def recv_exactly(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


# -- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_add_noise_either_prefixes_garbage_or_breaks_the_checksum(seed: int) -> None:
    frame = tag_frame(sim_reads(1)[0])
    noisy, corrupted = add_noise(frame, random.Random(seed))
    if corrupted:
        assert len(noisy) == len(frame)
        assert noisy[:-1] == frame[:-1]
        assert noisy[-1] != frame[-1]
    else:
        assert noisy.endswith(frame)
        assert 1 <= len(noisy) - len(frame) <= 8


def test_framer_without_noise_is_exact_frames_plus_round_ends() -> None:
    reads = sim_reads(7)
    framer = R2000Framer(addr=1, round_every=3)
    out = framer.encode(reads)
    expected = b"".join(tag_frame(r) for r in reads[:3])
    expected += r2000_end_of_round(1, reads[2].antenna, 3, 3)
    expected += b"".join(tag_frame(r) for r in reads[3:6])
    expected += r2000_end_of_round(1, reads[5].antenna, 3, 3)
    expected += tag_frame(reads[6])
    assert out == expected
    assert framer.stats.rounds == 2
    assert framer.stats.noisy_frames == 0


def test_framer_noise_is_seeded_and_near_the_requested_rate() -> None:
    reads = sim_reads(1000)
    one = R2000Framer(noise=0.1, seed=42)
    two = R2000Framer(noise=0.1, seed=42)
    assert one.encode(reads) == two.encode(reads)
    assert 60 <= one.stats.noisy_frames <= 140
    assert 0 < one.stats.corrupted < one.stats.noisy_frames


@pytest.mark.parametrize(("noise", "round_every"), [(-0.1, 0), (1.5, 0), (0.0, -1)])
def test_framer_rejects_bad_settings(noise: float, round_every: int) -> None:
    with pytest.raises(ValueError):
        R2000Framer(noise=noise, round_every=round_every)


@pytest.mark.parametrize(
    ("packing", "events", "expected"),
    [
        (Packing.SINGLE, [b'{"a":1}'], b'{"a":1}'),
        (Packing.CONCATENATED, [b'{"a":1}', b'{"b":2}'], b'{"a":1}{"b":2}'),
        (Packing.ARRAY, [b'{"a":1}', b'{"b":2}'], b'[{"a":1},{"b":2}]'),
        (Packing.ARRAY, [b'{"a":1}'], b'[{"a":1}]'),
    ],
)
def test_pack_events(packing: Packing, events: list[bytes], expected: bytes) -> None:
    assert pack_events(events, packing) == expected


def test_single_packing_takes_one_event() -> None:
    with pytest.raises(ValueError):
        pack_events([b"{}", b"{}"], Packing.SINGLE)


@pytest.mark.parametrize("count", [0, 1, 2, 7, 100])
def test_plan_messages_covers_every_event_in_order(count: int) -> None:
    plan = plan_messages(count, random.Random(count), max_batch=4)
    assert sum(size for _, size in plan) == count
    for packing, size in plan:
        assert 1 <= size <= 4
        assert (packing is Packing.SINGLE) == (size == 1)


def test_plan_messages_uses_every_quirk() -> None:
    plan = plan_messages(300, random.Random(1))
    assert {packing for packing, _ in plan} == set(Packing)
    assert plan == plan_messages(300, random.Random(1))


def test_demo_topic() -> None:
    assert demo_topic("S1", "R2") == "storeflow/S1/R2/events"


# -- socket emitter -----------------------------------------------------------------------------


def test_socket_emitter_drops_reads_without_a_host() -> None:
    with R2000SocketEmitter() as em:
        em.emit(sim_reads(5))
        assert em.stats.dropped == 5
        assert em.stats.reads_sent == 0


def test_socket_emitter_sends_frames_and_ignores_host_commands() -> None:
    reads = sim_reads(3)
    with R2000SocketEmitter() as em, socket.create_connection(("127.0.0.1", em.port)) as sock:
        assert em.wait_client(5)
        sock.sendall(bytes.fromhex("A0 04 01 89 01 D1"))  # inventory command, discarded
        em.emit(reads)
        expected = b"".join(tag_frame(r) for r in reads)
        assert recv_exactly(sock, len(expected)) == expected
        assert em.stats.reads_sent == 3


def test_socket_emitter_disconnect_and_new_host() -> None:
    with R2000SocketEmitter() as em:
        with socket.create_connection(("127.0.0.1", em.port)) as first:
            assert em.wait_client(5)
            em.disconnect()
            first.settimeout(5)
            assert first.recv(100) == b""  # the host sees the line drop
        assert not em.has_client
        em.emit(sim_reads(1))
        assert em.stats.dropped == 1
        with socket.create_connection(("127.0.0.1", em.port)) as second:
            assert em.wait_client(5)
            em.emit(sim_reads(1))
            frame = tag_frame(sim_reads(1)[0])
            assert recv_exactly(second, len(frame)) == frame
        assert em.stats.clients == 2


def test_socket_emitter_notices_the_host_leaving() -> None:
    with R2000SocketEmitter() as em:
        sock = socket.create_connection(("127.0.0.1", em.port))
        assert em.wait_client(5)
        sock.close()
        assert wait_until(lambda: not em.has_client)


def test_socket_emitter_reopens_on_the_same_port() -> None:
    first = R2000SocketEmitter()
    port = first.port
    with socket.create_connection(("127.0.0.1", port)):
        assert first.wait_client(5)
        first.close()
    with R2000SocketEmitter(port) as second:
        assert second.port == port


# -- pty emitter --------------------------------------------------------------------------------


def test_pty_emitter_delivers_bytes_to_whoever_opens_the_device() -> None:
    reads = sim_reads(4)
    with R2000PtyEmitter() as em:
        assert em.device_path.startswith("/dev/")
        em.emit(reads[:1])
        assert em.stats.dropped == 1  # nobody listening: not queued
        fd = os.open(em.device_path, os.O_RDWR | os.O_NOCTTY)
        try:
            assert em.has_client
            em.emit(reads)
            expected = b"".join(tag_frame(r) for r in reads)
            buf = b""
            deadline = time.monotonic() + 5
            while len(buf) < len(expected) and time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    buf += os.read(fd, 4096)
            assert buf == expected  # raw line: no CR/LF translation, no echo
        finally:
            os.close(fd)
        assert not em.has_client


def test_pty_emitter_disconnect_hangs_up() -> None:
    with R2000PtyEmitter() as em:
        fd = os.open(em.device_path, os.O_RDWR | os.O_NOCTTY)
        try:
            em.disconnect()
            try:
                data = os.read(fd, 10)  # hung up: end of file ...
            except OSError:
                data = b""  # ... or EIO, depending on the kernel
            assert data == b""
        finally:
            os.close(fd)
        assert not em.has_client


# -- MQTT emitters ------------------------------------------------------------------------------


class Subscriber:
    """A plain paho subscriber collecting raw payloads."""

    def __init__(self, broker: BrokerProcess, topic: str) -> None:
        self.payloads: list[bytes] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.on_connect = lambda c, *_args: c.subscribe(topic)
        self.client.connect_async(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(5)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.payloads.append(bytes(msg.payload))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.payloads) >= count, timeout)
            return list(self.payloads)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_impinj_emitter_publishes_one_event_per_read(mqtt_broker: BrokerProcess) -> None:
    topic = demo_topic(f"s{uuid.uuid4().hex[:6]}", "R1")
    sub = Subscriber(mqtt_broker, topic)
    em = ImpinjMqttEmitter(mqtt_broker.url, topic, "impinj-r1", clock_offset_s=-3.0)
    try:
        assert em.wait_connected(5)
        reads = sim_reads(5)
        em.emit(reads)
        payloads = sub.wait_for(5)
        assert len(payloads) == 5
        for payload, read in zip(payloads, reads, strict=True):
            event = json.loads(payload)
            assert event["eventType"] == "tagInventory"
            assert event["hostname"] == "impinj-r1"
            inv = event["tagInventoryEvent"]
            assert inv["epcHex"].upper() == read.epc
            assert inv["antennaPort"] == read.antenna
            assert inv["peakRssiCdbm"] == round(read.rssi_dbm * 100)
            assert event["timestamp"].startswith("2023-11-14T22:")
        assert em.stats.events == 5
        assert em.stats.messages == 5
    finally:
        em.close()
        sub.close()


def test_zebra_emitter_batches_like_the_iot_connector(mqtt_broker: BrokerProcess) -> None:
    topic = demo_topic(f"s{uuid.uuid4().hex[:6]}", "R1")
    sub = Subscriber(mqtt_broker, topic)
    em = ZebraMqttEmitter(mqtt_broker.url, topic, "fx9600", seed=5)
    try:
        assert em.wait_connected(5)
        reads = sim_reads(60)
        em.emit(reads)
        assert em.stats.events == 60
        payloads = sub.wait_for(em.stats.messages)
        assert len(payloads) == em.stats.messages < 60
        events: list[dict[str, object]] = []
        decoder = json.JSONDecoder()
        shapes: set[str] = set()
        for payload in payloads:
            text = payload.decode()
            if text.startswith("["):
                shapes.add("array")
                events.extend(json.loads(text))
                continue
            pos, count = 0, 0
            while pos < len(text):
                obj, pos = decoder.raw_decode(text, pos)
                events.append(obj)
                count += 1
            shapes.add("concatenated" if count > 1 else "single")
        assert shapes == {"array", "concatenated", "single"}
        assert len(events) == 60
        ids = [str(e["data"]["idHex"]).upper() for e in events]  # type: ignore[index]
        assert ids == [r.epc for r in reads]
    finally:
        em.close()
        sub.close()


def test_mqtt_emitter_without_broker_queues_for_later() -> None:
    port = free_port()
    em = ImpinjMqttEmitter(f"mqtt://127.0.0.1:{port}", "storeflow/S/R/events", "impinj")
    try:
        assert not em.wait_connected(0.3)
        em.emit(sim_reads(3))
        assert (em.stats.queued, em.stats.dropped, em.stats.events) == (3, 0, 0)
    finally:
        em.close()
