"""Simulated MQTT readers: the simulator's reads published as Impinj or Zebra JSON events.

Each emitter is a paho-mqtt publisher on one topic; the demo uses
``storeflow/<store_id>/<reader_id>/events``. Like Impinj and Zebra readers configured for
reliable delivery, it publishes with QoS 1 on a persistent session and, while the broker is
away, queues its messages (bounded) and publishes them in order once it is back. The event
timestamp is the reader's own clock (``SimRead.reader_t``, plus ``clock_offset_s``), so the edge
has real skew to correct.
The Zebra emitter reproduces the IoT Connector's batching quirks: several events in one message,
sometimes back to back with no delimiter (``}{``), sometimes as a JSON array.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from firmware_sim.encoders import impinj_tag_event, zebra_tag_event
from firmware_sim.model import SimRead
from storeflow.backoff import BACKOFF_INITIAL_S, BACKOFF_MAX_S

logger = logging.getLogger(__name__)

_QOS = 1
QUEUE_MAX = 100_000  # messages kept while the broker is away


def demo_topic(store_id: str, reader_id: str) -> str:
    """The topic convention of the demo: ``storeflow/<store_id>/<reader_id>/events``."""
    return f"storeflow/{store_id}/{reader_id}/events"


class Packing(StrEnum):
    """How a Zebra message carries its events."""

    SINGLE = "single"  # one object
    CONCATENATED = "concatenated"  # objects back to back: ``{...}{...}``
    ARRAY = "array"  # ``[{...}, {...}]``


def pack_events(events: Sequence[bytes], packing: Packing) -> bytes:
    """Join encoded JSON objects into one message body."""
    if packing is Packing.ARRAY:
        return b"[" + b",".join(events) + b"]"
    if packing is Packing.SINGLE and len(events) != 1:
        raise ValueError("a single-event message carries exactly one event")
    return b"".join(events)


def plan_messages(
    count: int, rng: random.Random, *, max_batch: int = 4
) -> list[tuple[Packing, int]]:
    """Split ``count`` events, in order, into messages: ``(packing, number of events)`` each.

    About half the messages carry one event; the rest carry 2..``max_batch`` events, either
    concatenated or as an array. The sizes add up to ``count``.
    """
    plan: list[tuple[Packing, int]] = []
    left = count
    while left > 0:
        if left == 1 or rng.random() < 0.5:
            plan.append((Packing.SINGLE, 1))
            left -= 1
            continue
        packing = Packing.CONCATENATED if rng.random() < 0.5 else Packing.ARRAY
        size = min(left, rng.randint(2, max_batch))
        plan.append((packing, size))
        left -= size
    return plan


@dataclass(slots=True)
class PublishStats:
    events: int = 0  # tag events published
    messages: int = 0  # MQTT messages published
    dropped: int = 0  # events not published (the queue was full)
    queued: int = 0  # events that waited for the broker before being published


class _MqttPublisher:
    """A paho publisher that connects in the background and keeps reconnecting."""

    def __init__(self, mqtt_url: str, topic: str, client_name: str) -> None:
        parts = urlsplit(mqtt_url)
        if parts.scheme.lower() not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname:
            raise ValueError(f"bad MQTT URL {mqtt_url!r}")
        tls = parts.scheme.lower() in ("mqtts", "ssl")
        self.topic = topic
        self.stats = PublishStats()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._queue: deque[tuple[bytes, int]] = deque()
        client_id = f"storeflow-sim-{client_name}-{uuid.uuid4().hex[:8]}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if parts.username is not None:
            password = unquote(parts.password) if parts.password is not None else None
            self._client.username_pw_set(unquote(parts.username), password)
        if tls:
            self._client.tls_set()
        self._client.reconnect_delay_set(BACKOFF_INITIAL_S, BACKOFF_MAX_S)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.connect_async(parts.hostname, parts.port or (8883 if tls else 1883))
        self._client.loop_start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, payload: bytes, events: int) -> None:
        """Publish now, or queue until the broker is back (in order, bounded)."""
        with self._lock:
            if self._connected.is_set() and not self._queue and self._send(payload, events):
                return
            if len(self._queue) >= QUEUE_MAX:
                self.stats.dropped += events
                return
            self._queue.append((payload, events))
            self.stats.queued += events

    @property
    def queued_messages(self) -> int:
        with self._lock:
            return len(self._queue)

    def _send(self, payload: bytes, events: int) -> bool:
        info = self._client.publish(self.topic, payload, qos=_QOS)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        self.stats.messages += 1
        self.stats.events += events
        return True

    def _flush(self) -> None:
        with self._lock:
            while self._queue and self._connected.is_set():
                payload, events = self._queue[0]
                if not self._send(payload, events):
                    break
                self._queue.popleft()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.warning("simulated reader on %s: broker refused: %s", self.topic, reason_code)
            return
        self._connected.set()
        self._flush()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        _reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()


def _reader_time(read: SimRead, offset_s: float) -> datetime:
    return datetime.fromtimestamp(read.reader_t + offset_s, tz=UTC)


class ImpinjMqttEmitter:
    """An Impinj R700 publishing one ``tagInventory`` event per read."""

    def __init__(
        self,
        mqtt_url: str,
        topic: str,
        hostname: str,
        *,
        clock_offset_s: float = 0.0,
        use_base64: bool = False,
    ) -> None:
        self.hostname = hostname
        self.clock_offset_s = clock_offset_s
        self.use_base64 = use_base64
        self._pub = _MqttPublisher(mqtt_url, topic, hostname)

    @property
    def stats(self) -> PublishStats:
        return self._pub.stats

    @property
    def connected(self) -> bool:
        return self._pub.connected

    def wait_connected(self, timeout: float) -> bool:
        return self._pub.wait_connected(timeout)

    def emit(self, reads: Sequence[SimRead]) -> None:
        for read in reads:
            payload = impinj_tag_event(
                hostname=self.hostname,
                epc_hex=read.epc,
                antenna=read.antenna,
                rssi_dbm=read.rssi_dbm,
                at=_reader_time(read, self.clock_offset_s),
                use_base64=self.use_base64,
            )
            self._pub.publish(payload, 1)

    def close(self) -> None:
        self._pub.close()


class ZebraMqttEmitter:
    """A Zebra FX reader's IoT Connector: events sometimes batched as ``}{`` or a JSON array."""

    def __init__(
        self,
        mqtt_url: str,
        topic: str,
        hostname: str,
        *,
        clock_offset_s: float = 0.0,
        seed: int = 0,
        max_batch: int = 4,
    ) -> None:
        if max_batch < 2:
            raise ValueError("max_batch must be >= 2")
        self.hostname = hostname
        self.clock_offset_s = clock_offset_s
        self.max_batch = max_batch
        self._rng = random.Random(seed)
        self._event_num = 0
        self._pub = _MqttPublisher(mqtt_url, topic, hostname)

    @property
    def stats(self) -> PublishStats:
        return self._pub.stats

    @property
    def connected(self) -> bool:
        return self._pub.connected

    def wait_connected(self, timeout: float) -> bool:
        return self._pub.wait_connected(timeout)

    def emit(self, reads: Sequence[SimRead]) -> None:
        events = [self._event(read) for read in reads]
        pos = 0
        for packing, size in plan_messages(len(events), self._rng, max_batch=self.max_batch):
            self._pub.publish(pack_events(events[pos : pos + size], packing), size)
            pos += size

    def close(self) -> None:
        self._pub.close()

    def _event(self, read: SimRead) -> bytes:
        self._event_num += 1
        return zebra_tag_event(
            epc_hex=read.epc,
            antenna=read.antenna,
            rssi_dbm=read.rssi_dbm,
            at=_reader_time(read, self.clock_offset_s),
            event_num=self._event_num,
        )
