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
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from aas_quantum.aas import unb64
from aas_quantum.errors import BomInputError
from aas_quantum.publish import MqttSettings, connect_persistent, new_client

log = logging.getLogger(__name__)

ACTIONS = ("created", "updated", "deleted")


@dataclass(frozen=True)
class Change:
    kind: str  # "submodel" or "shell"
    identifier: str
    action: str  # created | updated | deleted
    semantic_id: str = ""  # of a submodel, when the payload carries it
    submodel_refs: tuple[str, ...] = ()  # of a shell, when the payload carries it


class MalformedEvent(BomInputError):
    """An event on a BaSyx topic whose payload is not what BaSyx sends; the message names topic and field."""


def parse(topic: str, payload: bytes) -> Change | None:
    """The change a BaSyx event announces; None for topics and payloads that are none. A payload that
    claims to be a shell or submodel but is malformed (``semanticId`` not an object, a key not an
    object) raises ``MalformedEvent``: it is no change, and the caller says so once."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[-1] not in ACTIONS:
        return None
    body: Any = None
    try:
        body = json.loads(payload) if payload else None
    except (ValueError, RecursionError):  # also UnicodeDecodeError; RecursionError: deep nesting
        body = None
    if parts[0] == "sm-repository" and parts[2] == "submodels":
        if len(parts) == 4 and isinstance(body, dict) and isinstance(body.get("id"), str):
            return Change("submodel", body["id"], parts[3], _first_key(body.get("semanticId"), topic, "semanticId"))
        if len(parts) > 5 and parts[4] == "submodelElements" and (identifier := unb64(parts[3])):
            return Change("submodel", identifier, "updated")  # an element changed: its submodel did
        return None
    if parts[0] == "aas-repository" and parts[2] == "shells" and len(parts) == 4 and isinstance(body, dict) \
            and isinstance(body.get("id"), str):
        refs = body.get("submodels") or []
        if not isinstance(refs, list):
            raise MalformedEvent(f"event on {topic}: submodels must be a list of references, got {_kind(refs)}")
        return Change("shell", body["id"], parts[3], submodel_refs=tuple(
            _first_key(r, topic, f"submodels[{i}]", last=True) for i, r in enumerate(refs)))
    return None


def _first_key(reference: Any, topic: str, field: str, last: bool = False) -> str:
    """The value of a reference's first (or last) key; "" when the reference is absent or has no keys."""
    if reference is None:
        return ""
    if not isinstance(reference, dict):
        raise MalformedEvent(f"event on {topic}: {field} must be a reference object, got {_kind(reference)}")
    keys = reference.get("keys") or []
    if not isinstance(keys, list):
        raise MalformedEvent(f"event on {topic}: {field}.keys must be a list, got {_kind(keys)}")
    if not keys:
        return ""
    key = keys[-1 if last else 0]
    if not isinstance(key, dict):
        raise MalformedEvent(f"event on {topic}: {field}.keys[{len(keys) - 1 if last else 0}] must be an object "
                             f"with type and value, got {_kind(key)}")
    value = key.get("value")
    return value if isinstance(value, str) else ""


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {json.dumps(value)[:60]}"


class EventSubscriber:
    """Subscribes to BaSyx's event topics and hands every change to ``on_change`` (from the subscriber's
    thread; ``on_change`` must not block). Every message is acknowledged once it has been handled,
    a malformed one included: a message that cannot be handled is logged and dropped, never
    redelivered to fail again, and nothing it raises reaches paho's loop (which would end it)."""

    def __init__(self, settings: MqttSettings, on_change: Callable[[Change], None],
                 sm_repository_ids: str = "+", aas_repository_ids: str = "+") -> None:
        self.settings, self.on_change = settings, on_change
        self.topics = [f"sm-repository/{r.strip()}/submodels/#" for r in sm_repository_ids.split(",") if r.strip()] \
            + [f"aas-repository/{r.strip()}/shells/#" for r in aas_repository_ids.split(",") if r.strip()]
        self._connected = threading.Event()  # connected and subscribed
        self._last_failure = ""  # why the last attempt failed, for readiness; written by paho's thread only
        self._client = new_client(settings, settings.first_protocol)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._last_failure = f"refused: {reason}"
            log.warning("event broker %s refused the connection: %s", self.settings.endpoint, reason)
            return
        self._last_failure = ""
        client.subscribe([(t, 1) for t in self.topics])  # again on every reconnect

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.warning("event broker %s refused the subscription: %s", self.settings.endpoint, ", ".join(refused))
            return
        self._connected.set()  # events published from now on reach us

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho calls this inside its ``except OSError`` and passes no exception: the one being handled is it
        failure = sys.exc_info()[1]
        reason = f"{type(failure).__name__}: {failure}" if failure else "connection failed"
        if reason != self._last_failure:  # once per new reason, not at every retry
            log.warning("event broker %s: %s; retrying", self.settings.endpoint, reason)
        self._last_failure = reason

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        self._last_failure = f"connection lost: {reason}"

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            change = parse(message.topic, message.payload)
            if change is not None:
                self.on_change(change)
        except MalformedEvent as exc:
            log.warning("ignored a malformed event: %s", exc)
        except Exception:
            log.exception("ignored an event on %s that could not be handled", message.topic)

    def connect(self) -> EventSubscriber:
        """The first attempt: a TLS failure is a PublishError now, before the service serves; a broker that
        is away is none (``start`` connects once it is back). Events are kept while away (persistent session)."""
        connect_persistent(self._client, self.settings, self.settings.first_protocol)
        return self

    def start(self) -> None:
        """Subscribe and receive, in paho's thread, which reconnects with backoff after the broker restarts."""
        self._client.loop_start()

    def connected(self) -> bool:
        return self._connected.is_set()

    def check(self) -> None:
        """Raise unless events are being received (readiness)."""
        thread = self._client._thread  # paho's network thread; it ends only when an exception escapes it
        if thread is None or not thread.is_alive():
            raise ConnectionError("the event subscriber's network thread stopped")
        if not self.connected():
            why = f" ({self._last_failure})" if self._last_failure else ""
            raise ConnectionError(f"not connected to {self.settings.endpoint}{why}")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
