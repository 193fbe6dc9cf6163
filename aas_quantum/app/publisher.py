"""A run as the outside world sees it: queued, solving with progress, then done or failed, told to
every configured publisher (MQTT topics, nodes of an existing OPC UA server). ``RunPublisher`` is
a listener of ``execute``'s events."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aas_quantum.app.events import RunEvent, RunState
from aas_quantum.publish.mqtt import MqttPublisher
from aas_quantum.publish.payload import result_payload
from aas_quantum.sanitize import redact_url

if TYPE_CHECKING:  # asyncua takes 0.4 s to import: only runs that write OPC UA nodes pay for it
    from aas_quantum.publish.opcua import OpcUaClientSettings


class RunPublisher:
    def __init__(self, mqtt: MqttPublisher | None = None, opcua: OpcUaClientSettings | None = None) -> None:
        self.mqtt = mqtt
        self.opcua = opcua
        self.deliveries: list[str] = []  # one line per sink and target, for the run's report

    def __call__(self, event: RunEvent) -> None:
        """The result goes out before the status ``done``: a consumer seeing done finds the result."""
        if event.state == RunState.DONE and event.summary is not None and self.mqtt:
            self.mqtt.result(event.product_id, result_payload(event.summary, event.result_submodel_id))
        if self.mqtt:
            self.mqtt.status(event.product_id, event.state.value, event.progress, event.stage, event.message,
                             run_id=event.run_id)
        if event.state == RunState.DONE and event.summary is not None and self.opcua:
            from aas_quantum.publish.opcua import write_nodes

            written = asyncio.run(write_nodes(self.opcua, event.summary))
            self.deliveries.append(f"OPC UA {redact_url(self.opcua.url)}: {written} node(s) written")

    def close(self) -> list[str]:
        """Wait for every acknowledgement; the lines say what each sink confirmed."""
        if self.mqtt:
            self.deliveries.extend(self.mqtt.close())
        return self.deliveries
