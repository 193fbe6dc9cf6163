"""The application layer driven directly, as the CLI, the OPC UA server and later the service and batch
runs drive it: ``execute(RunRequest, Repository, listeners) -> RunOutcome``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aas_quantum import solvers
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files, write_aasx
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, ServerSettings
from aas_quantum.app import (
    FileRepository,
    OutcomeStatus,
    RunEvent,
    RunRequest,
    RunState,
    RunSummary,
    ServerRepository,
    execute,
    execute_all,
)
from aas_quantum.catalog import SolverPreferences
from aas_quantum.cli import app
from aas_quantum.errors import ConfigError
from aas_quantum.solvers import SolveOptions, Status, get_solver
from aas_quantum.solvers.auto import AutoSolver
from aas_quantum.solvers.hybrid import HybridSolver

import generate
from tests.support import DRONE_SHELL, REPO, SMALL


def _saved_summary(path: Path) -> RunSummary:
    env = read_files([path])
    return mapping.read_result(env.objects.get(result_submodel_id(DRONE_SHELL)), str(path))[0]


def test_execute_on_files_reports_the_optimum_and_tells_every_listener(tmp_path, load):
    events: list[RunEvent] = []
    outcome = execute(RunRequest(method="exact", out=tmp_path), FileRepository([SMALL]), [events.append])
    assert outcome.status == OutcomeStatus.OK and outcome.exit_code == 0
    optimum = get_solver("exact").solve(load(SMALL).problem, SolveOptions())
    assert outcome.summary.kpis.objective == pytest.approx(optimum.objective)
    assert events[0].state == RunState.QUEUED and events[-1].state == RunState.DONE
    assert {e.run_id for e in events} == {outcome.run_id}
    assert any(e.state == RunState.SOLVING and e.stage == "exact baseline" for e in events)
    assert events[-1].summary == outcome.summary
    # the run id travels into the result submodel, and the summary survives JSON both ways
    assert _saved_summary(outcome.outputs.json).run_id == outcome.run_id
    assert RunSummary.from_json(json.loads(json.dumps(outcome.summary.to_json()))) == outcome.summary
    assert outcome.outputs.server is None  # a file repository keeps its result in the output folder


def test_execute_against_the_basyx_server_writes_the_result_back(basyx_server, tmp_path):
    url, _ = basyx_server(SMALL)
    repository = ServerRepository(ServerSettings.resolve(url))
    try:
        assert repository.products() == [DRONE_SHELL]
        first = execute(RunRequest(method="greedy", out=tmp_path), repository)
        second = execute(RunRequest(method="exact", out=tmp_path), repository)
    finally:
        repository.close()
    assert first.status == second.status == OutcomeStatus.OK
    assert (first.outputs.version, second.outputs.version) == ("1", "2")
    with AasClient(ServerSettings.resolve(url)) as client:
        stored = client.submodel(result_submodel_id(DRONE_SHELL))
    saved, _ = mapping.read_result(stored, url)
    assert saved.run_id == second.run_id and saved.solver.method == "exact"
    assert saved.kpis.total_cost == pytest.approx(second.summary.kpis.total_cost)


def test_one_products_failure_never_stops_the_others(tmp_path):
    """Two products in one package: the first cannot meet its budget, the second still runs."""
    drone = generate.drone()
    broke = dataclasses.replace(drone, request=dataclasses.replace(drone.request, budget=1.0))
    objects = [*mapping.catalog_objects(broke, "urn:a:drone"),
               *[o for o in mapping.catalog_objects(drone, "urn:b:drone") if ":supplier:" not in o.id]]
    package = tmp_path / "two.aasx"
    write_aasx(package, objects)
    repository = FileRepository([package])
    failed: list[RunEvent] = []
    outcomes = execute_all([RunRequest(product=p, method="greedy", out=tmp_path / "out")
                            for p in repository.products()], repository,
                           [lambda e: failed.append(e) if e.state == RunState.FAILED else None])
    by_shell = {o.shell_id: o for o in outcomes}
    broke_outcome = by_shell["urn:a:drone:aas"]
    assert broke_outcome.status == OutcomeStatus.INFEASIBLE and broke_outcome.exit_code == 1
    assert any("Budget" in reason for reason in broke_outcome.reasons)
    assert by_shell["urn:b:drone:aas"].status == OutcomeStatus.OK
    assert by_shell["urn:b:drone:aas"].outputs.aasx.is_file()
    assert [e.run_id for e in failed] == [broke_outcome.run_id]


def test_a_listener_that_fails_fails_its_run_after_the_local_outputs_exist(tmp_path):
    """A sink that cannot deliver (e.g. a broker refusing the result) fails the run with its reason; the
    result files were written before and stay."""
    told: list[RunState] = []

    def broken(event: RunEvent) -> None:
        told.append(event.state)
        if event.state == RunState.DONE:
            raise ConfigError("the broker refused the result")

    outcome = execute(RunRequest(method="greedy", out=tmp_path), FileRepository([SMALL]), [broken])
    assert outcome.status == OutcomeStatus.FAILED and outcome.exit_code == 2
    assert outcome.reason == "the broker refused the result"
    assert told[-2:] == [RunState.DONE, RunState.FAILED]
    assert len(list(tmp_path.glob("*.result.aasx"))) == 1 and len(list(tmp_path.glob("*.result.json"))) == 1


def test_merge_rule_flags_over_request_preferences_over_defaults():
    preferences = SolverPreferences(method="hybrid", reps=3, time_limit_s=5.0)
    method, options = RunRequest().solve_plan(preferences)
    assert (method, options.reps, options.time_limit_s, options.shots) == ("hybrid", 3, 5.0, SolveOptions().shots)
    method, options = RunRequest(method="qaoa", parameters={"reps": 1}).solve_plan(preferences)
    assert (method, options.reps, options.time_limit_s) == ("qaoa", 1, 5.0)
    method, _ = RunRequest().solve_plan(SolverPreferences())
    assert method == solvers.DEFAULT_METHOD == "auto"


def test_an_unknown_or_misplaced_solver_parameter_is_an_error():
    with pytest.raises(ConfigError, match="unknown solver parameter 'mixr'"):
        solvers.check_parameters("qaoa", {"mixr": "complete"})
    with pytest.raises(ConfigError, match=r"'sweeps' does not apply to solver qaoa.*read by anneal"):
        solvers.check_parameters("qaoa", {"sweeps": 10})
    with pytest.raises(ConfigError, match="unknown solver 'magic'"):
        solvers.check_parameters("magic", {})
    assert solvers.parse_parameter("interp", "yes") is True
    assert solvers.parse_parameter("warm_start", "none") is None
    assert solvers.parse_parameter("sweeps", "50") == 50
    with pytest.raises(ConfigError, match="sweeps must be a int"):
        solvers.parse_parameter("sweeps", "many")


def test_every_parameter_declares_its_range_and_nan_or_a_wrong_type_never_builds_options():
    import typing

    from aas_quantum.config import base_type
    from aas_quantum.solvers.base import RANGES, USER_FIELDS

    hints = typing.get_type_hints(SolveOptions)
    assert {name for name in USER_FIELDS if base_type(hints[name]) in (int, float)} == set(RANGES)
    for key in RANGES:
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ConfigError, match=f"{key} .*must be a (whole )?number"):
                solvers.check_parameters(None, {key: bad})
    with pytest.raises(ConfigError, match=r"time_limit_s \(--time-limit\) must be a number > 0 and <= 604800, "
                                          r"got nan"):
        SolveOptions(time_limit_s=float("nan"))  # whichever edge builds the options
    with pytest.raises(ConfigError, match=r"reps .*must be a whole number >= 1 and <= 100, got 2.5"):
        solvers.check_parameters(None, {"reps": 2.5})
    with pytest.raises(ConfigError, match=r"reps .*must be a number >= 1 and <= 100, got 0"):
        SolveOptions().with_(reps=0)
    with pytest.raises(ConfigError, match=r"interp .*must be true or false"):
        solvers.check_parameters(None, {"interp": "maybe"})
    with pytest.raises(ConfigError, match="unknown solver parameter 'bogus'"):
        solvers.check_parameters(None, {"bogus": 1})  # no method named: still refused up front
    with pytest.raises(ConfigError, match=r"\[scenario.parameters\] sweeps must be a whole number"):
        solvers.parse_parameter("sweeps", 2.7, "[scenario.parameters] sweeps")  # was cut to 2
    assert solvers.parse_parameter("time_limit_s", 5) == 5.0 and solvers.parse_parameter("patience", 0) == 0


@pytest.mark.parametrize(("values", "named"), [
    ({"budget": -5}, "override budget must be a non-negative number, got -5"),
    ({"max_total_weight_kg": float("inf")}, "override max_total_weight_kg must be a finite number, got inf"),
    ({"max_lead_time_days": float("nan")}, "override max_lead_time_days must be a finite number, got nan"),
    ({"co2_price_per_kg": float("nan")}, "override co2_price_per_kg must be a finite number, got nan"),
    ({"cost": -1}, "override cost must be a non-negative number, got -1"),
    ({"lot_size": 0}, "override lot_size must be a positive number, got 0"),
    ({"budget": "lots"}, "override budget must be a number, got 'lots'"),
])
def test_overrides_are_held_to_the_request_submodels_rules_and_named_as_given(values, named):
    from aas_quantum.app import RequestOverrides
    from aas_quantum.errors import BomInputError

    with pytest.raises(BomInputError) as refused:
        RequestOverrides.of(values)
    assert str(refused.value) == named  # the override, not the server's request element
    if not isinstance(next(iter(values.values())), str):
        with pytest.raises(BomInputError, match="override"):
            RequestOverrides(**values)  # built directly (--lot-size) it is checked the same way
    assert RequestOverrides.of({"max_total_co2e_kg": -3.0}).max_total_co2e_kg == -3.0  # CO2e credits may be negative


def test_cli_refuses_a_parameter_the_solver_does_not_read(cli, tmp_path):
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--mixer", "complete",
                              "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "'mixer' does not apply to solver exact" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
    anneal = cli.invoke(app, ["optimize", str(SMALL), "--solver", "anneal", "--param", "sweeps=50", "--json",
                              "--out", str(tmp_path / "out")])
    assert anneal.exit_code == 0, anneal.output
    assert json.loads(anneal.output)["solver"]["details"]["sweeps"] == 50


def test_auto_is_registered_and_never_simulates_more_qubits_than_the_budget(load, monkeypatch):
    """The drone's penalty encoding needs 29 qubits: with a budget of 12, auto hands what exact leaves to the
    hybrid, whose windows are halved until their encoded qubits fit, so no simulated state exceeds 2^12
    amplitudes (exact proves the drone's optimum, so auto itself simulates nothing: the hybrid is run here)."""
    from aas_quantum.solvers import kernels

    assert "auto" in solvers.available() and isinstance(get_solver("auto"), AutoSolver)
    problem = load(SMALL).problem
    options = SolveOptions(encoding="penalty", qubit_budget=12, reps=1, maxiter=5, time_limit_s=5, shots=64)
    assert isinstance(AutoSolver.choose(problem, options), HybridSolver)
    sizes: list[int] = []
    original = kernels.FullSpaceQaoa.__init__

    def recording(self, diagonal, *args, **kwargs):
        sizes.append(len(diagonal))
        original(self, diagonal, *args, **kwargs)

    monkeypatch.setattr(kernels.FullSpaceQaoa, "__init__", recording)
    proved = get_solver("auto").solve(problem, options)
    assert proved.record.method == "exact" and proved.status == Status.OPTIMAL and not sizes
    solution = AutoSolver.choose(problem, options).solve(problem, options)
    assert solution.record.method == "hybrid" and solution.is_feasible
    assert sizes and max(sizes) <= 2 ** 12


LIGHT_COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", str(SMALL)],
    "templates": ["templates", "--out", "{tmp}/templates"],
    "export": ["export", "{tmp}/result.aasx", "--out", "{tmp}/erp"],
}


@pytest.mark.parametrize("command", list(LIGHT_COMMANDS))
def test_commands_that_solve_nothing_import_no_quantum_stack(command, cli, tmp_path):
    if command == "export":
        assert cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out", str(tmp_path)]).exit_code == 0
        next(tmp_path.glob("*.result.aasx")).rename(tmp_path / "result.aasx")
    args = [a.format(tmp=tmp_path) for a in LIGHT_COMMANDS[command]]
    probe = ("import sys\nfrom typer.testing import CliRunner\nfrom aas_quantum.cli import app\n"
             f"result = CliRunner().invoke(app, {args!r})\n"
             "assert result.exit_code == 0, result.output\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'qiskit', 'qiskit_algorithms', "
             "'qiskit_optimization', 'qiskit_aer', 'numba'}))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_help_loads_neither_numpy_nor_the_aas_sdk_nor_http():
    """--help is the first thing a user runs: the CLI imports what a command needs inside the command."""
    probe = ("import sys\nfrom typer.testing import CliRunner\nfrom aas_quantum.cli import app\n"
             "result = CliRunner().invoke(app, ['--help'])\nassert result.exit_code == 0, result.output\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'basyx', 'httpx', 'scipy', 'pandas'}))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
