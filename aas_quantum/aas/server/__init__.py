"""The AAS server side of a run: connecting to an AAS Part 2 HTTP API v3.0 server, reading a product's
environment from it and writing results back without losing a concurrent run's."""

from aas_quantum.aas.server.client import (
    AasClient,
    AasServerError,
    ServerSettings,
    install_submodel,
    product_shell_ids,
    read_environment,
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
