"""The ``aas-quantum`` command: optimise, export to ERPs, publish (MQTT, OPC UA), validate, write
templates, generate synthetic BoMs.

Exit codes: 0 ok, 1 infeasible (or no feasible selection found), 2 bad input or configuration,
3 AAS server error, 4 MQTT broker / OPC UA server error.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from basyx.aas import model
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aas_quantum import erp
from aas_quantum.aas import mapping
from aas_quantum.aas.files import AasEnvironment, read_files, write_aasx, write_json
from aas_quantum.aas.http import AasClient, ServerSettings, b64, product_shell_ids, read_environment, write_result
from aas_quantum.aas.result import next_version, output_objects, output_stem, result_submodel, result_submodel_id
from aas_quantum.aas.templates import write_templates
from aas_quantum.catalog import SolverPreferences
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, InfeasibleError
from aas_quantum.problem import BomProblem, build_problem, product_number
from aas_quantum.publish.job import RunPublisher
from aas_quantum.publish.mqtt import MqttPublisher, MqttSettings
from aas_quantum.report import Report, to_dict
from aas_quantum.run import optimize as run_optimize
from aas_quantum.sanitize import printable
from aas_quantum.solvers import SolveOptions

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err_console = Console(stderr=True)

Inputs = Annotated[list[Path], typer.Argument(help=".aasx / .json / .xml files: product, components, suppliers")]
ShellOpt = Annotated[str | None, typer.Option("--shell", help="product AAS id (when the inputs hold several)")]
ErpOpt = Annotated[str | None, typer.Option("--erp", help="ERP export profiles, comma-separated: "
                                            + ", ".join(erp.profile_names()) + " or a profile .toml")]
MqttOpt = Annotated[str | None, typer.Option("--mqtt", help="publish status and result to this broker, "
                                             "e.g. mqtt://host:1883 or mqtts://host:8883 (settings: \\[mqtt])")]
ErpFormatOpt = Annotated[str, typer.Option("--erp-format", help="xlsx, csv or both (comma-separated)")]
ErpSetOpt = Annotated[list[str] | None, typer.Option("--erp-set", help="ERP context KEY=VALUE (plant=1710), "
                                                     "or csv.delimiter=; (repeatable)")]


def _text(value: object) -> str:
    """Data on the terminal: control sequences escaped, rich markup inert."""
    return escape(printable(str(value)))


def _error(message: str, exit_code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {_text(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def _fail(exc: AasQuantumError) -> typer.Exit:
    return _error(str(exc), exc.exit_code)


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(command: F) -> F:
    """Every command ends with a clear message and its exit code, never a traceback, for the
    failures a user can act on: bad input or settings, a server, memory, the output folder."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AasQuantumError as exc:
            raise _fail(exc) from exc
        except MemoryError as exc:
            raise _error(f"not enough memory: {exc or 'the problem is too large for this machine'}; use "
                         "--solver hybrid, a smaller --qubit-budget or the onehot encoding", 2) from exc
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise _error(f"cannot write{where}: {exc.strerror or exc}", 2) from exc

    return run  # type: ignore[return-value]


def _output_folder(out: Path) -> None:
    """Check before any solving that ``out`` is (or can become) a folder this process writes to.

    Nothing is created here: a run that fails before writing leaves no trace.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    existing = next(p for p in (out.absolute(), *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".aas-quantum-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out} is not writable: {exc.strerror or exc}") from exc


def _refuse_overwriting_inputs(paths: list[Path], inputs: list[Path]) -> None:
    """Outputs never replace an input file (e.g. a result package used as input, written to its own folder)."""
    protected = {p.resolve() for p in inputs}
    clash = [p for p in paths if p.resolve() in protected]
    if clash:
        raise ConfigError(f"writing {clash[0]} would replace an input file; choose another --out")


def _load(inputs: list[Path], shell_id: str | None) -> tuple[BomProblem, str, AasEnvironment]:
    env = read_files(inputs)
    shell = mapping.product_shell(env, shell_id)
    return build_problem(mapping.read_catalog(env, shell)), shell.id, env


@app.command()
@_guarded
def validate(inputs: Inputs, shell: ShellOpt = None) -> None:
    """Check the inputs and build the problem without solving."""
    problem, shell_id, _ = _load(inputs, shell)
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
    server: Annotated[str | None, typer.Option(help="AAS server base URL, e.g. http://host:8081/api/v3.0 "
                                                    "(or AAS_QUANTUM_SERVER)")] = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product shell with a request (server)")] = False,
    supplier_shells: Annotated[str | None, typer.Option(help="comma-separated supplier shell ids to consider "
                                                             "(server; default: every SupplierOffers)")] = None,
    dry_run: Annotated[bool, typer.Option(help="compute and show, write nothing to the server")] = False,
    time_limit: Annotated[float | None, typer.Option(help="seconds per solver")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    reps: Annotated[int | None, typer.Option(help="QAOA layers / VQE ansatz repetitions")] = None,
    shots: Annotated[int | None, typer.Option(help="samples drawn from the final state")] = None,
    qubit_budget: Annotated[int | None, typer.Option(help="largest direct quantum run; hybrid above")] = None,
    encoding: Annotated[str, typer.Option(help="onehot (XY mixers) | unbalanced | penalty")] = "onehot",
    backend: Annotated[str, typer.Option(help="local | statevector | aer | fake:<FakeDevice> | ibm:<device>")
                       ] = "local",
    optimizer: Annotated[str, typer.Option(help="COBYLA | SPSA | L-BFGS-B")] = "COBYLA",
    maxiter: Annotated[int, typer.Option(help="optimizer iterations")] = 200,
    warm_start: Annotated[str | None, typer.Option(help="QAOA warm start: greedy | relaxed")] = None,
    cvar_alpha: Annotated[float, typer.Option(help="CVaR aggregation (1 = expectation)")] = 1.0,
    mixer: Annotated[str, typer.Option(help="XY mixer topology: ring | complete")] = "ring",
    interp: Annotated[bool, typer.Option(help="grow QAOA depth 1..reps with INTERP initialisation")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="print a JSON summary instead of tables")] = False,
    erp: ErpOpt = None,
    erp_format: ErpFormatOpt = "xlsx,csv",
    erp_set: ErpSetOpt = None,
    mqtt: MqttOpt = None,
    opcua: Annotated[str | None, typer.Option(help="write the decision into an existing OPC UA server's nodes, "
                                                   "e.g. opc.tcp://host:4840 (node map: \\[opcua.client])")] = None,
) -> None:
    """Optimise the selection, print a summary, write the result AASX + JSON (and to the server)."""
    overrides = {"time_limit_s": time_limit, "seed": seed, "reps": reps, "shots": shots,
                 "qubit_budget": qubit_budget}
    extra = {"cvar_alpha": cvar_alpha, "mixer": mixer, "interp": interp} | ({"warm_start": warm_start}
                                                                          if warm_start else {})
    fixed = {"encoding": encoding, "backend": backend, "optimizer": optimizer, "maxiter": maxiter, "extra": extra}
    client, publisher = None, None
    try:
        erp_job = _erp_job(erp, erp_format, erp_set)
        _output_folder(out)
        publisher = _publisher(mqtt, opcua)
        if server or (not inputs and ServerSettings.configured()):
            client = AasClient(ServerSettings.resolve(server))
            shell_ids = product_shell_ids(client) if all_products else [shell or _only_product(client)]
            scope = supplier_shells.split(",") if supplier_shells else None
            jobs = [(sid, read_environment(client, sid, scope)) for sid in shell_ids]
        elif inputs:
            env = read_files(inputs)
            jobs = [(s.id, env) for s in (mapping.product_shells(env) if all_products
                                          else [mapping.product_shell(env, shell)])]
        else:
            raise ConfigError("give input files, or a server (--server, AAS_QUANTUM_SERVER or base_url in [server])")
        summaries = [_run_one(sid, env, client, solver, overrides, fixed, out, dry_run, json_output, erp_job,
                              publisher, inputs or []) for sid, env in jobs]
    except InfeasibleError as exc:
        if json_output:
            print(json.dumps({"status": "infeasible", "reasons": exc.reasons}))
        raise  # reported by _guarded, like every AasQuantumError
    except ValueError as exc:  # e.g. an unknown solver name
        raise _error(str(exc), 2) from exc
    finally:
        if client is not None:
            client.close()
        deliveries = publisher.close() if publisher is not None else []
    for summary in summaries:  # what each sink confirmed: MQTT topics acknowledged, OPC UA nodes written
        summary["outputs"]["published"] = deliveries
    if json_output:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2, default=str))
    else:
        for line in deliveries:
            console.print(_text(line), highlight=False)


def _only_product(client: AasClient) -> str:
    ids = product_shell_ids(client)
    if len(ids) != 1:
        raise BomInputError(f"the server has {len(ids)} product shells with a request; choose one with --shell "
                            "or use --all: " + ", ".join(ids))
    return ids[0]


def _run_one(shell_id: str, env: AasEnvironment, client: AasClient | None, solver: str | None,
             overrides: dict, fixed: dict, out: Path, dry_run: bool, json_output: bool,
             erp_job: tuple[list[erp.Profile], tuple[str, ...]] | None, publisher: RunPublisher | None = None,
             inputs: list[Path] | None = None) -> dict:
    shell_obj = env.objects.get(shell_id)
    problem = build_problem(mapping.read_catalog(env, shell_obj))
    prefs = problem.request.solver if problem.request else SolverPreferences()
    options = SolveOptions(
        time_limit_s=_first(overrides["time_limit_s"], prefs.time_limit_s), seed=_first(overrides["seed"], prefs.seed),
        reps=_first(overrides["reps"], prefs.reps), shots=_first(overrides["shots"], prefs.shots),
        qubit_budget=_first(overrides["qubit_budget"], prefs.qubit_budget), **fixed)
    publisher = publisher or RunPublisher()
    publisher.queued(problem.product_id)
    try:
        summary = _solve_and_write(shell_id, env, problem, client, solver or prefs.method, options, out, dry_run,
                                   json_output, erp_job, publisher, inputs or [])
    except Exception as exc:  # whatever ends the run, subscribers see it failed (then it propagates)
        publisher.failed(problem.product_id, str(exc))
        raise
    return summary


def _solve_and_write(shell_id: str, env: AasEnvironment, problem: BomProblem, client: AasClient | None,
                     method: str, options: SolveOptions, out: Path, dry_run: bool, json_output: bool,
                     erp_job: tuple[list[erp.Profile], tuple[str, ...]] | None, publisher: RunPublisher,
                     inputs: list[Path]) -> dict:
    stem = output_stem(shell_id)
    aasx_path, json_path = out / f"{stem}.result.aasx", out / f"{stem}.result.json"
    erp_targets = erp.export_targets(*erp_job, out, stem) if erp_job else []
    _refuse_overwriting_inputs([aasx_path, json_path, *erp_targets], inputs)
    report = run_optimize(problem, method, options, publisher.progress(problem.product_id))

    result_id = result_submodel_id(shell_id)
    # the previous result came with the inputs (files, or the server's copy): no remote call before
    # the local outputs exist
    read_version = next_version(env.objects.get(result_id)) - 1
    submodel = result_submodel(problem, report, result_id, read_version + 1)
    summary = to_dict(report)
    # every ERP profile renders before anything is written: a profile error leaves no partial output
    plan = erp.plan_export(erp.erp_document(problem, report.solution.choice or (), summary), *erp_job) \
        if erp_job else None

    def write_local(result: model.Submodel) -> None:
        write_aasx(aasx_path, output_objects(env, shell_id, result), env.files)
        write_json(json_path, [result])

    # local outputs first: whatever happens on the server, no work is lost
    write_local(submodel)
    erp_paths = erp.write_export(plan, out, stem) if plan else []
    written_to = None
    if client is not None and not dry_run:
        written = write_result(client, shell_id, submodel, read_version)
        if written.administration.version != submodel.administration.version:  # another run wrote meanwhile
            write_local(written)
            submodel = written
        written_to = client.url(f"/submodels/{b64(result_id)}")
    publisher.done(summary, result_id)
    summary["outputs"] = {"aasx": str(aasx_path), "json": str(json_path), "server": written_to,
                          "erp": [str(p) for p in erp_paths]}
    if not json_output:
        print_report(report)
        console.print(f"\nresult written to [bold]{_text(aasx_path)}[/] and [bold]{_text(json_path)}[/]")
        _print_erp(erp_paths)
        if written_to:
            console.print(f"result submodel (version {submodel.administration.version}) written to "
                          f"{_text(written_to)}", highlight=False)
        elif client is not None:
            console.print("--dry-run: nothing written to the server")
    return summary


def _publisher(mqtt: str | None, opcua: str | None) -> RunPublisher | None:
    """Publishers for --mqtt / --opcua, connected before solving so a refused login fails early."""
    if not mqtt and not opcua:
        return None
    from aas_quantum.publish.opcua import OpcUaClientSettings  # asyncua only when it is used

    return RunPublisher(MqttPublisher(MqttSettings.resolve(mqtt)).connect() if mqtt else None,
                        OpcUaClientSettings.resolve(opcua) if opcua else None)


def _erp_job(erp_names: str | None, erp_format: str, erp_set: list[str] | None
             ) -> tuple[list[erp.Profile], tuple[str, ...]] | None:
    """Profiles and formats to export, loaded up front so a bad profile fails before any solving."""
    if not erp_names:
        return None
    names = [n.strip() for n in erp_names.split(",") if n.strip()]
    profiles = [erp.load_profile(n, erp.erp_overrides(Path(n).stem, erp_set or ())) for n in names]
    return profiles, erp.check_formats([f.strip() for f in erp_format.split(",") if f.strip()])


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
    job = _erp_job(erp_names, erp_format, erp_set)
    assert job is not None
    env = read_files(inputs)
    if not mapping.product_shells(env):
        raise BomInputError("the files hold no product shell: a result .json holds only the result, so pass "
                            "the input files (or the product AASX) with it")
    shell_obj = mapping.product_shell(env, shell)
    saved = mapping.saved_run(env, shell_obj)
    if saved is None:
        raise BomInputError(f"no result submodel {result_submodel_id(shell_obj.id)} in the inputs; run "
                            "`aas-quantum optimize` first")
    document = erp.erp_document(*saved)
    stem = output_stem(shell_obj.id)
    _output_folder(out)
    _refuse_overwriting_inputs(erp.export_targets(*job, out, stem), inputs)
    paths = erp.export(document, *job, out, stem)
    _print_erp(paths)


@app.command("opcua-server")
@_guarded
def opcua_server(
    inputs: Annotated[list[Path] | None, typer.Argument(help="input files (or use --server)")] = None,
    server: Annotated[str | None, typer.Option(help="AAS server base URL (or AAS_QUANTUM_SERVER)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="opc.tcp://host:port/path to listen on "
                                                      "(default from [opcua.server], else 127.0.0.1:4840)")] = None,
    solver: Annotated[str | None, typer.Option(help="solver the Optimize method uses (default: the request's)")
                      ] = None,
    out: Annotated[Path, typer.Option(help="folder of the result files (read at start, written by Optimize)")
                   ] = Path("out"),
    mqtt: MqttOpt = None,
) -> None:
    """Serve the latest result of every product over OPC UA; the Optimize method runs a product again."""
    import asyncio

    from aas_quantum.publish.opcua import OpcUaResultServer, OpcUaServerSettings

    settings = OpcUaServerSettings.resolve(endpoint)
    client = AasClient(ServerSettings.resolve(server)) if server or not inputs else None

    def load_env(shell_id: str | None = None) -> AasEnvironment:
        return read_environment(client, shell_id) if client is not None else read_files(inputs or [])

    if client is not None:
        shells = {sid: load_env(sid) for sid in product_shell_ids(client)}
    else:
        env = load_env()
        shells = {s.id: env for s in mapping.product_shells(env)}
    publisher = _publisher(mqtt, None) or RunPublisher()
    product_shell: dict[str, str] = {}
    latest: list[tuple[dict, str]] = []
    for shell_id, env in shells.items():
        saved_file = out / f"{output_stem(shell_id)}.result.aasx"
        saved_env = read_files([saved_file]) if saved_file.is_file() else env
        saved = mapping.saved_run(saved_env, saved_env.objects.get(shell_id))
        if saved is None:
            product_shell[build_problem(mapping.read_catalog(env, env.objects.get(shell_id))).product_id] = shell_id
        else:
            product_shell[saved[0].product_id] = shell_id
            latest.append((saved[2], shell_id))

    fixed = {"encoding": "onehot", "backend": "local", "optimizer": "COBYLA", "maxiter": 200, "extra": {}}
    no_overrides = dict.fromkeys(("time_limit_s", "seed", "reps", "shots", "qubit_budget"))

    def run_product(product_id: str) -> dict:
        shell_id = product_shell.get(product_id)
        if shell_id is None:
            raise BomInputError(f"unknown product {product_id!r}; known: {', '.join(product_shell)}")
        summary = _run_one(shell_id, load_env(shell_id), client, solver, no_overrides, fixed, out, False, True, None,
                           publisher)
        console.print(f"optimised {_text(product_id)}: {summary['kpis']['total_cost']:.2f} {summary['currency']} "
                      f"({summary['solver']['method']})", highlight=False)
        return summary

    async def serve() -> None:
        opc = await OpcUaResultServer(settings, run_product).start()
        for summary, shell_id in latest:
            await opc.show(summary, (shell_id,))
        for product_id, shell_id in product_shell.items():  # Optimize accepts the id, its last segment, the shell
            opc.aliases.setdefault(shell_id, product_id)
            opc.aliases.setdefault(product_number(product_id), product_id)
        console.print(f"ready: OPC UA server at {settings.endpoint} with {len(latest)} result(s), "
                      f"{len(product_shell)} product(s)", highlight=False)
        try:
            await asyncio.Event().wait()
        finally:
            await opc.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        publisher.close()
        if client is not None:
            client.close()


def _first(value, default):
    return default if value is None else value


@app.command()
@_guarded
def result(
    shell: Annotated[str, typer.Option("--shell", help="product AAS id")],
    server: Annotated[str | None, typer.Option(help="AAS server base URL (or AAS_QUANTUM_SERVER)")] = None,
) -> None:
    """Read the BomOptimizationResult of a product back from the server and print its key figures."""
    with AasClient(ServerSettings.resolve(server)) as client:
        submodel = client.submodel_or_none(result_submodel_id(shell))
        where = client.settings.base_url
    if submodel is None:
        raise BomInputError(f"no result submodel {result_submodel_id(shell)} on {where}: run `aas-quantum "
                            "optimize` for this product first")
    version = submodel.administration.version if submodel.administration else "?"
    table = Table(title=f"{_text(submodel.id)} (version {_text(version)})", title_justify="left", show_header=False)
    for element in submodel.submodel_element:
        if isinstance(element, model.Property):
            table.add_row(_text(element.id_short), _text(element.value))
        elif isinstance(element, model.SubmodelElementCollection) and element.id_short == "KPIs":
            for kpi in element.value:
                table.add_row(f"KPIs.{_text(kpi.id_short)}", _text(getattr(kpi, "value", "")))
        elif isinstance(element, model.SubmodelElementList) and element.id_short == "Selection":
            table.add_row("Selection", f"{len(element.value)} positions")
    console.print(table)


def print_report(report: Report) -> None:
    cur = report.currency
    table = Table(title=f"Selection for {_text(report.product_id)}", title_justify="left")
    for col, justify in [("Pos", "left"), ("Designation", "left"), ("Part number", "left"), ("Supplier", "left"),
                         ("Qty", "right"), ("Order", "right"), (f"Unit {cur}", "right"), (f"Ext. {cur}", "right"),
                         ("Lead d", "right")]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ln in report.lines:
        table.add_row(_text(ln.position_id), _text(ln.designation), _text(ln.part_number), _text(ln.supplier_id),
                      f"{ln.quantity:g} {_text(ln.unit)}",
                      f"{ln.order_quantity:g}", f"{ln.unit_price:,.2f}", f"{ln.extended_price:,.2f}",
                      f"{ln.lead_time_days:g}")
    console.print(table)

    rec = report.solution.record
    kpis = Table(title="Totals", title_justify="left", show_header=False)
    kpis.add_column(justify="left")
    kpis.add_column(justify="right")
    rows = [
        ("Status", f"{report.solution.status.value} ({rec.method}, {rec.backend})"),
        ("Objective", f"{report.objective:,.2f} {cur}"),
        ("Total cost", f"{report.total_cost:,.2f} {cur}"),
        ("Weight", f"{report.total_weight_kg:,.3f} kg"),
        ("Performance", f"{report.total_performance:,.1f}"),
        ("CO2e", f"{report.total_co2e_kg:,.2f} kg"),
        ("Longest lead time", f"{report.max_lead_time_days:g} d"),
        ("Suppliers used", str(report.suppliers_used)),
        ("Greedy objective", "n/a" if report.greedy is None or report.greedy.objective is None
         else f"{report.greedy.objective:,.2f} {cur}"),
        ("Improvement vs greedy", "n/a" if report.improvement_vs_greedy_pct is None
         else f"{report.improvement_vs_greedy_pct:.2f} %"),
        ("Gap to optimum", "n/a" if report.gap_to_optimum_pct is None
         else f"{report.gap_to_optimum_pct:.2f} %" + ("" if report.optimum_proven else " (to bound)")),
        ("Solver wall time", f"{rec.wall_time_s:.3f} s"),
    ]
    if rec.qubits:
        rows.append(("Qubits / reps / shots", f"{rec.qubits} / {rec.reps} / {rec.shots}"))
    if rec.p_feasible is not None:
        rows.append(("P(feasible)", f"{rec.p_feasible:.3f}"))
    for k, v in rows:
        kpis.add_row(k, v)
    console.print(kpis)

    checks = Table(title="Constraints", title_justify="left")
    for col in ("Constraint", "Value", "Bound", "Slack", "OK"):
        checks.add_column(col, justify="left" if col == "Constraint" else "right")
    for c in report.constraints:
        checks.add_row(_text(c.name), f"{c.value:,.3f}", f"{c.sense} {c.bound:,.3f}", f"{c.slack:,.3f}",
                       "[green]yes[/]" if c.satisfied else "[red]NO[/]")
    if report.constraints:
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
    from aas_quantum.encode.encodings import penalty_qubo, tune_unbalanced, unbalanced_qubo

    builders = {"onehot": tune_unbalanced, "unbalanced": lambda p: tune_unbalanced(p, unbalanced_qubo),
                "penalty": penalty_qubo}
    if encoding not in builders:
        raise _error(f"unknown encoding {encoding!r} ({', '.join(builders)})", 2)
    problem, _, _ = _load(inputs, shell)
    try:
        encoded = builders[encoding](problem)
    except ValueError as exc:  # e.g. too many slack qubits for the penalty encoding
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
    for path in write_templates(out):
        console.print(str(path))


@app.command()
@_guarded
def generate(
    positions: Annotated[int, typer.Argument(help="number of BoM positions")],
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[Path | None, typer.Option(help="output .aasx")] = None,
) -> None:
    """Write a reproducible synthetic BoM (product + suppliers) as an AASX package."""
    from aas_quantum.synthetic import synthetic_catalog

    slug = f"synthetic-{positions}-{seed}"
    path = out or Path(f"{slug}.aasx")
    write_aasx(path, mapping.catalog_objects(synthetic_catalog(positions, seed), f"urn:aas-quantum:{slug}"))
    console.print(str(path))


def main() -> None:  # pragma: no cover - entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
