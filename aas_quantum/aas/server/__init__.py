"""The AAS server (AAS Part 2 HTTP API v3.0) as a run's source and sink: its settings, authentication, transport,
reading a product's environment and writing results back; callers import from here, not from the modules."""

from aas_quantum.aas.server.client import AasClient
from aas_quantum.aas.server.errors import AasServerError
from aas_quantum.aas.server.read import product_shell_ids, read_environment
from aas_quantum.aas.server.settings import ServerSettings
from aas_quantum.aas.server.write import (
    install_submodel,
    result_write_lock,
    run_of,
    write_lock_id,
    write_lock_submodel,
    write_result,
)

__all__ = [
    "AasClient",
    "AasServerError",
    "ServerSettings",
    "install_submodel",
    "product_shell_ids",
    "read_environment",
    "result_write_lock",
    "run_of",
    "write_lock_id",
    "write_lock_submodel",
    "write_result",
]
