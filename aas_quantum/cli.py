"""The ``aas-quantum`` command: optimise, export to ERPs, publish (MQTT, OPC UA), validate, write
templates, generate synthetic BoMs.

Exit codes: 0 ok, 1 infeasible (or an internal error, reported as such), 2 bad input or configuration,
3 AAS server error, 4 MQTT broker / OPC UA server error, 5 no feasible selection found within the limits
(nothing proves the problem infeasible).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aas_quantum import contract, solvers
from aas_quantum.bulk import one_shot_command, paused_gc
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, Location
from aas_quantum.resources import erp_profile_names
from aas_quantum.sanitize import printable

if TYPE_CHECKING:  # the rest is imported where it is used: --help loads neither numpy nor httpx nor basyx
    from aas_quantum.aas.server import ServerSettings
    from aas_quantum.app import Listener, Repository, RunEvent, RunOutcome, RunSummary
    from aas_quantum.app.publisher import RunPublisher
    from aas_quantum.problem import BomProblem

one_shot_command()

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

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
ErpFormatOpt = Annotated[str, typer.Option("--erp-format", help="xlsx, csv or both (comma-separated)")]
ServerOpt = Annotated[str | None, typer.Option(envvar="AAS_QUANTUM_SERVER", show_envvar=True,
                                               help="AAS server base URL, e.g. http://host:8081/api/v3.0 "
                                                    "(else base_url in \\[server])")]
SubmodelServerOpt = Annotated[str | None, typer.Option(
    envvar="AAS_QUANTUM_SUBMODEL_SERVER", show_envvar=True,
    help="submodel repository base URL when it is not the --server (else submodel_url in \\[server])")]
RegistryOpt = Annotated[str | None, typer.Option(
    envvar="AAS_QUANTUM_REGISTRY", show_envvar=True,
    help="AAS Registry base URL: shells (and the submodels their descriptors list) are found by their "
         "descriptors' endpoints (else registry_url in \\[server])")]
SubmodelRegistryOpt = Annotated[str | None, typer.Option(
    envvar="AAS_QUANTUM_SUBMODEL_REGISTRY", show_envvar=True,
    help="Submodel Registry base URL (else submodel_registry_url in \\[server])")]
ErpSetOpt = Annotated[list[str] | None, typer.Option("--erp-set", help="ERP context KEY=VALUE (plant=1710), "
                                                     "or csv.delimiter=; (repeatable)")]


def _text(value: object) -> str:
    """Data on the terminal: control sequences escaped, rich markup inert."""
    return escape(printable(str(value)))


def _error(message: str, exit_code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {_text(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(command: F) -> F:
    """Every command ends with a clear message and its exit code, never a traceback, for the
    failures a user can act on: bad input or settings, a server, memory, the output folder."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (AasQuantumError, MemoryError, OSError) as exc:
            from aas_quantum.app import failure

            exit_code, message = failure(exc)
            raise _error(message, exit_code) from exc

    return run  # type: ignore[return-value]


LenientOpt = Annotated[bool, typer.Option(help="skip defective objects of the input files the run does not "
                                                "need (each skip is a warning); default: any defect is an error")]


def _warn(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]warning:[/] {_text(line)}", highlight=False, soft_wrap=True)


def _load(inputs: list[Path], shell_id: str | None, lenient: bool = False) -> tuple[BomProblem, str]:
    from aas_quantum.aas import mapping
    from aas_quantum.aas.files import read_files
    from aas_quantum.problem import build_problem
    env = read_files(inputs, lenient)
    _warn(env.warnings)
    shell = mapping.product_shell(env, shell_id)
    return build_problem(mapping.read_catalog(env, shell)), shell.id


@app.command()
@_guarded
def validate(inputs: Inputs, shell: ShellOpt = None, lenient: LenientOpt = False) -> None:
    """Check the inputs and build the problem without solving."""
    problem, shell_id = _load(inputs, shell, lenient)
    console.print(f"[green]ok[/] {_text(shell_id)}: {len(problem.positions)} positions, {problem.n_options} "
                  f"options, {len(problem.constraints)} constraints")
    for note in problem.pruned:
        console.print(f"  pruned {_text(note)}", highlight=False)


@app.command()
@_guarded
def optimize(
    inputs: Annotated[list[Path] | None, typer.Argument(help=".aasx / .json / .xml files (or use --server)")] = None,
    solver: Annotated[str | None, typer.Option(help="qaoa|vqe|hybrid|exact|greedy|anneal|auto "
                                                    "(default: the request's SolverPreferences, else auto)")] = None,
    out: Annotated[Path, typer.Option(help="folder for the result AASX and JSON")] = Path("out"),
    shell: ShellOpt = None,
    server: ServerOpt = None,
    submodel_server: SubmodelServerOpt = None,
    registry: RegistryOpt = None,
    submodel_registry: SubmodelRegistryOpt = None,
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
    )
    given = {"time_limit_s": time_limit, "seed": seed, "reps": reps, "shots": shots, "qubit_budget": qubit_budget,
             "encoding": encoding, "backend": backend, "optimizer": optimizer, "maxiter": maxiter,
             "warm_start": warm_start, "cvar_alpha": cvar_alpha, "mixer": mixer, "interp": interp or None}
    parameters = {k: v for k, v in given.items() if v is not None} | _parameters(param or [])
    # checked before anything is read; whether the request's method (no --solver) reads them, in the run
    solvers.check_parameters(solver, parameters)
    erp_output = ErpOutput.load(erp, erp_format, erp_set or ()) if erp else None
    if plot is not None:
        from aas_quantum.plots import check_plot_path
        check_plot_path(plot)
        if dry_run:
            raise ConfigError("--plot writes a file and --dry-run writes nothing: drop one of them")
    check_output_folder(out)
    repository = _repository(inputs, lambda: _server(server, submodel_server, registry, submodel_registry),
                             supplier_shells, lenient)
    publisher: RunPublisher | None = None
    try:
        publisher = _publisher(mqtt, opcua)
        listeners: list[Listener] = [publisher] if publisher else []
        with _progress(quiet=json_output or quiet) as progress:
            # reading a large package takes seconds: say so (the run's own events start once it is read)
            progress(RunEvent("", ", ".join(p.name for p in inputs or ())[:60] or "server", RunState.SOLVING,
                              stage="reading inputs"))
            shell_ids = repository.products() if all_products else [repository.product(shell)]
            if isinstance(repository, FileRepository):
                _warn(repository.warnings)
            if not shell_ids:
                raise BomInputError("--all: no product shell with a BomOptimizationRequest found")
            requests = [RunRequest(product=sid, method=solver, parameters=parameters, out=out, erp=erp_output,
                                   dry_run=dry_run, overrides=RequestOverrides(lot_size=lot_size),
                                   plot=_plot_path(plot, out, sid, len(shell_ids))) for sid in shell_ids]
            outcomes = execute_all(requests, repository, [*listeners, progress])
    finally:
        repository.close()
        deliveries = publisher.close() if publisher is not None else []
    if json_output:
        documents = [o.to_json(deliveries) for o in outcomes]
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    else:
        for outcome in outcomes:
            _print_outcome(outcome, isinstance(repository, ServerRepository), tables=not quiet)
        for line in deliveries:  # what each sink confirmed: MQTT topics acknowledged, OPC UA nodes written
            console.print(_text(line), highlight=False)
    failed = [o for o in outcomes if o.status != OutcomeStatus.OK]
    for outcome in failed:
        err_console.print(f"[bold red]error:[/] {_text(outcome.shell_id)}: {_text(outcome.reason)}"
                          if len(outcomes) > 1 else f"[bold red]error:[/] {_text(outcome.reason)}",
                          highlight=False, soft_wrap=True)
    if failed:
        if len(outcomes) > 1:
            err_console.print(f"{len(failed)} of {len(outcomes)} products failed", highlight=False)
        raise typer.Exit(failed[0].exit_code)


def _plot_path(plot: Path | None, out: Path, shell_id: str, products: int) -> Path | None:
    """--plot as given for one product; with several, each product's file stem added."""
    if plot is None or products == 1:
        return plot
    from aas_quantum.app import ResultFiles
    return plot.with_name(f"{plot.stem}.{ResultFiles.of(out, shell_id).stem}{plot.suffix}")


def _parameters(settings: list[str]) -> dict[str, Any]:
    parsed = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects KEY=VALUE, got {setting!r}")
        parsed[key.strip()] = solvers.parse_parameter(key.strip(), value.strip())
    return parsed


NO_SERVER = "give a server (--server, AAS_QUANTUM_SERVER or base_url in [server]) or a registry (--registry)"


def _server(server: str | None, submodel_server: str | None, registry: str | None,
            submodel_registry: str | None) -> ServerSettings | None:
    """The AAS server settings when a server or registry is given by option, environment or config."""
    from aas_quantum.aas.server import ServerSettings
    if not (server or registry or submodel_registry or ServerSettings.configured()):
        return None
    return ServerSettings.resolve(server, submodel_url=submodel_server, registry_url=registry,
                                  submodel_registry_url=submodel_registry)


def _required_server(server: str | None, submodel_server: str | None, registry: str | None,
                     submodel_registry: str | None) -> ServerSettings:
    settings = _server(server, submodel_server, registry, submodel_registry)
    if settings is None:
        raise ConfigError(NO_SERVER)
    return settings


def _repository(inputs: list[Path] | None, server_settings: Callable[[], ServerSettings | None],
                supplier_shells: str | None = None, lenient: bool = False) -> Repository:
    """Files when given (they win over a server from the environment, which is then not even read),
    else the AAS server."""
    from aas_quantum.app import FileRepository, ServerRepository
    if inputs:
        return FileRepository(inputs, lenient)
    server = server_settings()
    if server is not None:
        return ServerRepository(server, supplier_shells.split(",") if supplier_shells else None)
    raise ConfigError("give input files, or " + NO_SERVER.removeprefix("give "))


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Listener]:
    """The run's stage on stderr: a spinner on a terminal, one plain line per stage when piped or logged
    (a long run never leaves a blank screen), nothing when quiet."""
    from aas_quantum.app import RunState
    if quiet:
        yield lambda event: None
        return
    if not err_console.is_terminal:
        def line(event: RunEvent) -> None:
            if event.state == RunState.SOLVING:
                detail = f" ({_text(event.detail)})" if event.detail else ""
                err_console.print(f"{_text(event.product_id)}: {_text(event.stage)}{detail}", highlight=False,
                                  soft_wrap=True)
        yield line
        return
    with err_console.status("starting") as status:
        def show(event: RunEvent) -> None:
            if event.state == RunState.SOLVING:
                detail = f", {_text(event.detail)}" if event.detail else ""
                status.update(f"{_text(event.product_id)}: {_text(event.stage)} ({(event.progress or 0):.0%}{detail})")
        yield show


def _print_outcome(outcome: RunOutcome, to_server: bool, tables: bool = True) -> None:
    if outcome.summary is None or outcome.outputs is None:
        return  # reported with the errors
    written = outcome.outputs
    if tables:
        print_summary(outcome.summary)
    if written.aasx is None or written.json is None:
        console.print("\n--dry-run: nothing written (no files, nothing to the server)")
        return
    console.print(f"\nresult written to [bold]{_text(written.aasx)}[/] and [bold]{_text(written.json)}[/]")
    _print_erp(list(written.erp))
    if written.plot is not None:
        console.print(f"plot written to [bold]{_text(written.plot)}[/]")
    if written.server:
        console.print(f"result submodel (version {_text(written.version)}) written to {_text(written.server)}",
                      highlight=False)
    elif to_server:
        console.print("--dry-run: nothing written to the server")


def _publisher(mqtt: str | None, opcua: str | None) -> RunPublisher | None:
    """Publishers for --mqtt / --opcua, connected before solving so a refused login fails early."""
    if not mqtt and not opcua:
        return None
    from aas_quantum.app.publisher import RunPublisher  # paho / asyncua only when they are used
    from aas_quantum.publish.mqtt import MqttPublisher, MqttSettings
    from aas_quantum.publish.opcua import OpcUaClientSettings

    return RunPublisher(MqttPublisher(MqttSettings.resolve(mqtt)).connect() if mqtt else None,
                        OpcUaClientSettings.resolve(opcua) if opcua else None)


def _print_erp(paths: list[Path]) -> None:
    if paths:
        console.print(f"ERP export: {len(paths)} files")
        for path in paths:
            console.print(f"  {path}", highlight=False)


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
    from aas_quantum.aas.result import output_stem
    from aas_quantum.app import ErpOutput, check_output_folder, refuse_overwriting_inputs
    erp_output = ErpOutput.load(erp_names or "generic", erp_format, erp_set or ())
    shell_id, saved = _saved_run(inputs, shell)
    document = erp.erp_document(*saved)
    stem = output_stem(shell_id)
    check_output_folder(out)
    refuse_overwriting_inputs(erp_output.targets(out, stem), inputs)
    _print_erp(erp.export(document, erp_output.profiles, erp_output.formats, out, stem))


def _saved_run(inputs: list[Path], shell: str | None) -> tuple[str, tuple[BomProblem, tuple[int, ...], RunSummary]]:
    """The product shell id and its saved run (problem, choice, summary) from a result package, or a
    result .json with the input files."""
    from aas_quantum.aas import mapping
    from aas_quantum.aas.files import read_files
    from aas_quantum.aas.result import result_submodel_id
    env = read_files(inputs)
    if not mapping.product_shells(env):
        raise BomInputError("the files hold no product shell: a result .json holds only the result, so pass "
                            "the input files (or the product AASX) with it")
    shell_obj = mapping.product_shell(env, shell)
    saved = mapping.saved_run(env, shell_obj)
    if saved is None:
        raise BomInputError(f"no result submodel {result_submodel_id(shell_obj.id)} in the inputs; run "
                            "`aas-quantum optimize` first")
    return shell_obj.id, saved


@app.command()
@_guarded
def explain(
    inputs: Annotated[list[Path], typer.Argument(help="a result .aasx (holds its inputs), or a result .json "
                                                      "together with the input files")],
    shell: ShellOpt = None,
) -> None:
    """Per position: why the chosen option won, and what the next best option would cost."""
    from aas_quantum.explain import explain as explain_run

    _, (problem, choice, summary) = _saved_run(inputs, shell)
    cur = summary.currency
    table = Table(title=f"Why this selection for {_text(summary.product_id)}", title_justify="left")
    for column in ("Pos", "Chosen", f"Ext. {cur}", "Why", "Next best", f"+ objective {cur}"):
        table.add_column(column, justify="right" if cur in column else "left")
    for item in explain_run(problem, choice):
        nxt = item.next_best
        table.add_row(_text(item.position_id), _text(f"{item.chosen.part_number} @ {item.chosen.supplier_id}"),
                      f"{item.chosen.extended_price:,.2f}", _text(item.reason),
                      "none: every feasible selection needs the chosen option" if nxt is None else _text(
                          f"{nxt.option.part_number} @ {nxt.option.supplier_id}"
                          + (f" (re-optimised: {nxt.others_changed} other position(s) change)"
                             if nxt.others_changed else "")),
                      "" if nxt is None else f"{nxt.objective_change:+,.2f}")
    console.print(table)


@app.command("opcua-server")
@_guarded
def opcua_server(
    inputs: Annotated[list[Path] | None, typer.Argument(help="input files (or use --server)")] = None,
    server: ServerOpt = None,
    submodel_server: SubmodelServerOpt = None,
    registry: RegistryOpt = None,
    submodel_registry: SubmodelRegistryOpt = None,
    endpoint: Annotated[str | None, typer.Option(help="opc.tcp://host:port/path to listen on "
                                                      "(default from [opcua.server], else 127.0.0.1:4840)")] = None,
    solver: Annotated[str | None, typer.Option(help="solver the Optimize method uses (default: the request's)")
                      ] = None,
    out: Annotated[Path, typer.Option(help="folder of the result files (read at start, written by Optimize)")
                   ] = Path("out"),
    mqtt: MqttOpt = None,
) -> None:
    """Serve the latest result of every product over OPC UA; the Optimize method runs a product again."""
    from aas_quantum.app import RunRequest
    from aas_quantum.publish.opcua import OpcUaServerSettings
    from aas_quantum.service.opcua import serve

    settings = OpcUaServerSettings.resolve(endpoint)
    if solver is not None:
        solvers.spec(solver)
    _repository(inputs, lambda: _server(server, submodel_server, registry, submodel_registry)).close()  # fail early
    publisher = _publisher(mqtt, None)
    try:
        serve(settings, lambda: _repository(inputs, lambda: _server(server, submodel_server, registry,
                                                                      submodel_registry)),
              RunRequest(method=solver, out=out), [publisher] if publisher else [],
              lambda line: console.print(_text(line), highlight=False), out)
    except KeyboardInterrupt:
        pass
    finally:
        if publisher is not None:
            publisher.close()


@app.command()
@_guarded
def serve(
    server: ServerOpt = None,
    submodel_server: SubmodelServerOpt = None,
    registry: RegistryOpt = None,
    submodel_registry: SubmodelRegistryOpt = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1, [service] host)")] = None,
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
    from aas_quantum.service.api import ServiceSettings
    from aas_quantum.service.api import serve as run_service
    from aas_quantum.service.observe import json_logging

    settings = ServiceSettings.resolve(host=host, port=port, jobs=jobs, data_dir=data_dir, workers=workers,
                                       watch=watch, events_url=events)
    server_settings = _required_server(server, submodel_server, registry, submodel_registry)
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
def install_operation(
    shell: Annotated[str, typer.Option("--shell", help="product AAS id")],
    service_url: Annotated[str, typer.Option(help="the service's delegation endpoint, e.g. "
                                                  "https://aas-quantum:8090/operations/optimize")],
    server: ServerOpt = None,
    submodel_server: SubmodelServerOpt = None,
    registry: RegistryOpt = None,
    submodel_registry: SubmodelRegistryOpt = None,
) -> None:
    """Write the Optimize Operation (delegated to the service) into the product's AAS; a second call changes nothing."""

    from aas_quantum.aas.ids import b64
    from aas_quantum.aas.server import AasClient, install_submodel
    from aas_quantum.config import parse_url
    from aas_quantum.service.operation import operations_submodel

    parts = parse_url(service_url, ("http", "https"), "--service-url", "http(s)://host:port/operations/optimize")
    if parts.username or parts.password or parts.query:
        raise ConfigError("--service-url must carry no credentials or query: the AAS is readable by anyone who can "
                          "read the shell (trust the BaSyx host by address: [service] trusted_networks)")
    settings = _required_server(server, submodel_server, registry, submodel_registry)
    submodel = operations_submodel(shell, service_url)
    with AasClient(settings) as client:
        client.shell(shell)  # a wrong shell id fails here, before anything is written
        changed = install_submodel(client, shell, submodel)
        where = client.url(f"/submodels/{b64(submodel.id)}")
    console.print(f"{'installed' if changed else 'unchanged'}: Optimize operation in {_text(where)}", highlight=False)


@app.command()
@_guarded
def result(
    result_file: Annotated[Path | None, typer.Argument(help="a local .result.json / .result.aasx (else the "
                                                            "server's)")] = None,
    shell: Annotated[str | None, typer.Option("--shell", help="product AAS id")] = None,
    server: ServerOpt = None,
    submodel_server: SubmodelServerOpt = None,
    registry: RegistryOpt = None,
    submodel_registry: SubmodelRegistryOpt = None,
) -> None:
    """Print a product's BomOptimizationResult: its key figures and selection, from a file or the server."""
    from basyx.aas import model

    from aas_quantum.aas import mapping
    from aas_quantum.aas.files import read_files
    from aas_quantum.aas.ids import b64
    from aas_quantum.aas.result import result_submodel_id
    from aas_quantum.aas.server import AasClient
    if result_file is not None:
        env = read_files([result_file])
        found = [sm for sm in mapping.submodels_with(env, contract.OPTIMIZATION_RESULT)
                 if shell is None or sm.id == result_submodel_id(shell)]
        if len(found) != 1:
            raise BomInputError(f"{len(found)} result submodels{' for ' + shell if shell else ''} in the file; "
                                + ("choose one with --shell" if found else "is it a result file?"),
                                Location(str(result_file)))
        submodel, where = found[0], str(result_file)
        products = [s for s in mapping.product_shells(env) if result_submodel_id(s.id) == submodel.id]
    else:
        if shell is None:
            raise ConfigError("give a result file, or --shell with a server")
        settings = _required_server(server, submodel_server, registry, submodel_registry)
        with AasClient(settings) as client:
            fetched = client.submodel_or_none(result_submodel_id(shell))
            where = client.url(f"/submodels/{b64(result_submodel_id(shell))}")
        if fetched is None:
            raise BomInputError(f"no result submodel {result_submodel_id(shell)} on {where}: run `aas-quantum "
                                "optimize` for this product first")
        submodel, products = fetched, []
    summary, picks = mapping.read_result(submodel, where)
    mapping.check_result(summary, picks, Location(where, submodel.id))
    if products:  # a result package holds its inputs: the result is recomputed from them
        mapping.saved_run(env, products[0])
    version = submodel.administration.version if submodel.administration else "?"
    table = Table(title=f"{_text(submodel.id)} (version {_text(version)})", title_justify="left", show_header=False)
    for element in submodel.submodel_element:
        if isinstance(element, model.Property):
            table.add_row(_text(element.id_short), _figure(element.id_short, element.value))
        elif isinstance(element, model.SubmodelElementCollection) and element.id_short in ("KPIs", "SolverRecord"):
            for item in element.value:
                table.add_row(f"{element.id_short}.{_text(item.id_short)}",
                              _figure(item.id_short, getattr(item, "value", "")))
    console.print(table)
    lines = Table(title=f"Selection ({len(picks)} positions)", title_justify="left")
    for column, justify in (("Pos", "left"), ("Part number", "left"), ("Supplier", "left"),
                            (f"Ext. {summary.currency}", "right")):
        lines.add_column(column, justify=justify)  # type: ignore[arg-type]
    for pick in picks:
        lines.add_row(_text(pick.position_id), _text(pick.part_number), _text(pick.supplier_id),
                      f"{pick.extended_price:,.2f}")
    console.print(lines)


def _figure(name: str | None, value: object) -> str:
    """A stored value for people: money to the cent, other numbers without float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return _text(value)
    number = float(value)
    if any(word in (name or "") for word in ("Cost", "Objective", "Bound", "Price")):
        return f"{number:,.2f}"
    return f"{number:,.6g}"


TABLE_LINES = 100  # selection lines shown on the terminal; every line is in the result and ERP files


def print_summary(summary: RunSummary) -> None:
    cur, kpis, rec = summary.currency, summary.kpis, summary.solver
    shown = summary.selection[:TABLE_LINES]
    caption = None if len(shown) == len(summary.selection) else \
        f"first {len(shown)} of {len(summary.selection):,} positions; every line is in the result and ERP files"
    table = Table(title=f"Selection for {_text(summary.product_id)}", title_justify="left", caption=caption,
                  caption_justify="left")
    for col, justify in [("Pos", "left"), ("Designation", "left"), ("Part number", "left"), ("Supplier", "left"),
                         ("Qty", "right"), ("Order", "right"), (f"Unit {cur}", "right"), (f"Ext. {cur}", "right"),
                         ("Lead d", "right")]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ln in shown:
        table.add_row(_text(ln.position_id), _text(ln.designation), _text(ln.part_number), _text(ln.supplier_id),
                      f"{ln.quantity:g} {_text(ln.unit)}",
                      f"{ln.order_quantity:g}", f"{ln.unit_price:,.2f}", f"{ln.extended_price:,.2f}",
                      f"{ln.lead_time_days:g}")
    console.print(table)

    totals = Table(title="Totals", title_justify="left", show_header=False)
    totals.add_column(justify="left")
    totals.add_column(justify="right")
    rows = [
        ("Status", f"{summary.status} ({rec.method}, {rec.backend})"),
        ("Objective", f"{kpis.objective:,.2f} {cur}"),
        ("Total cost", f"{kpis.total_cost:,.2f} {cur}"),
        ("Weight", f"{kpis.total_weight_kg:,.3f} kg"),
        ("Performance", f"{kpis.total_performance:,.1f}"),
        ("CO2e", f"{kpis.total_co2e_kg:,.2f} kg"),
        ("Longest lead time", f"{kpis.max_lead_time_days:g} d"),
        ("Suppliers used", str(kpis.suppliers_used)),
        ("Greedy objective", "n/a" if kpis.greedy_objective is None else f"{kpis.greedy_objective:,.2f} {cur}"),
        ("Improvement vs greedy", "n/a" if kpis.improvement_vs_greedy_pct is None
         else f"{kpis.improvement_vs_greedy_pct:.2f} %"),
        ("Improvement vs greedy+ls", "n/a" if kpis.improvement_vs_greedy_ls_pct is None
         else f"{kpis.improvement_vs_greedy_ls_pct:.2f} %"),
        ("Gap to optimum", "n/a" if kpis.gap_to_optimum_pct is None
         else f"{kpis.gap_to_optimum_pct:.2f} %" + ("" if kpis.optimum_proven else " (to bound)")),
        ("Solver wall time", f"{rec.wall_time_s:.3f} s"),
    ]
    source = rec.details.get("selection_from")
    if source:  # a baseline beat the requested solver: the better selection is returned, and said so
        own = rec.details.get("own_objective")
        rows[0] = ("Status", f"{summary.status} (selection by the {source} baseline; {rec.method} requested)")
        rows.insert(1, (f"{rec.method} on its own", f"{rec.details.get('own_status')}"
                        + ("" if own is None else f", objective {own:,.2f} {cur}")))
    if rec.qubits:
        rows.append(("Qubits / reps / shots", f"{rec.qubits} / {rec.reps} / {rec.shots}"))
    if rec.p_feasible is not None:
        rows.append(("P(feasible)", f"{rec.p_feasible:.3f}"))
    for k, v in rows:
        totals.add_row(k, v)
    console.print(totals)

    checks = Table(title="Constraints", title_justify="left")
    for col in ("Constraint", "Value", "Bound", "Slack", "OK"):
        checks.add_column(col, justify="left" if col == "Constraint" else "right")
    for c in summary.constraints:
        checks.add_row(_text(c.name), f"{c.value:,.3f}", f"{c.sense} {c.bound:,.3f}", f"{c.slack:,.3f}",
                       "[green]yes[/]" if c.satisfied else "[red]NO[/]")
    if summary.constraints:
        console.print(checks)


@app.command()
@_guarded
def encode(
    inputs: Inputs,
    encoding: Annotated[str, typer.Option(help="onehot | unbalanced | penalty")] = "onehot",
    shell: ShellOpt = None,
    ising_out: Annotated[Path | None, typer.Option("--ising-out", help="write the Ising operator as JSON")] = None,
) -> None:
    """Encode the problem for the quantum solvers and print qubits, terms and coefficient range."""
    from aas_quantum.solvers.variational import encode as encode_problem  # the encodings the solvers use

    problem, _ = _load(inputs, shell)
    try:
        encoded = encode_problem(problem, encoding)
    except ValueError as exc:  # an unknown encoding, or too many slack qubits for the penalty encoding
        raise _error(str(exc), 2) from exc
    table = Table(title=f"{encoding} encoding of {_text(problem.product_id)}", title_justify="left", show_header=False)
    for key, value in encoded.report().items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)
    if ising_out is not None:
        operator, offset = encoded.qubo.to_ising()
        ising_out.parent.mkdir(parents=True, exist_ok=True)
        ising_out.write_text(json.dumps({
            "num_qubits": operator.num_qubits, "offset": offset,
            "terms": [[label, coeff.real] for label, coeff in operator.to_list()],
        }, indent=1))
        console.print(f"Ising operator written to {ising_out}")


@app.command()
@_guarded
def templates(out: Annotated[Path, typer.Option(help="folder to write the templates to")] = Path("templates")
              ) -> None:
    """Write the four data-contract submodel templates (AAS V3.0 JSON)."""
    from aas_quantum.aas.templates import write_templates
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
    from aas_quantum.aas import mapping
    from aas_quantum.aas.files import write_aasx
    from aas_quantum.synthetic import synthetic_catalog

    slug = f"synthetic-{positions}-{seed}"
    path = out or Path(f"{slug}.aasx")
    with paused_gc():  # one pause over building and writing: no collection in between walks the new package
        write_aasx(path, mapping.catalog_objects(synthetic_catalog(positions, seed), f"urn:aas-quantum:{slug}"))
    console.print(str(path))


@app.command()
@_guarded
def batch(
    inputs: Annotated[list[Path] | None, typer.Argument(help="AAS packages, folders of them or glob patterns; "
                                                               "each package holds a product and its suppliers")
                      ] = None,
    list_file: Annotated[Path | None, typer.Option("--list", help="a file with one package path per line")] = None,
    shared: Annotated[list[Path] | None, typer.Option("--with", help="files every package is read with (shared "
                                                                     "supplier AAS); repeatable")] = None,
    server: ServerOpt = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product shell on the --server")] = False,
    scenarios: Annotated[Path | None, typer.Option(help="scenario file (TOML, [[scenario]] tables)")] = None,
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
    import os

    from aas_quantum.aas.server import ServerSettings
    from aas_quantum.app import check_output_folder
    from aas_quantum.batch.report import write_report
    from aas_quantum.batch.run import input_files, load_scenarios, plan, run_batch
    from aas_quantum.display import RichBatchDisplay

    if all_products and not (server or ServerSettings.configured()):
        raise ConfigError("--all needs --server (or AAS_QUANTUM_SERVER)")
    files = input_files(inputs or [], list_file)
    if not files and not all_products:
        raise ConfigError("give packages, folders, --list FILE, or --server URL --all")
    check_output_folder(out)
    server_settings = ServerSettings.resolve(server) if all_products else None
    runs, broken = plan(files, shared or [], server_settings, load_scenarios(scenarios))
    if not runs and not broken:
        raise BomInputError("the inputs hold no product (no shell references a BomOptimizationRequest)")
    result = run_batch(runs, out, workers or os.cpu_count() or 1, force, RichBatchDisplay(err_console), dask, broken)
    markdown, page = write_report(out, result.keys)
    if purchasing:
        _write_purchasing(out, result.keys)
    console.print(f"{len(result.done)} run(s) done, {len(result.skipped)} skipped, {len(result.failed)} failed; "
                  f"report: {_text(page)} and {_text(markdown)}", highlight=False)
    for key, reason, code in result.failed:
        err_console.print(f"failed (exit class {code}): {_text(key)}: {_text(reason)}", highlight=False)
    raise typer.Exit(result.exit_code)


def _write_purchasing(out: Path, keys: list[str]) -> None:
    from aas_quantum.batch.purchasing import consolidate, write_lists
    from aas_quantum.batch.run import Manifest

    manifest = Manifest(out)
    try:
        entries = [e for k, e in manifest.entries().items() if k in keys]
    finally:
        manifest.close()
    for scenario in sorted({e.scenario for e in entries if e.status == "ok"}):
        outcomes = [e.outcome for e in entries if e.scenario == scenario and e.status == "ok"]
        written = write_lists(consolidate(outcomes), out / "purchasing" / scenario)
        console.print(f"purchasing lists ({scenario}): {len(written) - 1} supplier(s) in "
                      f"{_text(out / 'purchasing' / scenario)}", highlight=False)


@app.command()
@_guarded
def pareto(
    inputs: Annotated[list[Path] | None, typer.Argument(help=".aasx / .json / .xml files (or use --server)")] = None,
    shell: ShellOpt = None,
    server: ServerOpt = None,
    x: Annotated[str, typer.Option("--x", help="the measure minimised: cost (total cost)")] = "cost",
    y: Annotated[str, typer.Option("--y", help="the measure traded against total cost: co2, weight or lead_time")
                 ] = "co2",
    points: Annotated[int, typer.Option(help="bounds swept between the cheapest and the least selection")] = 15,
    time_limit: Annotated[float | None, typer.Option(help="seconds per exact solve")] = None,
    out: Annotated[Path, typer.Option(help="folder for pareto-<product>-<measure>.json")] = Path("out"),
) -> None:
    """The non-dominated selections between total cost and CO2e (or weight, lead time), each solved exactly."""
    from aas_quantum.app import check_output_folder
    from aas_quantum.batch.pareto import MEASURES, check_sweep, pareto_front, write_front

    if x != "cost":
        raise ConfigError(f"--x must be cost (the measure the front minimises), got {x!r}")
    check_sweep(y, points, time_limit)
    check_output_folder(out)
    repository = _repository(inputs, lambda: _server(server, None, None, None))
    try:
        shell_id = repository.product(shell)
        front = pareto_front(repository, shell_id, y, points, time_limit)
    finally:
        repository.close()
    path = write_front(front, out, shell_id)
    measure, _, unit = MEASURES[y]
    table = Table(title=f"Pareto front of {_text(front.product_id)} ({len(front.points)} points)", title_justify="left")
    for column in (f"Total cost {front.currency}", f"{measure} ({unit})", "Gap to optimum %", "Bound"):
        table.add_column(column, justify="right")
    for point in front.points:
        table.add_row(f"{point.cost:,.2f}", f"{point.measure:,.3f}",
                      "" if point.gap_pct is None else f"{point.gap_pct:.3f}",
                      "none" if point.bound is None else f"{point.bound:,.3f}")
    console.print(table)
    console.print(f"written to {_text(path)}", highlight=False)


def main() -> None:  # pragma: no cover - entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
