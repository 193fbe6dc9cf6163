"""The application layer, the one place that composes a run: a root builds a ``RunRequest``, picks a
``Repository`` and listeners, calls ``execute`` and renders the ``RunOutcome``."""

from aas_quantum.app.events import Listener, RunEvent, RunState
from aas_quantum.app.execute import (
    OutcomeStatus,
    RunOutcome,
    RunOutputs,
    execute,
    execute_all,
    failure,
    failure_document,
)
from aas_quantum.app.outputs import ResultFiles, check_output_folder, plot_path, refuse_overwriting_inputs
from aas_quantum.app.publisher import RunPublisher
from aas_quantum.app.repository import (
    NO_SERVER,
    FileRepository,
    ProductInput,
    Repository,
    SavedResult,
    ServerRepository,
    WrittenResult,
    input_fingerprint,
    open_repository,
    read_saved_result,
    read_saved_run,
)
from aas_quantum.app.request import ErpOutput, RequestOverrides, RunRequest
from aas_quantum.summary import RunSummary

__all__ = [
    "NO_SERVER",
    "ErpOutput",
    "FileRepository",
    "Listener",
    "OutcomeStatus",
    "ProductInput",
    "Repository",
    "RequestOverrides",
    "ResultFiles",
    "RunEvent",
    "RunOutcome",
    "RunOutputs",
    "RunPublisher",
    "RunRequest",
    "RunState",
    "RunSummary",
    "SavedResult",
    "ServerRepository",
    "WrittenResult",
    "check_output_folder",
    "execute",
    "execute_all",
    "failure",
    "failure_document",
    "input_fingerprint",
    "open_repository",
    "plot_path",
    "read_saved_result",
    "read_saved_run",
    "refuse_overwriting_inputs",
]
