"""The error every server module raises: a server that cannot be reached or refuses a request. Its own exit
code (3) tells a script that the server failed, not its inputs (2)."""

from __future__ import annotations

from aas_quantum.errors import AasQuantumError, ExitCode


class AasServerError(AasQuantumError):
    """The AAS server could not be reached or refused a request."""

    exit_code = ExitCode.AAS_SERVER

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status  # the HTTP status of a refusal (None: no answer)
        super().__init__(message)
