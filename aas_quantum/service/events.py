"""BaSyx MQTT eventing, read: which shell or submodel a message says was created, updated or deleted.

Topics (BaSyx Java): ``sm-repository/<repoId>/submodels/created|updated|deleted`` with the
submodel JSON as payload; element events under
``sm-repository/<repoId>/submodels/<base64url(id)>/submodelElements/<idShortPath>/created|updated|deleted``;
``aas-repository/<repoId>/shells/created|updated|deleted`` with the shell JSON. ``EventSubscriber``
keeps a persistent session (QoS 1), so events sent while the service was away are delivered.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from aas_quantum.aas.ids import unb64
from aas_quantum.publish.mqtt import MqttSettings

log = logging.getLogger(__name__)

ACTIONS = ("created", "updated", "deleted")


@dataclass(frozen=True)
class Change:
    kind: str  # "submodel" or "shell"
    identifier: str
    action: str  # created | updated | deleted
    semantic_id: str = ""  # of a submodel, when the payload carries it
    submodel_refs: tuple[str, ...] = ()  # of a shell, when the payload carries it


def parse(topic: str, payload: bytes) -> Change | None:
    """The change a BaSyx event announces; None for topics and payloads that are none."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[-1] not in ACTIONS:
        return None
    body: Any = None
    try:
        body = json.loads(payload) if payload else None
    except ValueError:
        body = None
    if parts[0] == "sm-repository" and parts[2] == "submodels":
        if len(parts) == 4 and isinstance(body, dict) and isinstance(body.get("id"), str):
            keys = (body.get("semanticId") or {}).get("keys") or [{}]
            return Change("submodel", body["id"], parts[3], str(keys[0].get("value") or ""))
        if len(parts) > 5 and parts[4] == "submodelElements" and (identifier := unb64(parts[3])):
            return Change("submodel", identifier, "updated")  # an element changed: its submodel did
        return None
    if parts[0] == "aas-repository" and parts[2] == "shells" and len(parts) == 4 and isinstance(body, dict) \
            and isinstance(body.get("id"), str):
        refs = tuple(str(((r.get("keys") or [{}])[-1]).get("value", "")) for r in body.get("submodels") or []
                     if isinstance(r, dict))
        return Change("shell", body["id"], parts[3], submodel_refs=refs)
    return None


class EventSubscriber:
    """Subscribes to BaSyx's event topics and hands every change to ``on_change`` (from paho's thread;
    ``on_change`` must not block)."""

    def __init__(self, settings: MqttSettings, on_change: Callable[[Change], None],
                 sm_repository_ids: str = "+", aas_repository_ids: str = "+") -> None:
        self.settings, self.on_change = settings, on_change
        self.topics = [f"sm-repository/{r.strip()}/submodels/#" for r in sm_repository_ids.split(",") if r.strip()] \
            + [f"aas-repository/{r.strip()}/shells/#" for r in aas_repository_ids.split(",") if r.strip()]
        self._connected = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                                   protocol=paho.MQTTv5)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            self._client.tls_set(ca_certs=settings.ca_file, certfile=settings.cert_file, keyfile=settings.key_file)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(int(settings.reconnect_min_s) or 1, int(settings.reconnect_max_s))

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("event broker %s refused the connection: %s", self.settings.endpoint, reason)
            return
        client.subscribe([(t, 1) for t in self.topics])  # again on every reconnect
        self._connected.set()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        change = parse(message.topic, message.payload)
        if change is not None:
            self.on_change(change)

    def start(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_s  # persistent: events kept while away
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s,
                                   clean_start=False, properties=properties)
        self._client.loop_start()

    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
