"""MQTT publisher (paho-mqtt 2.x): the result and the job status, retained, QoS 1.

Topics (``<id>`` = base64url of the product id, no padding, as in the AAS HTTP API):

- ``<prefix>/<id>/result``: the last result (retained, QoS 1, ``payload.result_payload``);
- ``<prefix>/<id>/status``: queued, solving (with progress), done, failed (retained, QoS 1).

Delivery: MQTT 5 with a persistent session (clean start off, session expiry), falling back to
3.1.1 with a persistent session when the broker refuses version 5. The client id is unique per
process (two runs on one host must not take over each other's connection) and stable across the
reconnects of that process; paho reconnects with exponential backoff, and QoS 1 messages published
while the broker is away are queued in memory and sent when it returns. A restart of the broker
keeps what the broker persists (retained messages, sessions, queued messages for persistent
subscribers). A restart of *our* process loses what was still queued in memory: ``close`` waits for
every acknowledgement and raises if any is missing, and publishing the same result again is harmless
(retained, same ``run_id``).

Threading: paho calls ``on_publish`` from its network thread while holding its own outgoing-message
lock, so this class never calls into paho while holding a lock of its own. Acknowledgements are
counted per message id (publish adds one, the PUBACK callback removes one), which is correct in
whichever order the two happen.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from aas_quantum.aas import b64
from aas_quantum.config import Layers, parse_url
from aas_quantum.errors import AasQuantumError, ConfigError, ExitCode
from aas_quantum.publish.payload import status_payload

log = logging.getLogger(__name__)
PROTOCOLS = {"5": paho.MQTTv5, "3.1.1": paho.MQTTv311}
UNSUPPORTED_PROTOCOL = (1, 132)  # 3.1.1 "unacceptable protocol version", 5 "unsupported protocol version"


class PublishError(AasQuantumError):
    """The broker could not be reached or did not acknowledge every message."""

    exit_code = ExitCode.BROKER


# connections lost in a row, none acknowledging anything, after which a flush stops waiting: a message
# the broker will not take (mosquitto answers one over message_size_limit with a PUBACK code paho cannot
# decode, and paho drops the connection) is resent at every reconnect and never acknowledged
GIVE_UP_AFTER_DROPS = 5


def publish_packet_size(topic_name: str, body: bytes, protocol: str) -> int:
    """Bytes of the QoS 1 PUBLISH packet: what a broker's Maximum Packet Size is compared with."""
    remaining = 2 + len(topic_name.encode()) + 2 + len(body) + (1 if protocol == "5" else 0)
    length_bytes = 1 + (remaining >= 128) + (remaining >= 16_384) + (remaining >= 2_097_152)
    return 1 + length_bytes + remaining


def topic(prefix: str, product_id: str, kind: str) -> str:
    return f"{prefix}/{b64(product_id)}/{kind}"


def default_client_id() -> str:
    """``aas-quantum-<host>-<pid>-<random>``: unique per process, so two runs on one host never share
    a session (the broker would disconnect one in favour of the other), at most 64 characters."""
    return f"aas-quantum-{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class MqttSettings:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_id: str = ""
    topic_prefix: str = "aas-quantum"
    protocol: str = "auto"  # "5", "3.1.1" or "auto" (5, then 3.1.1)
    keepalive_s: int = 30
    session_expiry_s: int = 86400
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    connect_timeout_s: float = 10.0

    @classmethod
    def resolve(cls, url: str | None = None, **overrides: Any) -> MqttSettings:
        """Arguments, then ``AAS_QUANTUM_MQTT_*`` environment variables, then ``[mqtt]`` in the config file."""
        values = Layers.of("mqtt", "AAS_QUANTUM_MQTT_").typed(cls, {**overrides, "url": url or None})
        url = values.pop("url", None)
        if not url:
            raise ConfigError("no MQTT broker given (--mqtt, AAS_QUANTUM_MQTT_URL or url in [mqtt])")
        parsed = parse_url(url, ("mqtt", "mqtts"), "MQTT broker URL", "mqtt://host:1883 or mqtts://host:8883")
        for name in ("ca_file", "cert_file", "key_file"):
            if values.get(name) == "":
                values[name] = None  # an empty setting switches a file off
            elif values.get(name) is not None and not os.path.isfile(values[name]):
                raise ConfigError(f"MQTT {name} {values[name]!r} is not a file")
        if values.get("protocol", "auto") not in ("auto", *PROTOCOLS):
            raise ConfigError(f"MQTT protocol must be auto, 5 or 3.1.1, got {values['protocol']!r}")
        if parsed.username and not values.get("username"):  # mqtt://user:password@host: never echoed
            values["username"], values["password"] = parsed.username, parsed.password
        values.setdefault("client_id", default_client_id())
        return cls(url=url, **values)

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or ""

    @property
    def endpoint(self) -> str:
        """``host:port``, for messages: never the URL, which may carry a password."""
        return f"{self.host}:{self.port}"

    @property
    def port(self) -> int:
        parsed = urlparse(self.url)
        return parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlparse(self.url).scheme == "mqtts" or self.ca_file is not None

    @property
    def first_protocol(self) -> str:
        """The version a connection starts with: 5 unless 3.1.1 is asked for ("auto" falls back later)."""
        return "3.1.1" if self.protocol == "3.1.1" else "5"


def new_client(settings: MqttSettings, protocol: str) -> paho.Client:
    """The paho client of every connection this package makes, the decision publisher's and the BaSyx
    event subscriber's: built in one place, so their TLS (certificate and host name verified), credentials,
    protocol version, persistent session and client id cannot drift apart. Callbacks are the caller's."""
    version = PROTOCOLS[protocol]
    # a persistent session either way: MQTT 5 asks for it at connect (clean_start), 3.1.1 here
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=version,
                         clean_session=None if version == paho.MQTTv5 else False)
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:  # stated, not left to paho's defaults, which have changed between its versions
        client.tls_set(ca_certs=settings.ca_file, certfile=settings.cert_file, keyfile=settings.key_file,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    # paho computes the back-off in floats; its annotation says int
    client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)  # type: ignore[arg-type]
    client.connect_timeout = settings.connect_timeout_s  # the first attempt's TCP connect and TLS handshake
    return client


def connect_persistent(client: paho.Client, settings: MqttSettings, protocol: str) -> None:
    """Point ``client`` at the broker, resuming its session: what was queued for it while it was away
    (QoS 1 events for a subscriber, unacknowledged messages of a publisher) is not lost.

    The first attempt is made here, not in paho's loop, which retries a failed TLS handshake silently for
    ever: a certificate that does not verify, or a plain port, is a PublishError naming it. A broker that
    is away is no error: paho's loop connects once it is back."""
    def arm() -> None:
        properties = None
        if protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = settings.session_expiry_s
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive_s, clean_start=False,
                             properties=properties)

    arm()
    try:
        client.reconnect()
    except ssl.SSLError as exc:  # a certificate that does not verify, or no TLS at the other end
        raise PublishError(f"MQTT broker {settings.endpoint}: TLS handshake failed: {exc} (ca_file / cert_file in "
                           "[mqtt], or is the port a TLS port?)") from None
    except OSError as exc:
        if settings.tls and isinstance(exc, ConnectionResetError):  # a plain listener hangs up on a ClientHello
            raise PublishError(f"MQTT broker {settings.endpoint} closed the connection during the TLS handshake: "
                               "is it a TLS port? (mqtts:// or ca_file asks for TLS)") from None
        log.info("MQTT broker %s not reachable (%s); retrying", settings.endpoint, exc)
        arm()


class MqttPublisher:
    """One connection with a persistent session; publish from any thread, then ``close``."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._connected = threading.Event()
        self._answered = threading.Event()  # any CONNACK, accepted or refused
        self._refused: str | None = None
        # message id -> publishes minus acknowledgements; guarded by _acks, which is never held while
        # calling paho (paho holds its own lock while it calls _on_publish)
        self._unacked: Counter[int] = Counter()
        self._acks = threading.Condition()
        self._published: Counter[str] = Counter()  # topic -> messages handed to paho
        # what the broker answered instead of taking a message: PUBACK reason codes >= 0x80 (MQTT 5), e.g.
        # "Not authorized" from an ACL; such a message is settled but was not delivered. Guarded by _acks.
        self._rejected: Counter[str] = Counter()
        self._drops: list[str] = []  # connections lost since the last acknowledgement (guarded by _acks)
        self._max_packet: int | None = None  # the broker's Maximum Packet Size (MQTT 5 CONNACK)
        self._protocol = settings.first_protocol
        self._client = self._new_client()

    def _new_client(self) -> paho.Client:
        client = new_client(self.settings, self._protocol)
        client.max_queued_messages_set(0)  # unbounded: nothing is dropped while the broker is away
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._acks:
            if reason.is_failure:
                self._rejected[f"{reason} ({reason.value})"] += 1
            self._drops.clear()
            self._settle(mid, -1)

    def _settle(self, mid: int, delta: int) -> None:
        """Net count of a message id; zero entries go, so the counter holds only what is outstanding."""
        self._unacked[mid] += delta
        if self._unacked[mid] == 0:
            del self._unacked[mid]
            self._acks.notify_all()

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._refused = f"{reason} ({reason.value})"
            log.warning("MQTT broker %s refused the connection: %s", self.settings.host, reason)
        else:
            self._refused = None
            self._max_packet = getattr(props, "MaximumPacketSize", None)
            log.info("MQTT connected to %s:%s (session present: %s)", self.settings.host, self.settings.port,
                     flags.session_present)
            self._connected.set()
        self._answered.set()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if reason.is_failure:
            with self._acks:
                if self._unacked:  # a drop with nothing outstanding says nothing about the messages
                    self._drops.append(str(reason))
                    self._acks.notify_all()
            log.warning("MQTT connection to %s lost (%s); reconnecting", self.settings.host, reason)

    def connect(self) -> MqttPublisher:
        """Start the network loop; wait up to ``connect_timeout_s`` for the first connection.

        Returns even if the broker is away (messages queue until it returns), but not when the
        broker actively refuses (bad credentials, not authorised): that is a configuration error.
        """
        self._start()
        if self._refused and self.settings.protocol == "auto" and self._protocol == "5" \
                and any(f"({code})" in self._refused for code in UNSUPPORTED_PROTOCOL):
            log.info("MQTT broker refuses version 5; falling back to 3.1.1")
            self._stop()
            self._protocol, self._refused = "3.1.1", None
            self._client = self._new_client()
            self._start()
        if self._refused:
            self._stop()
            raise PublishError(f"MQTT broker {self.settings.host}:{self.settings.port} refused the connection: "
                               f"{self._refused}")
        if not self._connected.is_set():
            log.warning("MQTT broker %s:%s not reachable yet; messages are queued", self.settings.host,
                        self.settings.port)
        return self

    def _start(self) -> None:
        s = self.settings
        self._connected.clear()
        self._answered.clear()
        connect_persistent(self._client, s, self._protocol)  # a broker away: messages queue meanwhile
        self._client.loop_start()
        self._answered.wait(s.connect_timeout_s)

    def _stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def protocol(self) -> str:
        return self._protocol

    def publish(self, topic_name: str, payload: dict[str, Any], retain: bool = True) -> None:
        # no lock of ours is held here: the PUBACK may be handled before publish() returns, and
        # _settle counts it whichever comes first
        body = json.dumps(payload, separators=(",", ":")).encode()
        size = publish_packet_size(topic_name, body, self._protocol)
        if self._max_packet is not None and size > self._max_packet:
            # sent anyway, the broker would drop the connection, and paho would resend it at every reconnect
            raise PublishError(f"MQTT message to {topic_name} is {size} bytes, more than the {self._max_packet} "
                               f"bytes broker {self.settings.endpoint} accepts (its maximum packet size)")
        info = self._client.publish(topic_name, body, qos=1, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):  # NO_CONN: queued for reconnect
            raise PublishError(f"MQTT publish to {topic_name} failed: {paho.error_string(info.rc)}")
        with self._acks:
            self._settle(info.mid, +1)
            self._published[topic_name] += 1

    def status(self, product_id: str, state: str, progress: float | None = None, stage: str = "",
               message: str = "", *, run_id: str) -> None:
        self.publish(topic(self.settings.topic_prefix, product_id, "status"),
                     status_payload(product_id, state, progress, stage, message, run_id=run_id))

    def result(self, product_id: str, payload: dict[str, Any]) -> None:
        self.publish(topic(self.settings.topic_prefix, product_id, "result"), payload)

    def flush(self, timeout_s: float = 30.0) -> list[str]:
        """Wait until the broker acknowledged every message; raise naming how many are missing.

        Returns one line per topic published to (``topic: N acknowledged``) for the run's report.
        """
        deadline = time.monotonic() + timeout_s
        with self._acks:
            while self._unacked and len(self._drops) < GIVE_UP_AFTER_DROPS \
                    and (left := deadline - time.monotonic()) > 0:
                self._acks.wait(left)
            missing = sum(self._unacked.values())
            published, rejected, drops = dict(self._published), dict(self._rejected), list(self._drops)
        if rejected:
            raise PublishError(f"{sum(rejected.values())} MQTT message(s) refused by {self.settings.endpoint}: "
                               + ", ".join(f"{reason} x{n}" for reason, n in rejected.items()))
        if missing and len(drops) >= GIVE_UP_AFTER_DROPS:
            raise PublishError(f"{missing} MQTT message(s) not acknowledged by {self.settings.endpoint}: it closed "
                               f"the connection {len(drops)} times in a row with nothing acknowledged (last: "
                               f"{drops[-1]}), as it does for a message larger than it accepts (mosquitto: "
                               "message_size_limit)")
        if missing:
            raise PublishError(f"{missing} MQTT message(s) not acknowledged by {self.settings.endpoint} "
                               f"within {timeout_s:g} s" + (f" (connection lost: {drops[-1]})" if drops else ""))
        return [f"MQTT {name}: {count} message(s) acknowledged by {self.settings.endpoint}"
                for name, count in published.items()]

    def close(self, timeout_s: float = 30.0) -> list[str]:
        try:
            return self.flush(timeout_s)
        finally:
            self._stop()

    def __enter__(self) -> MqttPublisher:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()
