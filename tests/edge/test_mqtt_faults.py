"""MQTT readers: a poison message never stops the callback thread, and a broker restart loses
no read (persistent sessions, QoS 1, readers that queue while the broker is away)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.drivers.impinj_iot import ImpinjIotDecoder
from edge.drivers.mqtt_io import MqttReaderLoop
from firmware_sim.model import SimRead
from firmware_sim.mqtt_emitter import ImpinjMqttEmitter, demo_topic
from tests.fix_mqtt import BrokerProcess
from tests.helpers.waiting import Collector, wait_until

T0 = 1_790_000_000.0
EPC = "3500079FF00000400000000C"


def reads(start: int, n: int) -> list[SimRead]:
    return [
        SimRead(
            t=T0 + i * 0.1,
            reader_id="R7",
            antenna=i % 4 + 1,
            epc=EPC,
            rssi_dbm=-50.0,
            reader_t=T0 + i * 0.1,
        )
        for i in range(start, start + n)
    ]


def publish_raw(url_port: int, topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    try:
        for p in payloads:
            client.publish(topic, p, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_poison_messages_do_not_stop_the_callback_thread(mqtt_broker: BrokerProcess) -> None:
    topic = demo_topic(f"t-{uuid.uuid4().hex[:8]}", "R7")
    sink = Collector()
    loop = MqttReaderLoop("R7", mqtt_broker.url, topic, ImpinjIotDecoder("R7"), sink)
    loop.start()
    try:
        assert loop.wait_connected(5)
        huge = {
            "timestamp": "2026-11-02T10:00:00Z",
            "eventType": "tagInventory",
            "tagInventoryEvent": {"epcHex": EPC, "antennaPort": 1, "peakRssiCdbm": 10**400},
        }
        good = dict(huge, tagInventoryEvent={"epcHex": EPC, "antennaPort": 2})
        publish_raw(
            mqtt_broker.port,
            topic,
            [b"[" * 100_000, json.dumps(huge).encode(), json.dumps(good).encode()],
        )
        got = sink.wait_for(1)
        assert [(r.epc, r.antenna) for r in got] == [(EPC, 2)]
        assert wait_until(lambda: loop.health().errors.get("exception") == 2)
        assert loop.health().connected
    finally:
        loop.stop()


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs a persistent Mosquitto")
def test_broker_restart_loses_no_read(tmp_path: Path) -> None:
    broker = BrokerProcess("mosquitto", tmp_path, persistence=True)
    broker.start()
    topic = demo_topic("restart", "R7")
    sink = Collector()
    loop = MqttReaderLoop("R7", broker.url, topic, ImpinjIotDecoder("R7"), sink)
    emitter: ImpinjMqttEmitter | None = None
    try:
        loop.start()
        assert loop.wait_connected(10)
        emitter = ImpinjMqttEmitter(broker.url, topic, "impinj-r7")
        assert emitter.wait_connected(10)
        emitter.emit(reads(0, 100))  # some still in flight when the broker goes
        broker.stop()
        assert wait_until(lambda: not loop.connected and not emitter.connected)
        emitter.emit(reads(100, 100))  # the broker is away: the reader queues these
        broker.start()
        assert loop.wait_connected(15)
        assert emitter.wait_connected(15)
        emitter.emit(reads(200, 100))

        def distinct() -> list[float]:  # QoS 1 is at least once: duplicates are fine
            return sorted({round(r.reader_ts or 0.0, 3) for r in list(sink.reads)})

        wait_until(lambda: len(distinct()) >= 300, timeout=20)
        assert distinct() == [round(T0 + i * 0.1, 3) for i in range(300)]
        assert emitter.stats.dropped == 0
        assert emitter.stats.queued >= 100
    finally:
        if emitter is not None:
            emitter.close()
        loop.stop()
        broker.stop()
