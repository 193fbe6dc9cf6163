"""A run never returns worse than what it has already proved, and says so; a time limit that leaves no
selection is its own outcome (exit 5), never 'infeasible'."""

from __future__ import annotations

import json

import pytest

from aas_quantum.cli import app
from aas_quantum.problem import build_problem
from aas_quantum.run import best_verified, optimize
from aas_quantum.solvers import SolveOptions, Status, get_solver
from aas_quantum.solvers.base import Solution, SolverRecord
from aas_quantum.synthetic import synthetic_catalog


def _solution(status: Status, objective: float | None, method: str) -> Solution:
    return Solution(status, (0,) if objective is not None else None, objective, SolverRecord(method))


def test_the_best_verified_selection_is_returned_with_where_it_came_from():
    own = _solution(Status.FEASIBLE, 106.0, "qaoa")
    exact = _solution(Status.OPTIMAL, 100.0, "exact")
    greedy = _solution(Status.FEASIBLE, 103.0, "greedy")
    chosen = best_verified(own, [exact, greedy])
    assert chosen.objective == 100.0 and chosen.status is Status.OPTIMAL
    assert chosen.record.method == "qaoa" and chosen.record.details == {
        "selection_from": "exact", "own_status": "feasible", "own_objective": 106.0}
    assert best_verified(_solution(Status.FEASIBLE, 100.0, "qaoa"), [exact, greedy]).record.details == {}
    fallback = best_verified(_solution(Status.NO_SOLUTION, None, "exact"), [
        _solution(Status.NO_SOLUTION, None, "exact"), greedy])
    assert fallback.objective == 103.0 and fallback.record.details["own_status"] == "no_solution"
    assert best_verified(_solution(Status.NO_SOLUTION, None, "qaoa"), [_solution(Status.NO_SOLUTION, None, "exact"),
                                                                     _solution(Status.NO_SOLUTION, None, "greedy")
                                                                     ]) is None


def test_a_weak_solver_run_returns_the_proven_optimum_it_computed_as_baseline():
    problem = build_problem(synthetic_catalog(13, 5, options_per_position=(3, 4), weight_tightness=0.8))
    exact = get_solver("exact").solve(problem, SolveOptions())
    weak = get_solver("anneal").solve(problem, SolveOptions(sweeps=1, seed=1))
    assert exact.status is Status.OPTIMAL and weak.objective is not None and weak.objective > exact.objective
    report = optimize(problem, "anneal", SolveOptions(sweeps=1, seed=1))
    assert report.solution.objective == pytest.approx(exact.objective)
    assert report.solution.record.details["selection_from"] == "exact"
    assert report.solution.record.details["own_objective"] == pytest.approx(weak.objective)
    assert report.kpis.gap_to_optimum_pct == pytest.approx(0.0, abs=1e-9)


def test_exact_out_of_time_is_not_infeasible(cli, tmp_path):
    """HiGHS stopped by a 1 ms limit has no selection; greedy has one: that is the answer, not 'infeasible'."""
    from aas_quantum.aas.files import write_aasx
    from aas_quantum.aas.mapping import catalog_objects

    path = tmp_path / "g120.aasx"
    write_aasx(path, catalog_objects(synthetic_catalog(120, 3), "urn:aas-quantum:test:g120"))
    done = cli.invoke(app, ["optimize", str(path), "--solver", "exact", "--time-limit", "0.001", "--json",
                            "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert summary["status"] == "feasible"
    details = summary["solver"]["details"]  # HiGHS finds nothing in 1 ms on 120 positions: greedy's selection
    assert details["selection_from"] == "greedy" and details["own_status"] == "no_solution"
