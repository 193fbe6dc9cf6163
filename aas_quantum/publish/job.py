"""One run as the outside world sees it: queued, solving with progress, then done or failed,
told to every configured publisher (MQTT topics, nodes of an existing OPC UA server)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aas_quantum.publish.mqtt import MqttPublisher
from aas_quantum.publish.payload import result_payload
from aas_quantum.run import Progress
from aas_quantum.sanitize import redact_url

if TYPE_CHECKING:  # asyncua takes 0.4 s to import: only runs that write OPC UA nodes pay for it
    from aas_quantum.publish.opcua import OpcUaClientSettings


class RunPublisher:
    def __init__(self, mqtt: MqttPublisher | None = None, opcua: OpcUaClientSettings | None = None) -> None:
        self.mqtt = mqtt
        self.opcua = opcua
        self.deliveries: list[str] = []  # one line per sink and target, for the run's report

    def queued(self, product_id: str) -> None:
        if self.mqtt:
            self.mqtt.status(product_id, "queued", 0.0)

    def progress(self, product_id: str) -> Progress:
        def report(stage: str, fraction: float) -> None:
            if self.mqtt:
                self.mqtt.status(product_id, "solving", fraction, stage)
        return report

    def done(self, summary: dict[str, Any], result_submodel_id: str) -> dict[str, Any]:
        """Publish the result, then the status ``done`` (a consumer seeing done finds the result)."""
        payload = result_payload(summary, result_submodel_id)
        if self.mqtt:
            self.mqtt.result(summary["product_id"], payload)
            self.mqtt.status(summary["product_id"], "done", 1.0)
        if self.opcua:
            from aas_quantum.publish.opcua import write_nodes

            written = asyncio.run(write_nodes(self.opcua, summary))
            self.deliveries.append(f"OPC UA {redact_url(self.opcua.url)}: {written} node(s) written")
        return payload

    def failed(self, product_id: str, message: str) -> None:
        if self.mqtt:
            self.mqtt.status(product_id, "failed", None, "", message)

    def close(self) -> list[str]:
        """Wait for every acknowledgement; the lines say what each sink confirmed."""
        if self.mqtt:
            self.deliveries.extend(self.mqtt.close())
        return self.deliveries
