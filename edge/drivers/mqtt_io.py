"""The I/O loop of an MQTT reader: broker topic -> :class:`~edge.reads.MessageDecoder` -> callback.

A paho-mqtt 2.x client subscribes to the reader's topic on every (re)connect. The connection is
made asynchronously, so :meth:`MqttReaderLoop.start` succeeds while the broker is down; paho's
network thread keeps retrying with back-off, and :meth:`MqttReaderLoop.health` says whether it
is connected.

The session is persistent (a stable client id and ``clean_session=False``) and the subscription
QoS 1, so the broker keeps the reader's messages while the edge is away and delivers them when
it is back (a broker that restarts must persist its sessions: Mosquitto's ``persistence true``).
A message that makes the decoder raise (deep nesting, an integer too large for a float) is
counted in the decoder's errors as ``exception`` and dropped; it never reaches paho's thread.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.drivers.serial_io import reader_health
from edge.reads import MessageDecoder, TagRead
from edge.supervise import Supervisor
from storeflow.backoff import BACKOFF_INITIAL_S, BACKOFF_MAX_S
from storeflow.clock import Clock, SystemClock
from storeflow.wire import ReaderHealth

logger = logging.getLogger(__name__)

_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """A broker address parsed from ``mqtt[s]://[user[:password]@]host[:port]``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> MqttTarget:
    """Parse a broker URL; the port defaults to 1883 (``mqtt://``) or 8883 (``mqtts://``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r} in {url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {url!r} has no host")
    tls = _SCHEMES[scheme]
    return MqttTarget(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def make_client(target: MqttTarget, client_id: str, *, persistent: bool = True) -> mqtt.Client:
    """A paho client configured for ``target`` (credentials, TLS), not yet connected.

    ``persistent``: the broker keeps the session (subscriptions, queued QoS 1 messages) across
    disconnects, for this ``client_id``."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent
    )
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    # paho's hints say int, but its back-off arithmetic takes float seconds.
    client.reconnect_delay_set(BACKOFF_INITIAL_S, BACKOFF_MAX_S)  # type: ignore[arg-type]
    return client


class MqttReaderLoop:
    """Subscribes to one reader's topic and hands decoded reads to ``on_reads``."""

    def __init__(
        self,
        reader_id: str,
        mqtt_url: str,
        topic: str,
        decoder: MessageDecoder,
        on_reads: Callable[[list[TagRead]], None],
        *,
        clock: Clock | None = None,
        qos: int = 1,
        keepalive_s: int = 30,
        client_id: str | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.reader_id = reader_id
        self.mqtt_url = mqtt_url
        self.topic = topic
        self.decoder = decoder
        self.on_reads = on_reads
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.qos = qos
        self.keepalive_s = keepalive_s
        self.target = parse_mqtt_url(mqtt_url)
        # Stable across restarts, so the broker's session (and its queued messages) is ours again.
        topic_tag = hashlib.sha1(f"{mqtt_url}|{topic}".encode()).hexdigest()[:8]
        self.client_id = client_id or f"storeflow-edge-{reader_id}-{topic_tag}"
        self.supervisor = supervisor if supervisor is not None else Supervisor()
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()  # CONNACK received
        self._subscribed = threading.Event()  # SUBACK received: messages flow
        self._connects = 0
        self._outage_logged = False
        self._reads_total = 0
        self._last_read_at: float | None = None

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background; never fails because the broker is down."""
        if self._client is not None:
            return
        client = make_client(self.target, self.client_id)
        name = f"reader-{self.reader_id}-mqtt"
        guard = self.supervisor.guard
        client.on_connect = guard(name, self._on_connect, None)
        client.on_connect_fail = guard(name, self._on_connect_fail, None)
        client.on_disconnect = guard(name, self._on_disconnect, None)
        client.on_subscribe = guard(name, self._on_subscribe, None)
        client.on_message = guard(name, self._on_message, None)
        self._client = client
        client.connect_async(self.target.host, self.target.port, keepalive=self.keepalive_s)
        client.loop_start()
        logger.info(
            "reader %s: connecting to %s:%s topic %s",
            self.reader_id,
            self.target.host,
            self.target.port,
            self.topic,
        )

    def stop(self, timeout: float = 5.0) -> None:
        del timeout  # paho's loop_stop() joins its network thread and takes no timeout
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        client.loop_stop()
        self._connected.clear()
        self._subscribed.clear()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected and subscribed (True) or ``timeout`` passes (False)."""
        return self._subscribed.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def reconnects(self) -> int:
        """Successful connects after the first one."""
        return max(self._connects - 1, 0)

    def health(self) -> ReaderHealth:
        return reader_health(
            self.decoder.stats,
            connected=self._subscribed.is_set(),  # connected and subscribed: messages flow
            reads_total=self._reads_total,
            reconnects=self.reconnects,
            last_read_at=self._last_read_at,
        )

    # -- paho callbacks (network thread) ------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._outage(f"broker refused the connection: {reason_code}")
            return
        client.subscribe(self.topic, qos=self.qos)
        self._connects += 1
        if self._connects > 1 or self._outage_logged:
            logger.warning("reader %s: reconnected to the broker", self.reader_id)
        else:
            logger.info("reader %s: connected to the broker", self.reader_id)
        self._outage_logged = False
        self._connected.set()

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        if any(rc.is_failure for rc in reason_codes):
            logger.warning(
                "reader %s: broker refused the subscription to %s: %s",
                self.reader_id,
                self.topic,
                reason_codes,
            )
            return
        self._subscribed.set()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._outage("cannot connect to the broker")

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if self._client is None:  # stop() in progress
            return
        if was_connected:
            self._outage(f"connection to the broker lost: {reason_code}")

    def _outage(self, what: str) -> None:
        self._connected.clear()
        self._subscribed.clear()
        if not self._outage_logged:
            self._outage_logged = True
            logger.warning(
                "reader %s: %s (%s:%s); retrying",
                self.reader_id,
                what,
                self.target.host,
                self.target.port,
            )

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            reads = self.decoder.decode(bytes(message.payload), self.clock.now())
        except Exception as exc:  # RecursionError, OverflowError ...: one bad message, dropped
            self.decoder.stats.bad("exception")
            logger.warning(
                "reader %s: a message broke the decoder (%s: %.200s); dropped",
                self.reader_id,
                exc.__class__.__name__,
                exc,
            )
            return
        if not reads:
            return
        self._reads_total += len(reads)
        self._last_read_at = reads[-1].host_ts
        try:
            self.on_reads(reads)
        except Exception:
            logger.exception("reader %s: on_reads callback failed", self.reader_id)
