"""Publishing edges: the decision as MQTT messages and OPC UA nodes."""
