"""The application layer: the one place that composes a run. Callers (the CLI, the OPC UA server,
the AAS extension service, batch runs) build a ``RunRequest``, pick a ``Repository`` and listeners,
call ``execute`` and render its ``RunOutcome``."""

from aas_quantum.app.events import Listener, RunEvent, RunState
from aas_quantum.app.execute import OutcomeStatus, RunOutcome, RunOutputs, execute, execute_all, failure
from aas_quantum.app.outputs import ResultFiles, check_output_folder, plot_path, refuse_overwriting_inputs
from aas_quantum.app.repository import (
    FileRepository,
    ProductInput,
    Repository,
    ServerRepository,
    WrittenResult,
    open_repository,
)
from aas_quantum.app.request import ErpOutput, RequestOverrides, RunRequest
from aas_quantum.summary import RunSummary

__all__ = ["ErpOutput", "FileRepository", "Listener", "OutcomeStatus", "ProductInput", "Repository", "RequestOverrides",
           "ResultFiles", "RunEvent", "RunOutcome", "RunOutputs", "RunRequest", "RunState", "RunSummary",
           "ServerRepository", "WrittenResult", "check_output_folder", "execute", "execute_all", "failure",
           "open_repository", "plot_path", "refuse_overwriting_inputs"]
