"""Publishing edges: the decision as MQTT messages and OPC UA nodes, and the one MQTT client factory
(``new_client``) the service's BaSyx event subscriber connects with too.

The OPC UA names load asyncua on first use: a run that publishes over MQTT only never imports it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aas_quantum.publish.mqtt import MqttPublisher, MqttSettings, PublishError, connect_persistent, new_client, topic
from aas_quantum.publish.payload import result_payload, schema

if TYPE_CHECKING:
    from aas_quantum.publish.opcua import OpcUaClientSettings, OpcUaResultServer, OpcUaServerSettings, write_nodes

_OPCUA = ("OpcUaClientSettings", "OpcUaResultServer", "OpcUaServerSettings", "write_nodes")

__all__ = [
    "MqttPublisher",
    "MqttSettings",
    "OpcUaClientSettings",
    "OpcUaResultServer",
    "OpcUaServerSettings",
    "PublishError",
    "connect_persistent",
    "new_client",
    "result_payload",
    "schema",
    "topic",
    "write_nodes",
]


def __getattr__(name: str) -> Any:
    if name in _OPCUA:
        return getattr(importlib.import_module("aas_quantum.publish.opcua"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
