"""MqttReaderLoop against simulated Impinj and Zebra readers through a real MQTT broker."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.drivers.impinj_iot import ImpinjIotDecoder
from edge.drivers.mqtt_io import MqttReaderLoop, MqttTarget, parse_mqtt_url
from edge.drivers.zebra_iot import ZebraIotDecoder
from firmware_sim.model import SimRead
from firmware_sim.mqtt_emitter import ImpinjMqttEmitter, ZebraMqttEmitter, demo_topic
from orchestration.broker import InProcessBroker
from tests.fix_mqtt import BrokerProcess
from tests.helpers.waiting import Collector, wait_until

EPCS = ("3500079FF00000400000000C", "3500079FF00000800000002A", "3500079FF00000C000000101")
T0 = 1_700_000_000.0


def sim_reads(n: int, *, reader_id: str = "R2", skew_s: float = 0.0) -> list[SimRead]:
    return [
        SimRead(
            t=T0 + i * 0.5,
            reader_id=reader_id,
            antenna=i % 4 + 1,
            epc=EPCS[i % 3],
            rssi_dbm=-45.0 - (i % 20),
            reader_t=T0 + i * 0.5 + skew_s,
        )
        for i in range(n)
    ]


def unique_topic(reader_id: str) -> str:
    return demo_topic(f"test-{uuid.uuid4().hex[:8]}", reader_id)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1884", MqttTarget("127.0.0.1", 1884)),
        ("mqtt://broker.local", MqttTarget("broker.local", 1883)),
        ("tcp://broker.local:1999", MqttTarget("broker.local", 1999)),
        ("mqtts://broker.local", MqttTarget("broker.local", 8883, tls=True)),
        (
            "mqtts://edge%40store:p%3Ass@broker.local:8884",
            MqttTarget("broker.local", 8884, True, "edge@store", "p:ss"),
        ),
        ("mqtt://user@broker.local", MqttTarget("broker.local", 1883, False, "user", None)),
    ],
)
def test_parse_mqtt_url(url: str, expected: MqttTarget) -> None:
    assert parse_mqtt_url(url) == expected


@pytest.mark.parametrize("url", ["http://broker:80", "mqtt://", "broker:1883"])
def test_parse_mqtt_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        parse_mqtt_url(url)


def test_impinj_reads_arrive_through_the_broker(mqtt_broker: BrokerProcess) -> None:
    topic = unique_topic("R2")
    sink = Collector()
    loop = MqttReaderLoop("R2", mqtt_broker.url, topic, ImpinjIotDecoder("R2"), sink)
    loop.start()
    emitter = ImpinjMqttEmitter(mqtt_broker.url, topic, "impinj-r2", clock_offset_s=2.5)
    try:
        assert loop.wait_connected(5)
        assert emitter.wait_connected(5)
        sent = sim_reads(20, skew_s=1.0)
        emitter.emit(sent)
        got = sink.wait_for(len(sent))
        assert [(r.epc, r.antenna) for r in got] == [(s.epc, s.antenna) for s in sent]
        for read, sim in zip(got, sent, strict=True):
            assert read.reader_id == "R2"
            assert read.rssi_dbm == pytest.approx(sim.rssi_dbm, abs=0.01)
            assert read.reader_ts == pytest.approx(sim.reader_t + 2.5, abs=1e-3)
        health = loop.health()
        assert health.connected
        assert health.reads_total == 20
        assert health.frames_bad == 0
        assert emitter.stats.events == 20
    finally:
        emitter.close()
        loop.stop()


def test_zebra_reads_arrive_through_the_broker(mqtt_broker: BrokerProcess) -> None:
    topic = unique_topic("R3")
    sink = Collector()
    loop = MqttReaderLoop("R3", mqtt_broker.url, topic, ZebraIotDecoder("R3"), sink)
    loop.start()
    emitter = ZebraMqttEmitter(mqtt_broker.url, topic, "fx9600-r3", seed=3)
    try:
        assert loop.wait_connected(5)
        assert emitter.wait_connected(5)
        sent = sim_reads(40, reader_id="R3")
        emitter.emit(sent)
        got = sink.wait_for(len(sent))
        assert [(r.epc, r.antenna) for r in got] == [(s.epc, s.antenna) for s in sent]
        assert emitter.stats.events == 40
        assert emitter.stats.messages < 40  # some messages carried several events
        assert loop.health().frames_bad == 0
    finally:
        emitter.close()
        loop.stop()


def test_start_with_the_broker_down_then_reconnect_after_restart(
    fresh_mqtt_broker: BrokerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    broker = fresh_mqtt_broker
    broker.stop()
    topic = unique_topic("R4")
    sink = Collector()
    loop = MqttReaderLoop("R4", broker.url, topic, ImpinjIotDecoder("R4"), sink)
    loop.start()  # must not raise although nothing listens
    emitter: ImpinjMqttEmitter | None = None
    try:
        assert wait_until(lambda: "cannot connect to the broker" in caplog.text)
        assert not loop.health().connected
        broker.start()
        assert loop.wait_connected(10)
        assert loop.health().reconnects == 0
        emitter = ImpinjMqttEmitter(broker.url, topic, "impinj-r4")
        assert emitter.wait_connected(5)
        emitter.emit(sim_reads(3, reader_id="R4"))
        assert len(sink.wait_for(3)) == 3

        broker.stop()
        assert wait_until(lambda: not loop.health().connected)
        broker.start()
        assert loop.wait_connected(10)
        assert emitter.wait_connected(10)
        emitter.emit(sim_reads(4, reader_id="R4"))
        assert len(sink.wait_for(7)) == 7
        health = loop.health()
        assert health.connected
        assert health.reconnects >= 1
        assert health.reads_total == 7
    finally:
        if emitter is not None:
            emitter.close()
        loop.stop()


def test_in_process_broker_with_paho_clients() -> None:
    received: list[bytes] = []
    got_one = threading.Event()
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        received.append(bytes(msg.payload))
        got_one.set()

    with InProcessBroker() as broker:
        assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
        sub = mqtt.Client(CallbackAPIVersion.VERSION2)
        sub.on_message = on_message
        sub.on_subscribe = lambda *_args: subscribed.set()
        sub.on_connect = lambda c, *_args: c.subscribe("storeflow/+/+/events")
        # connect_async before loop_start: connect() then loop_start() leaks paho's socketpair
        sub.connect_async("127.0.0.1", broker.port)
        sub.loop_start()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2)
        pub.connect_async("127.0.0.1", broker.port)
        pub.loop_start()
        try:
            assert subscribed.wait(5)
            assert wait_until(pub.is_connected)
            pub.publish("storeflow/S1/R1/events", b'{"hello": 1}').wait_for_publish(5)
            assert got_one.wait(5)
            assert received == [b'{"hello": 1}']
        finally:
            pub.disconnect()
            pub.loop_stop()
            sub.disconnect()
            sub.loop_stop()
    assert not broker.running


def test_in_process_broker_restarts_on_the_same_port() -> None:
    broker = InProcessBroker()
    port = broker.start()
    broker.stop()
    assert broker.start() == port
    sink = Collector()
    topic = unique_topic("R5")
    loop = MqttReaderLoop("R5", broker.url, topic, ImpinjIotDecoder("R5"), sink)
    loop.start()
    emitter = ImpinjMqttEmitter(broker.url, topic, "impinj-r5")
    try:
        assert loop.wait_connected(5)
        assert emitter.wait_connected(5)
        emitter.emit(sim_reads(2, reader_id="R5"))
        assert len(sink.wait_for(2)) == 2
    finally:
        emitter.close()
        loop.stop()
        broker.stop()
