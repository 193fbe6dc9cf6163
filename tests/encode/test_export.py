"""encode --format: each exported model, read back by the solver its format is for, has the exact solver's
optimum (LP / MPS in HiGHS, CQM and BQM in dimod, the QuadraticProgram in Qiskit Optimization with CPLEX)."""

from __future__ import annotations

import sys
from pathlib import Path

import dimod
import highspy
import numpy as np
import pytest
from docplex.mp.model_reader import ModelReader
from qiskit_optimization.algorithms import CplexOptimizer
from qiskit_optimization.translators import from_docplex_mp

from aas_quantum.cli import app
from aas_quantum.encode import encoding_scheme
from aas_quantum.encode.export import bqm_names
from aas_quantum.encode.table import ENCODINGS
from aas_quantum.errors import ExitCode
from aas_quantum.milp import milp_form
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.solvers import SolveOptions, Status, get_solver
from aas_quantum.synthetic import synthetic_catalog

from tests.support import MEDIUM, SMALL, brute_force, write_catalog

SAMPLES = {"drone": SMALL, "ebike": MEDIUM}


def exact_optimum(problem: BomProblem) -> float:
    solution = get_solver("exact").solve(problem, SolveOptions())
    assert solution.status == Status.OPTIMAL and solution.objective is not None
    return solution.objective


def export(cli, inputs: Path, fmt: str, out: Path, *extra: str) -> Path:
    result = cli.invoke(app, ["encode", str(inputs), "--format", fmt, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert out.is_file() and f"{fmt} model written to {out}" in " ".join(result.output.split())
    return out


@pytest.fixture(scope="module")
def small_synthetic(tmp_path_factory) -> tuple[Path, BomProblem]:
    """Four positions, a tight weight limit, one incompatibility and the concentration term: small enough
    to enumerate every bit string of its penalty QUBO (19 qubits, slack included)."""
    catalog = synthetic_catalog(
        4, seed=4, options_per_position=(2, 3), n_suppliers=3, concentration=20.0, weight_tightness=0.1
    )
    path = write_catalog(catalog, tmp_path_factory.mktemp("synthetic") / "small.aasx")
    return path, build_problem(catalog)


@pytest.mark.parametrize("fmt", ["lp", "mps"])
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_lp_and_mps_files_solve_in_highs_to_the_exact_optimum(cli, load, tmp_path, sample, fmt):
    problem = load(SAMPLES[sample]).problem
    # a file name without the format's suffix: HiGHS would otherwise pick the format by the name
    path = export(cli, SAMPLES[sample], fmt, tmp_path / f"{sample}.model")
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    scratch = tmp_path / f"read.{fmt}"
    scratch.write_bytes(path.read_bytes())
    assert highs.readModel(str(scratch)) == highspy.HighsStatus.kOk
    lp = highs.getLp()
    form = milp_form(problem)
    assert (lp.num_col_, lp.num_row_) == (len(form.cost), len(form.row_lower))  # the exact solver's model
    assert problem.concentration_weight > 0 and lp.num_col_ > problem.n_options  # secant columns included
    highs.setOptionValue("mip_rel_gap", 1e-9)
    assert highs.run() == highspy.HighsStatus.kOk
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    optimum = exact_optimum(problem)
    assert highs.getInfo().objective_function_value == pytest.approx(optimum, rel=1e-6)
    x = np.round(np.asarray(highs.getSolution().col_value)[: problem.n_options])
    assert problem.is_feasible(x) and problem.objective(x) == pytest.approx(optimum, rel=1e-6)


def _cqm_best(path: Path) -> tuple[float, dimod.ConstrainedQuadraticModel]:
    with path.open("rb") as fh:
        model = dimod.ConstrainedQuadraticModel.from_file(fh)
    feasible = dimod.ExactCQMSolver().sample_cqm(model).filter(lambda row: row.is_feasible)
    return float(feasible.first.energy), model


def test_cqm_file_has_one_discrete_group_per_position_and_the_exact_optimum_drone(cli, load, tmp_path):
    problem = load(SMALL).problem
    best, model = _cqm_best(export(cli, SMALL, "cqm", tmp_path / "drone.cqm"))
    assert best == pytest.approx(exact_optimum(problem), rel=1e-6)
    discrete = [label for label in model.constraints if label in model.discrete]
    assert len(discrete) == len(problem.positions)
    assert set(model.constraints) - set(discrete) == {c.name for c in problem.constraints}


def test_cqm_file_of_a_synthetic_problem_has_the_exact_optimum(cli, small_synthetic, tmp_path):
    """The e-bike's 64 options are beyond exact enumeration: a small synthetic problem stands in for it."""
    path, problem = small_synthetic
    best, _ = _cqm_best(export(cli, path, "cqm", tmp_path / "small.cqm"))
    assert best == pytest.approx(exact_optimum(problem), rel=1e-6)
    assert best == pytest.approx(brute_force(problem), rel=1e-6)


def _best_feasible_selection(problem: BomProblem, path: Path, encoding: str) -> tuple[float, float]:
    """(energy, objective) of the lowest-energy sample that decodes exactly to a feasible selection."""
    with path.open("rb") as fh:
        model = dimod.BinaryQuadraticModel.from_file(fh)
    scheme = encoding_scheme(encoding).for_any_ansatz()
    names = bqm_names(problem, scheme.qubits(problem))
    assert set(model.variables) == set(names)
    samples = dimod.ExactSolver().sample(model)
    bits = samples.record.sample[:, [samples.variables.index(name) for name in names]]
    order = np.argsort(samples.record.energy, kind="stable")
    choices, exact = scheme.interpret(problem, bits[order])
    for row, choice in enumerate(choices):
        x = problem.x_from_choice(choice)
        if exact[row] and problem.is_feasible(x):
            return float(samples.record.energy[order[row]]), problem.objective(x)
    raise AssertionError("no sample decodes to a feasible selection")


def test_penalty_bqm_ground_state_is_the_brute_force_optimum(cli, small_synthetic, tmp_path):
    """The penalty QUBO's ground state is the constrained optimum, at the optimum's objective as energy."""
    path, problem = small_synthetic
    energy, objective = _best_feasible_selection(
        problem, export(cli, path, "bqm", tmp_path / "small.bqm", "--encoding", "penalty"), "penalty"
    )
    optimum = brute_force(problem)
    assert objective == pytest.approx(optimum, rel=1e-6) and energy == pytest.approx(optimum, rel=1e-6)
    with (tmp_path / "small.bqm").open("rb") as fh:
        assert dimod.ExactSolver().sample(dimod.BinaryQuadraticModel.from_file(fh)).first.energy == pytest.approx(
            optimum, rel=1e-6
        )


@pytest.mark.parametrize("encoding", ["unbalanced", "onehot"])
def test_unbalanced_bqm_best_feasible_sample_is_the_drone_optimum(cli, load, tmp_path, encoding):
    """onehot exports what a sampler can run, the unbalanced QUBO with one-hot penalised."""
    problem = load(SMALL).problem
    assert not ENCODINGS["unbalanced"].has_slack
    _, objective = _best_feasible_selection(
        problem, export(cli, SMALL, "bqm", tmp_path / "drone.bqm", "--encoding", encoding), encoding
    )
    assert objective == pytest.approx(brute_force(problem), rel=1e-6)


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_quadratic_program_lp_text_solves_in_qiskit_optimization_to_the_exact_optimum(cli, load, tmp_path, sample):
    problem = load(SAMPLES[sample]).problem
    path = export(cli, SAMPLES[sample], "qp", tmp_path / f"{sample}.lp")
    # read_from_lp_file's deprecation names this route: docplex reads the file (with CPLEX), Qiskit translates
    qp = from_docplex_mp(ModelReader.read(str(path)))
    assert qp.get_num_binary_vars() == problem.n_options
    assert qp.get_num_linear_constraints() == len(problem.positions) + len(problem.constraints)
    assert qp.objective.quadratic.to_array().any()  # the concentration term stays quadratic
    result = CplexOptimizer(disp=False).solve(qp)
    optimum = exact_optimum(problem)
    assert result.fval == pytest.approx(optimum, rel=1e-6)
    assert problem.objective(np.round(result.x)) == pytest.approx(optimum, rel=1e-6)


def test_cqm_without_dimod_names_the_extra(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dimod", None)  # what an installation without the extra has
    result = cli.invoke(app, ["encode", str(SMALL), "--format", "cqm", "--out", str(tmp_path / "m.cqm")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "aas-quantum[dwave]" in result.output and not (tmp_path / "m.cqm").exists()


@pytest.mark.parametrize("args", [["--format", "lp"], ["--out", "m.lp"], ["--format", "xlsx", "--out", "m.xlsx"]])
def test_format_and_out_are_checked_before_anything_is_read(cli, tmp_path, args):
    result = cli.invoke(app, ["encode", str(tmp_path / "missing.aasx"), *args])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--format" in result.output and "missing.aasx" not in result.output
