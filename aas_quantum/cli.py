"""The ``aas-quantum`` command: optimise, export to ERPs, publish (MQTT, OPC UA), validate, write
templates, generate synthetic BoMs.

Its exit codes are aas_quantum.errors.ExitCode; --help lists them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from aas_quantum import solvers
from aas_quantum.bulk import one_shot_command, paused_gc
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, exit_codes_text
from aas_quantum.resources import ERP_FORMATS, erp_profile_names
from aas_quantum.sanitize import terminal_text

if TYPE_CHECKING:  # the rest is imported where it is used: --help loads neither numpy nor httpx nor basyx
    from aas_quantum.aas.server import ServerSettings
    from aas_quantum.app import Listener, RunPublisher
    from aas_quantum.problem import BomProblem

one_shot_command()

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help=(__doc__ or "").partition("\n\n")[0] + "\n\n" + exit_codes_text())

# Piped or redirected output is not cut at rich's default 80 columns (FRM-C..., SUP-SK...): it is as
# wide as the tables need (COLUMNS still wins when set).
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 250
# emoji=False: ids such as urn:x:twin contain rich emoji codes (":x:"), which must print as written
console = Console(width=_PIPED_WIDTH, emoji=False)
err_console = Console(stderr=True, emoji=False)


@app.callback()
def _main(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help=(
        "log what happens on stderr: -v each solver's status, objective and time, retries; -vv also "
        "every AAS server call"))] = 0) -> None:
    if not verbose:
        return
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.INFO if verbose == 1 else logging.DEBUG, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False, markup=False)], force=True)
    if verbose == 1:
        logging.getLogger("httpx").setLevel(logging.WARNING)


Inputs = Annotated[list[Path], typer.Argument(help=".aasx / .json / .xml files: product, components, suppliers")]
ShellOpt = Annotated[str | None, typer.Option("--shell", help="product AAS id (when the inputs hold several)")]
ErpOpt = Annotated[str | None, typer.Option("--erp", help="ERP export profiles, comma-separated: "
                                            + ", ".join(erp_profile_names()) + " or a profile .toml")]
MqttOpt = Annotated[str | None, typer.Option("--mqtt", help="publish status and result to this broker, "
                                             "e.g. mqtt://host:1883 or mqtts://host:8883 (settings: \\[mqtt])")]
ErpFormatOpt = Annotated[str, typer.Option("--erp-format", help="file formats, comma-separated: "
                                            + ", ".join(ERP_FORMATS) + " (json: OData request bodies, for the "
                                            "profiles that define them)")]
ErpSetOpt = Annotated[list[str] | None, typer.Option("--erp-set", help="ERP context KEY=VALUE (plant=1710), "
                                                     "or csv.delimiter=; (repeatable)")]


def _error(message: str, exit_code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {terminal_text(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


F = TypeVar("F", bound=Callable[..., Any])

_SERVER_PANEL = "AAS server"  # the group's heading in each command's --help
_SERVER_OPTIONS = {
    "server": Annotated[str | None, typer.Option(
        envvar="AAS_QUANTUM_SERVER", show_envvar=True, rich_help_panel=_SERVER_PANEL,
        help="AAS server base URL, e.g. http://host:8081/api/v3.0 (else base_url in \\[server])")],
    "submodel_server": Annotated[str | None, typer.Option(
        envvar="AAS_QUANTUM_SUBMODEL_SERVER", show_envvar=True, rich_help_panel=_SERVER_PANEL,
        help="submodel repository base URL when it is not the --server (else submodel_url in \\[server])")],
    "registry": Annotated[str | None, typer.Option(
        envvar="AAS_QUANTUM_REGISTRY", show_envvar=True, rich_help_panel=_SERVER_PANEL,
        help="AAS Registry base URL: shells (and the submodels their descriptors list) are found by their "
             "descriptors' endpoints (else registry_url in \\[server])")],
    "submodel_registry": Annotated[str | None, typer.Option(
        envvar="AAS_QUANTUM_SUBMODEL_REGISTRY", show_envvar=True, rich_help_panel=_SERVER_PANEL,
        help="Submodel Registry base URL (else submodel_registry_url in \\[server])")],
}


@dataclass(frozen=True)
class ServerOptions:
    """The AAS server a command was pointed at. Options win over the AAS_QUANTUM_* variables, which win
    over [server] in the config file; every command resolves them here, so none reads them differently."""

    server: str | None = None
    submodel_server: str | None = None
    registry: str | None = None
    submodel_registry: str | None = None

    def settings(self) -> ServerSettings | None:
        """None when no server or registry is given by option, environment or config."""
        from aas_quantum.aas.server import ServerSettings
        if not (self.server or self.registry or self.submodel_registry or ServerSettings.configured()):
            return None
        return ServerSettings.resolve(self.server, submodel_url=self.submodel_server, registry_url=self.registry,
                                      submodel_registry_url=self.submodel_registry)

    def required(self) -> ServerSettings:
        from aas_quantum.app import NO_SERVER
        settings = self.settings()
        if settings is None:
            raise ConfigError(NO_SERVER)
        return settings


def _server_options(command: F) -> F:
    """Give the command every AAS server option, handed to it as one ``aas_server: ServerOptions``: a
    command that talks to a server cannot take some of the options and miss the others."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "aas_server"]
    group = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
             for name, option in _SERVER_OPTIONS.items()]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        options = ServerOptions(**{name: kwargs.pop(name) for name in _SERVER_OPTIONS})
        return command(*args, aas_server=options, **kwargs)

    run.__signature__ = signature.replace(parameters=[*own, *group])  # type: ignore[attr-defined]  # typer reads it
    return run  # type: ignore[return-value]


def _guarded(command: F) -> F:
    """Every command ends with a clear message and its exit code, never a traceback, for the
    failures a user can act on: bad input or settings, a server, memory, the output folder. With
    --json, stdout holds nothing but a JSON document: the command's, or the error's."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("json_output"))
        try:
            with _stdout_to_stderr(as_json):
                return command(*args, **kwargs)
        except (AasQuantumError, MemoryError, OSError) as exc:
            from aas_quantum.app import failure, failure_document

            exit_code, message = failure(exc)
            if as_json:  # a program reading stdout learns of the error too
                _print_json(failure_document(exc))
            raise _error(message, exit_code) from exc

    return run  # type: ignore[return-value]


_real_stdout: list[int] = []  # descriptor 1 as the command was started with, while it points at stderr


@contextlib.contextmanager
def _stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """Descriptor 1 is stderr while a --json command works, until its document is printed. HiGHS's C++
    code prints debug lines straight to descriptor 1 (a large MILP through scipy's milp), which no
    Python-level redirection reaches, and they would precede the document (``| jq`` fails)."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    _real_stdout.append(os.dup(1))
    os.dup2(2, 1)
    try:
        yield
    finally:
        _restore_stdout()


def _restore_stdout() -> None:
    while _real_stdout:
        with contextlib.suppress(OSError, AttributeError, TypeError):  # no C library to flush (Windows)
            ctypes.CDLL(None).fflush(None)  # what C code buffered for descriptor 1 goes to stderr as well
        sys.stdout.flush()
        saved = _real_stdout.pop()
        os.dup2(saved, 1)
        os.close(saved)


def _print_json(document: object) -> None:
    """The one document a --json command prints: descriptor 1 is the real stdout again for it."""
    _restore_stdout()
    print(json.dumps(document, indent=2))


LenientOpt = Annotated[bool, typer.Option(help="skip defective objects of the input files the run does not "
                                                "need (each skip is a warning); default: any defect is an error")]


def _warn(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]warning:[/] {terminal_text(line)}", highlight=False, soft_wrap=True)


def _load(inputs: list[Path], shell_id: str | None, lenient: bool = False) -> tuple[BomProblem, str]:
    """The problem as ``optimize`` would solve it, for the commands that only inspect it."""
    from aas_quantum.app import FileRepository, ProductInput
    repository = FileRepository(inputs, lenient)
    try:
        _warn(repository.warnings)
        product = ProductInput.read(repository, repository.product(shell_id))
        return product.problem(), product.shell_id
    finally:
        repository.close()


@app.command()
@_guarded
def validate(inputs: Inputs, shell: ShellOpt = None, lenient: LenientOpt = False) -> None:
    """Check the inputs and build the problem without solving; inputs without a product (a supplier's or a
    component maker's file) have each of their SupplierOffers, ComponentVariants and BoM submodels checked."""
    from aas_quantum.app import FileRepository, ProductInput
    from aas_quantum.display import print_checked, print_validated

    repository = FileRepository(inputs, lenient)
    try:
        _warn(repository.warnings)
        checks = [] if shell is not None or repository.products() else repository.check_submodels()
        if not checks:  # a product (or nothing at all: then the product's absence is the error)
            product = ProductInput.read(repository, repository.product(shell))
            print_validated(console, product.shell_id, product.problem())
            return
    finally:
        repository.close()
    errors = print_checked(console, checks)
    if errors:
        raise BomInputError(f"{errors} of {len(checks)} submodel(s) have errors (listed above)")


@app.command()
@_guarded
@_server_options
def optimize(
    aas_server: ServerOptions,
    inputs: Annotated[list[Path] | None, typer.Argument(help=".aasx / .json / .xml files (or use --server)")] = None,
    solver: Annotated[str | None, typer.Option(help="qaoa|vqe|hybrid|exact|greedy|anneal|auto "
                                                    "(default: the request's SolverPreferences, else auto)")] = None,
    out: Annotated[Path, typer.Option(help="folder for the result AASX and JSON")] = Path("out"),
    shell: ShellOpt = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product shell with a request")] = False,
    supplier_shells: Annotated[str | None, typer.Option(help="comma-separated supplier shell ids to consider "
                                                             "(server; default: every SupplierOffers)")] = None,
    dry_run: Annotated[bool, typer.Option(help="compute and show; write nothing (no files, nothing to the server)")
                       ] = False,
    lot_size: Annotated[int | None, typer.Option(min=1, help="products to buy for: quantities and per-product "
                                                            "limits times N, MOQs and price breaks on the lot "
                                                            "(default: the request's LotSize, else 1)")] = None,
    time_limit: Annotated[float | None, typer.Option(help="seconds per solver")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    reps: Annotated[int | None, typer.Option(help="QAOA layers / VQE ansatz repetitions")] = None,
    shots: Annotated[int | None, typer.Option(help="samples drawn from the final state")] = None,
    qubit_budget: Annotated[int | None, typer.Option(help="largest direct quantum run; hybrid above")] = None,
    encoding: Annotated[str | None, typer.Option(help="onehot (XY mixers) | unbalanced | penalty")] = None,
    backend: Annotated[str | None, typer.Option(help="local | statevector | aer | fake:<FakeDevice> | "
                                                     "ibm:<device>")] = None,
    optimizer: Annotated[str | None, typer.Option(help="COBYLA | SPSA | L-BFGS-B")] = None,
    maxiter: Annotated[int | None, typer.Option(help="optimizer iterations")] = None,
    warm_start: Annotated[str | None, typer.Option(help="QAOA warm start: greedy | relaxed")] = None,
    cvar_alpha: Annotated[float | None, typer.Option(help="CVaR aggregation (1 = expectation)")] = None,
    mixer: Annotated[str | None, typer.Option(help="XY mixer topology: ring | complete")] = None,
    interp: Annotated[bool, typer.Option(help="grow QAOA depth 1..reps with INTERP initialisation")] = False,
    param: Annotated[list[str] | None, typer.Option(help="any other solver parameter KEY=VALUE, e.g. "
                                                         "sweeps=500 or ansatz=EfficientSU2 (repeatable)")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print a JSON summary instead of tables")] = False,
    plot: Annotated[Path | None, typer.Option(help="also draw the run: chosen vs greedy per position, room "
                                                   "left per limit, QAOA/VQE energy and convergence "
                                                   "(.png, .svg or .html; with --all one file per product)")
                    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress and no tables: only what was "
                                                             "written, and errors")] = False,
    lenient: LenientOpt = False,
    erp: ErpOpt = None,
    erp_format: ErpFormatOpt = "xlsx,csv",
    erp_set: ErpSetOpt = None,
    mqtt: MqttOpt = None,
    opcua: Annotated[str | None, typer.Option(help="write the decision into an existing OPC UA server's nodes, "
                                                   "e.g. opc.tcp://host:4840 (node map: \\[opcua.client])")] = None,
) -> None:
    """Optimise the selection, print a summary, write the result AASX + JSON (and to the server).

    With --all every product runs, whatever happens to the others; the exit code is the first
    failure's.
    """
    from aas_quantum.app import (
        ErpOutput,
        FileRepository,
        OutcomeStatus,
        RequestOverrides,
        RunEvent,
        RunRequest,
        RunState,
        ServerRepository,
        check_output_folder,
        execute_all,
        open_repository,
    )
    from aas_quantum.display import print_failures, print_outcomes, progress
    given = {"time_limit_s": time_limit, "seed": seed, "reps": reps, "shots": shots, "qubit_budget": qubit_budget,
             "encoding": encoding, "backend": backend, "optimizer": optimizer, "maxiter": maxiter,
             "warm_start": warm_start, "cvar_alpha": cvar_alpha, "mixer": mixer, "interp": interp or None}
    parameters = {k: v for k, v in given.items() if v is not None} | _parameters(param or [])
    # checked before anything is read; whether the request's method (no --solver) reads them, in the run
    solvers.check_parameters(solver, parameters)
    erp_output = ErpOutput.load(erp, erp_format, erp_set or ()) if erp else None
    _warn(list(erp_output.skipped) if erp_output else [])
    if plot is not None:
        from aas_quantum.plots import check_plot_path
        check_plot_path(plot)
        if dry_run:
            raise ConfigError("--plot writes a file and --dry-run writes nothing: drop one of them")
    check_output_folder(out)
    repository = open_repository(inputs, aas_server.settings, supplier_shells.split(",") if supplier_shells else None,
                                 lenient)
    publisher: RunPublisher | None = None
    try:
        publisher = _publisher(mqtt, opcua)
        listeners: list[Listener] = [publisher] if publisher else []
        with progress(err_console, quiet=json_output or quiet) as shown:
            # reading a large package takes seconds: say so (the run's own events start once it is read)
            shown(RunEvent("", ", ".join(p.name for p in inputs or ())[:60] or "server", RunState.SOLVING,
                              stage="reading inputs"))
            shell_ids = repository.products() if all_products else [repository.product(shell)]
            if isinstance(repository, FileRepository):
                _warn(repository.warnings)
            if not shell_ids:
                raise BomInputError("--all: no product shell with a BomOptimizationRequest found")
            requests = [RunRequest(product=sid, method=solver, parameters=parameters, out=out, erp=erp_output,
                                   dry_run=dry_run, overrides=RequestOverrides(lot_size=lot_size),
                                   plot=plot, plot_each=len(shell_ids) > 1) for sid in shell_ids]
            outcomes = execute_all(requests, repository, [*listeners, shown])
    finally:
        repository.close()
        deliveries = publisher.close() if publisher is not None else []
    if json_output:
        documents = [o.to_json(deliveries) for o in outcomes]
        _print_json(documents[0] if len(documents) == 1 else documents)
        print_failures(err_console, outcomes)
    else:
        print_outcomes(console, err_console, outcomes, deliveries, isinstance(repository, ServerRepository),
                       tables=not quiet)
    failed = [o for o in outcomes if o.status != OutcomeStatus.OK]
    if failed:
        raise typer.Exit(failed[0].exit_code)


def _parameters(settings: list[str]) -> dict[str, Any]:
    parsed = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects KEY=VALUE, got {setting!r}")
        parsed[key.strip()] = solvers.parse_parameter(key.strip(), value.strip())
    return parsed


def _publisher(mqtt: str | None, opcua: str | None) -> RunPublisher | None:
    """Publishers for --mqtt / --opcua, connected before solving so a refused login fails early."""
    if not mqtt and not opcua:
        return None
    from aas_quantum.app import RunPublisher  # paho / asyncua only when they are used
    from aas_quantum.publish import MqttPublisher, MqttSettings, OpcUaClientSettings

    return RunPublisher(MqttPublisher(MqttSettings.resolve(mqtt)).connect() if mqtt else None,
                        OpcUaClientSettings.resolve(opcua) if opcua else None)


@app.command("export")
@_guarded
def export_result(
    inputs: Annotated[list[Path], typer.Argument(help="a result .aasx (holds its inputs), or a result .json "
                                                      "together with the input files")],
    erp_names: ErpOpt = "generic",
    erp_format: ErpFormatOpt = "xlsx,csv",
    erp_set: ErpSetOpt = None,
    shell: ShellOpt = None,
    out: Annotated[Path, typer.Option(help="folder for the ERP files")] = Path("out"),
) -> None:
    """Write ERP files from a saved result, without solving again."""
    from aas_quantum import erp
    from aas_quantum.aas import output_stem
    from aas_quantum.app import ErpOutput, check_output_folder, read_saved_run, refuse_overwriting_inputs
    from aas_quantum.display import print_erp
    erp_output = ErpOutput.load(erp_names or "generic", erp_format, erp_set or ())
    _warn(list(erp_output.skipped))
    shell_id, saved = read_saved_run(inputs, shell)
    document = erp.erp_document(*saved)
    stem = output_stem(shell_id, saved[0].name)
    check_output_folder(out)
    refuse_overwriting_inputs(erp_output.targets(out, stem), inputs)
    print_erp(console, erp.export(document, erp_output.profiles, erp_output.formats, out, stem),
              erp.import_notes(erp_output.profiles))


@app.command()
@_guarded
def explain(
    inputs: Annotated[list[Path], typer.Argument(help="a result .aasx (holds its inputs), or a result .json "
                                                      "together with the input files")],
    shell: ShellOpt = None,
) -> None:
    """Per position: why the chosen option won, and what the next best option would cost."""
    from aas_quantum.app import read_saved_run
    from aas_quantum.display import print_explanation
    from aas_quantum.explain import explain as explain_run

    _, (problem, choice, summary) = read_saved_run(inputs, shell)
    print_explanation(console, summary, explain_run(problem, choice))


@app.command("opcua-server")
@_guarded
@_server_options
def opcua_server(
    aas_server: ServerOptions,
    inputs: Annotated[list[Path] | None, typer.Argument(help="input files (or use --server)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="opc.tcp://host:port/path to listen on "
                                                      "(default from \\[opcua.server], else 127.0.0.1:4840)")] = None,
    solver: Annotated[str | None, typer.Option(help="solver the Optimize method uses (default: the request's)")
                      ] = None,
    out: Annotated[Path, typer.Option(help="folder of the result files (read at start, written by Optimize)")
                   ] = Path("out"),
    mqtt: MqttOpt = None,
) -> None:
    """Serve the latest result of every product over OPC UA; the Optimize method runs a product again."""
    from aas_quantum.app import RunRequest, open_repository
    from aas_quantum.publish import OpcUaServerSettings
    from aas_quantum.service import serve_opcua

    settings = OpcUaServerSettings.resolve(endpoint)
    if solver is not None:
        solvers.spec(solver)
    open_repository(inputs, aas_server.settings).close()  # fail early
    publisher = _publisher(mqtt, None)
    try:
        serve_opcua(settings, lambda: open_repository(inputs, aas_server.settings),
                    RunRequest(method=solver, out=out), [publisher] if publisher else [],
                    lambda line: console.print(terminal_text(line), highlight=False), out)
    except KeyboardInterrupt:
        pass
    finally:
        if publisher is not None:
            publisher.close()


@app.command()
@_guarded
@_server_options
def serve(
    aas_server: ServerOptions,
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1, \\[service] host)")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="port (default 8090)")] = None,
    jobs: Annotated[str | None, typer.Option(help="job store: postgresql://... (several instances) or "
                                                  "sqlite:///path (default: jobs.sqlite in the data dir)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="job store, result files (default "
                                                       "~/.local/share/aas-quantum)")] = None,
    workers: Annotated[int | None, typer.Option(help="jobs run at once by this instance (default 1)")] = None,
    watch: Annotated[str | None, typer.Option(help="re-optimise on change: off, mqtt (BaSyx eventing, see "
                                                   "--events) or poll")] = None,
    events: Annotated[str | None, typer.Option(help="the broker BaSyx publishes its events to, mqtt://host:1883")
                      ] = None,
    solver: Annotated[str | None, typer.Option(help="solver of jobs that name none (default: the request's "
                                                    "SolverPreferences, else auto)")] = None,
    mqtt: MqttOpt = None,
) -> None:
    """Serve the AAS server extension: the Optimize operation BaSyx delegates to, jobs, re-optimisation."""
    from aas_quantum.app import RunRequest
    from aas_quantum.service import ServiceSettings, json_logging
    from aas_quantum.service import serve as run_service

    settings = ServiceSettings.resolve(host=host, port=port, jobs=jobs, data_dir=data_dir, workers=workers,
                                       watch=watch, events_url=events)
    server_settings = aas_server.required()
    if solver is not None:
        solvers.spec(solver)
    json_logging()
    publisher = _publisher(mqtt, None)
    try:
        run_service(settings, server_settings, RunRequest(method=solver, out=settings.data_dir / "out"), publisher)
    finally:
        if publisher is not None:
            publisher.close()


@app.command("install-operation")
@_guarded
@_server_options
def install_operation(
    aas_server: ServerOptions,
    shell: Annotated[str, typer.Option("--shell", help="product AAS id")],
    service_url: Annotated[str, typer.Option(help="the service's delegation endpoint, e.g. "
                                                  "https://aas-quantum:8090/operations/optimize")],
) -> None:
    """Write the Optimize Operation (delegated to the service) into the product's AAS; a second call changes nothing."""

    from aas_quantum.service import install_operation as install

    changed, where = install(aas_server.required(), shell, service_url)
    console.print(f"{'installed' if changed else 'unchanged'}: Optimize operation in {terminal_text(where)}",
                  highlight=False)


@app.command()
@_guarded
@_server_options
def result(
    aas_server: ServerOptions,
    result_file: Annotated[Path | None, typer.Argument(help="a local .result.json / .result.aasx (else the "
                                                            "server's)")] = None,
    shell: Annotated[str | None, typer.Option("--shell", help="product AAS id")] = None,
) -> None:
    """Print a product's BomOptimizationResult: its key figures and selection, from a file or the server."""
    from aas_quantum.app import read_saved_result
    from aas_quantum.display import print_result

    print_result(console, read_saved_result(result_file, shell, aas_server.required))


@app.command()
@_guarded
def encode(
    inputs: Inputs,
    encoding: Annotated[str, typer.Option(help="onehot | unbalanced | penalty")] = "onehot",
    shell: ShellOpt = None,
    ising_out: Annotated[Path | None, typer.Option("--ising-out", help="write the Ising operator as JSON")] = None,
    model_format: Annotated[str | None, typer.Option(
        "--format", help="write the model for other solvers: lp | mps (the exact MILP), cqm | bqm (dimod; bqm "
                         "is --encoding's QUBO), qp (Qiskit QuadraticProgram as LP text); needs --out")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="the file --format writes")] = None,
) -> None:
    """Encode the problem for the quantum solvers and print qubits, terms and coefficient range."""
    from aas_quantum.display import print_encoding
    from aas_quantum.encode import EXPORT_FORMATS, encoding_scheme, write_model  # the encodings the solvers use

    if (model_format is None) != (out is None):
        raise ConfigError("--format and --out go together: --format names what to write, --out where")
    if model_format is not None and model_format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown --format {model_format!r} ({' | '.join(EXPORT_FORMATS)})")
    problem, _ = _load(inputs, shell)
    encoded = encoding_scheme(encoding).build(problem)
    print_encoding(console, encoding, problem.product_id, encoded.report())
    if ising_out is not None:
        encoded.qubo.write_ising(ising_out)
        console.print(f"Ising operator written to {ising_out}")
    if model_format is not None and out is not None:
        write_model(problem, model_format, out, encoding)
        console.print(f"{model_format} model written to {out}")


@app.command()
@_guarded
def templates(out: Annotated[Path, typer.Option(help="folder to write the templates to")] = Path("templates")
              ) -> None:
    """Write the four data-contract submodel templates (AAS V3.0 JSON)."""
    from aas_quantum.aas import write_templates
    for path in write_templates(out):
        console.print(str(path))


@app.command()
@_guarded
def generate(
    positions: Annotated[int, typer.Argument(min=1, help="number of BoM positions")],
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[Path | None, typer.Option(help="output .aasx")] = None,
) -> None:
    """Write a reproducible synthetic BoM (product + suppliers) as an AASX package."""
    from aas_quantum.aas import mapping, write_aasx
    from aas_quantum.synthetic import synthetic_catalog

    slug = f"synthetic-{positions}-{seed}"
    path = out or Path(f"{slug}.aasx")
    with paused_gc():  # one pause over building and writing: no collection in between walks the new package
        write_aasx(path, mapping.catalog_objects(synthetic_catalog(positions, seed), f"urn:aas-quantum:{slug}"))
    console.print(str(path))


@app.command()
@_guarded
@_server_options
def batch(
    aas_server: ServerOptions,
    inputs: Annotated[list[Path] | None, typer.Argument(help="AAS packages, folders of them or glob patterns; "
                                                               "each package holds a product and its suppliers")
                      ] = None,
    list_file: Annotated[Path | None, typer.Option("--list", help="a file with one package path per line")] = None,
    shared: Annotated[list[Path] | None, typer.Option("--with", help="files every package is read with (shared "
                                                                     "supplier AAS); repeatable")] = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product shell on the AAS server")] = False,
    scenarios: Annotated[Path | None, typer.Option(help="scenario file (TOML, \\[\\[scenario]] tables)")] = None,
    out: Annotated[Path, typer.Option(help="output folder: results per scenario, manifest, report")] = Path(
        "out/batch"),
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: the number of cores)")
                       ] = None,
    force: Annotated[bool, typer.Option(help="redo every run, finished or not")] = False,
    dask: Annotated[str | None, typer.Option(help="run on a Dask cluster, e.g. tcp://scheduler:8786 (inputs and "
                                                  "--out on storage every worker sees)")] = None,
    purchasing: Annotated[bool, typer.Option(help="also write consolidated purchasing lists per supplier")
                          ] = False,
) -> None:
    """Optimise many products under several scenarios in parallel; resumable; report.md / report.html."""
    from aas_quantum.app import check_output_folder
    from aas_quantum.batch import input_files, load_scenarios, plan, run_batch, write_report
    from aas_quantum.display import RichBatchDisplay

    server_settings = aas_server.required() if all_products else None
    files = input_files(inputs or [], list_file)
    if not files and not all_products:
        raise ConfigError("give packages, folders, --list FILE, or --server URL --all")
    check_output_folder(out)
    loaded = load_scenarios(scenarios)
    runs, broken = plan(files, shared or [], server_settings, loaded)
    if not runs and not broken:
        raise BomInputError("the inputs hold no product (no shell references a BomOptimizationRequest)")
    result = run_batch(runs, out, workers or os.cpu_count() or 1, force, RichBatchDisplay(err_console), dask, broken)
    markdown, page = write_report(out, result.keys, [s.name for s in loaded])
    if purchasing:
        from aas_quantum.batch import write_purchasing
        for scenario, suppliers, folder in write_purchasing(out, result.keys):
            console.print(f"purchasing lists ({scenario}): {suppliers} supplier(s) in {terminal_text(folder)}",
                          highlight=False)
    console.print(f"{len(result.done)} run(s) done, {len(result.skipped)} skipped, {len(result.failed)} failed; "
                  f"report: {terminal_text(page)} and {terminal_text(markdown)}", highlight=False)
    for key, reason, code in result.failed:
        err_console.print(f"failed (exit class {code}): {terminal_text(key)}: {terminal_text(reason)}", highlight=False)
    raise typer.Exit(result.exit_code)


@app.command()
@_guarded
@_server_options
def pareto(
    aas_server: ServerOptions,
    inputs: Annotated[list[Path] | None, typer.Argument(help=".aasx / .json / .xml files (or use --server)")] = None,
    shell: ShellOpt = None,
    x: Annotated[str, typer.Option("--x", help="the measure minimised: cost (total cost)")] = "cost",
    y: Annotated[str, typer.Option("--y", help="the measure traded against total cost: co2, weight or lead_time")
                 ] = "co2",
    points: Annotated[int, typer.Option(help="bounds swept between the cheapest and the least selection")] = 15,
    time_limit: Annotated[float | None, typer.Option(help="seconds per exact solve")] = None,
    out: Annotated[Path, typer.Option(help="folder for pareto-<product>-<measure>.json")] = Path("out"),
) -> None:
    """The non-dominated selections between total cost and CO2e (or weight, lead time), each solved exactly."""
    from aas_quantum.app import check_output_folder, open_repository
    from aas_quantum.batch import check_sweep, pareto_front, write_front
    from aas_quantum.display import print_front

    if x != "cost":
        raise ConfigError(f"--x must be cost (the measure the front minimises), got {x!r}")
    check_sweep(y, points, time_limit)
    check_output_folder(out)
    repository = open_repository(inputs, aas_server.settings)
    try:
        shell_id = repository.product(shell)
        front = pareto_front(repository, shell_id, y, points, time_limit)
    finally:
        repository.close()
    path = write_front(front, out, shell_id)
    print_front(console, front)
    console.print(f"written to {terminal_text(path)}", highlight=False)


def main() -> None:  # pragma: no cover - entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
