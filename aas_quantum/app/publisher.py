"""A run as the outside world sees it: MQTT is told every state (queued, solving with progress, then
done or failed) and the result; the nodes of an existing OPC UA server get the result's values once the
run is done, and nothing of a run that failed. ``RunPublisher`` is a listener of ``execute``'s events
and holds no job: `run` gives it one run, the services (HTTP, OPC UA) every run they start."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aas_quantum.app.events import RunEvent, RunState
from aas_quantum.publish import MqttPublisher, result_payload
from aas_quantum.sanitize import redact_url

if TYPE_CHECKING:  # asyncua takes 0.4 s to import: only runs that write OPC UA nodes pay for it
    from aas_quantum.publish import OpcUaClientSettings


class RunPublisher:
    """The configured sinks (each optional) and what they confirmed, for as many runs as it is told about."""

    def __init__(self, mqtt: MqttPublisher | None = None, opcua: OpcUaClientSettings | None = None) -> None:
        self.mqtt = mqtt
        self.opcua = opcua
        self.deliveries: list[str] = []  # one line per sink and target, for the report of `run`

    def __call__(self, event: RunEvent) -> None:
        """The result goes out before the status ``done``: a consumer seeing done finds the result."""
        if event.state == RunState.DONE and event.summary is not None and self.mqtt:
            self.mqtt.result(event.product_id, result_payload(event.summary, event.result_submodel_id))
        if self.mqtt:
            self.mqtt.status(event.product_id, event.state.value, event.progress, event.stage, event.message,
                             run_id=event.run_id)
        if event.state == RunState.DONE and event.summary is not None and self.opcua:
            from aas_quantum.publish import write_nodes

            written = asyncio.run(write_nodes(self.opcua, event.summary))
            self.deliveries.append(f"OPC UA {redact_url(self.opcua.url)}: {written} node(s) written")

    def close(self) -> list[str]:
        """Wait for every acknowledgement; the lines say what each sink confirmed."""
        if self.mqtt:
            self.deliveries.extend(self.mqtt.close())
        return self.deliveries
