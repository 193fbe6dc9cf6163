"""``execute``: one product's run, composed once for every caller (CLI, OPC UA server, AAS
extension service, batch runs).

read (repository) -> problem -> solve (with baselines) -> summary -> local outputs (result
AASX/JSON, ERP files) -> repository write-back -> ``done`` to the listeners. Local outputs are
written before any remote call; a failure of any stage is the run's outcome (never an exception),
so one product's failure never stops the others.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from basyx.aas import model

from aas_quantum import erp, plots
from aas_quantum.aas import next_version, result_submodel, result_submodel_id
from aas_quantum.app.events import Listener, RunEvent, RunState, tell
from aas_quantum.app.outputs import ResultFiles, plot_path, refuse_overwriting_inputs
from aas_quantum.app.repository import ProductInput, Repository
from aas_quantum.app.request import RunRequest
from aas_quantum.bulk import release_the_run, run_input
from aas_quantum.catalog import SolverPreferences
from aas_quantum.errors import AasQuantumError, ExitCode, InfeasibleError, Location
from aas_quantum.run import optimize
from aas_quantum.summary import RunSummary, new_run_id

log = logging.getLogger(__name__)


class OutcomeStatus(enum.StrEnum):
    OK = "ok"
    INFEASIBLE = "infeasible"
    FAILED = "failed"


@dataclass(frozen=True)
class RunOutputs:
    aasx: Path | None  # None: a dry run wrote nothing
    json: Path | None
    erp: tuple[Path, ...] = ()
    server: str | None = None  # where the result submodel was written (None: files only, or dry run)
    version: str = ""  # the result submodel's version as stored
    plot: Path | None = None
    erp_import_order: tuple[str, ...] = ()  # per profile: "<profile>: import in this order: <sheets>"


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    shell_id: str
    status: OutcomeStatus
    summary: RunSummary | None = None
    outputs: RunOutputs | None = None
    reason: str = ""  # why it failed, for the user
    reasons: tuple[str, ...] = ()  # infeasible: the limits that cannot be met
    exit_code: int = ExitCode.OK  # the CLI's exit class
    product_name: str = ""  # ``BomProblem.name``: "" when the run failed before its product was read

    def to_json(self, published: Sequence[str] = ()) -> dict[str, Any]:
        """The ``--json`` document: the summary and where it went, or the reason it failed."""
        if self.summary is None or self.outputs is None:
            return {"run_id": self.run_id, "shell_id": self.shell_id, "product_name": self.product_name,
                    "status": self.status.value, "reason": self.reason, "reasons": list(self.reasons),
                    "exit_code": self.exit_code}
        return self.summary.to_json() | {"outputs": {
            "aasx": _path(self.outputs.aasx), "json": _path(self.outputs.json), "server": self.outputs.server,
            "erp": [str(p) for p in self.outputs.erp], "erp_import_order": list(self.outputs.erp_import_order),
            "plot": _path(self.outputs.plot),
            "published": list(published)}}


def failure(exc: BaseException) -> tuple[int, str]:
    """Exit class and message of what ended a run (or a command). Bad input and settings arrive as
    ``AasQuantumError``; anything else unexpected (a ``ValueError`` of a library included) is an internal
    error, said as such rather than blamed on the user's input."""
    if isinstance(exc, AasQuantumError):
        return exc.exit_code, str(exc)
    if isinstance(exc, MemoryError):
        return ExitCode.BAD_INPUT, (f"not enough memory: {exc or 'the problem is too large for this machine'}; "
                                    "use --solver hybrid, a smaller --qubit-budget or the onehot encoding")
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return ExitCode.BAD_INPUT, f"cannot write{where}: {exc.strerror or exc}"
    return ExitCode.FAILED, f"internal error: {type(exc).__name__}: {exc}"


def failure_document(exc: BaseException) -> dict[str, Any]:
    """The ``--json`` document of what ended a command before any run had an outcome to print: a program
    reading stdout learns the exit class, the error's kind and where it is without parsing stderr."""
    code, message = failure(exc)
    location = getattr(exc, "location", None)
    where = {k: v for k, v in asdict(location).items() if v} if isinstance(location, Location) else {}
    if isinstance(exc, OSError) and exc.filename:
        where = {"source": str(exc.filename)}
    return {"error": {"code": int(code), "kind": type(exc).__name__, "message": message, "where": where or None}}


def execute(request: RunRequest, repository: Repository, listeners: Sequence[Listener] = ()) -> RunOutcome:
    run_id = request.run_id or new_run_id()
    shell_id = request.product or ""
    product_id = shell_id
    product_name = ""

    def emit(state: RunState, **details: Any) -> None:
        tell(listeners, RunEvent(run_id, product_id, state, **details))

    try:
        with run_input():  # kept out of the collector's passes until the run ends (finally, below)
            shell_id = product_id = repository.product(request.product)
            product = ProductInput.read(repository, shell_id)
            env = product.environment
            problem = product.problem(request.overrides)
        product_id = problem.product_id
        method, options = request.solve_plan(problem.request.solver if problem.request else SolverPreferences())
        product_name = problem.name
        files = ResultFiles.of(request.out, shell_id, product_name)
        erp_paths = request.erp.targets(request.out, files.stem) if request.erp else []
        plot = plot_path(request.plot, files.stem, request.plot_each)
        plot_paths = [plot] if plot is not None else []
        refuse_overwriting_inputs([files.aasx, files.json, *erp_paths, *plot_paths], repository.input_files())
        emit(RunState.QUEUED, progress=0.0)
        report = optimize(problem, method, options, lambda stage, fraction, detail="": emit(
            RunState.SOLVING, progress=fraction, stage=stage, detail=detail))
        summary = RunSummary.of(report, run_id)

        result_id = result_submodel_id(shell_id)
        # the previous result came with the inputs: no remote call before the local outputs exist
        previous = env.objects.get(result_id)
        read_version = next_version(previous if isinstance(previous, model.Submodel) else None) - 1
        submodel = result_submodel(problem, summary, result_id, read_version + 1)
        # every ERP profile renders before anything is written: a profile error leaves no partial output
        plan = erp.plan_export(erp.erp_document(problem, report.solution.choice or (), summary),
                               request.erp.profiles, request.erp.formats) if request.erp else None

        if request.dry_run:  # compute and show: nothing is written anywhere
            emit(RunState.DONE, progress=1.0, summary=summary, result_submodel_id=result_id)
            return RunOutcome(run_id, shell_id, OutcomeStatus.OK, summary, RunOutputs(None, None),
                              product_name=product_name)
        emit(RunState.SOLVING, progress=0.97, stage="writing results")
        files.write(env, shell_id, submodel)  # local outputs first: whatever the server does, no work is lost
        written_erp = erp.write_export(plan, request.out, files.stem) if plan else []
        if plot is not None:
            plots.write_plot(plot, problem, report)
        location = None
        written = repository.write_result(shell_id, submodel, read_version)
        if written is not None:
            if _version(written.submodel) != _version(submodel):  # another run wrote meanwhile
                files.write(env, shell_id, written.submodel)
                submodel = written.submodel
            location = written.location
        emit(RunState.DONE, progress=1.0, summary=summary, result_submodel_id=result_id)
    except InfeasibleError as exc:
        _tell_failed(listeners, run_id, product_id, str(exc))
        return RunOutcome(run_id, shell_id, OutcomeStatus.INFEASIBLE, reason=str(exc), reasons=tuple(exc.reasons),
                          exit_code=exc.exit_code, product_name=product_name)
    except Exception as exc:
        exit_code, reason = failure(exc)
        if exit_code == ExitCode.FAILED:
            log.exception("run %s of %s failed", run_id, shell_id)
        _tell_failed(listeners, run_id, product_id, reason)
        return RunOutcome(run_id, shell_id, OutcomeStatus.FAILED, reason=reason, exit_code=exit_code,
                          product_name=product_name)
    finally:
        release_the_run()
    import_order = tuple(erp.import_notes(request.erp.profiles)) if request.erp and written_erp else ()
    return RunOutcome(run_id, shell_id, OutcomeStatus.OK, summary,
                      RunOutputs(files.aasx, files.json, tuple(written_erp), location, _version(submodel),
                                 plot, import_order), product_name)


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _version(submodel: model.Submodel) -> str:
    return (submodel.administration.version if submodel.administration else None) or ""


def _tell_failed(listeners: Sequence[Listener], run_id: str, product_id: str, reason: str) -> None:
    """Subscribers see the run failed; a listener that cannot say so (its broker is the failure) is logged."""
    event = RunEvent(run_id, product_id, RunState.FAILED, message=reason)
    for listener in listeners:
        try:
            listener(event)
        except Exception as exc:
            log.warning("could not report the failure of run %s: %s", run_id, exc)


def execute_all(requests: Sequence[RunRequest], repository: Repository, listeners: Sequence[Listener] = ()
                ) -> list[RunOutcome]:
    """Each request in turn; a failure is recorded in its outcome and the next one runs."""
    return [execute(request, repository, listeners) for request in requests]


