"""The AAS server extension: the HTTP service BaSyx delegates ``Optimize`` to, durable jobs and their
worker, re-optimisation on BaSyx events, and the OPC UA server; each a root over ``app.execute``."""

from aas_quantum.service.api import ServiceSettings, serve
from aas_quantum.service.observe import json_logging
from aas_quantum.service.opcua import serve_opcua
from aas_quantum.service.operation import install_operation

__all__ = [
    "ServiceSettings",
    "install_operation",
    "json_logging",
    "serve",
    "serve_opcua",
]
