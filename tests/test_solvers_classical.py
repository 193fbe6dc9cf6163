"""exact against brute force and published MMKP optima; greedy is feasible and never beats exact."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aas_quantum.catalog import ObjectiveWeights
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.solvers import SolveOptions, Status, get_solver
from aas_quantum.synthetic import synthetic_catalog

from conftest import MMKP_DIR


def brute_force(problem: BomProblem) -> float | None:
    best = None
    for choice in itertools.product(*(range(len(p.options)) for p in problem.positions)):
        x = problem.x_from_choice(choice)
        if not problem.violations(x):
            value = problem.objective(x)
            best = value if best is None else min(best, value)
    return best


@st.composite
def small_problems(draw) -> BomProblem:
    catalog = synthetic_catalog(
        draw(st.integers(2, 5)), seed=draw(st.integers(0, 10_000)), options_per_position=(2, 3),
        n_suppliers=draw(st.integers(2, 4)), weight_tightness=draw(st.floats(0.0, 1.0)),
        budget_tightness=draw(st.one_of(st.none(), st.floats(0.0, 0.5))),
    )
    request = replace(
        catalog.request,
        max_positions_per_supplier=draw(st.one_of(st.none(), st.integers(1, 3))),
        max_supplier_share=draw(st.one_of(st.none(), st.floats(0.4, 0.95))),
        weights=ObjectiveWeights(co2_price_per_kg=draw(st.sampled_from([0.0, 0.5])),
                                 risk=draw(st.sampled_from([0.0, 0.3])),
                                 concentration=draw(st.sampled_from([0.0, 5.0, 40.0]))),
    )
    return build_problem(replace(catalog, request=request))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_exact_matches_brute_force(problem: BomProblem):
    expected = brute_force(problem)
    solution = get_solver("exact").solve(problem, SolveOptions())
    if expected is None:
        assert solution.status == Status.INFEASIBLE
        assert solution.reasons
    else:
        assert solution.status == Status.OPTIMAL
        assert solution.objective == pytest.approx(expected, rel=1e-9, abs=1e-6)
        assert problem.is_feasible(solution.x(problem))


@pytest.mark.parametrize(("method", "options"), [("greedy", SolveOptions()),
                                                   ("anneal", SolveOptions(extra={"sweeps": 200}))])
@settings(max_examples=50, deadline=None)
@given(problem=small_problems())
def test_heuristic_is_feasible_and_not_better_than_optimum(method: str, options: SolveOptions, problem: BomProblem):
    solution = get_solver(method).solve(problem, options)
    optimum = brute_force(problem)
    if solution.is_feasible:
        assert problem.is_feasible(solution.x(problem))
        assert solution.objective >= optimum - 1e-6
    else:
        assert solution.status == Status.NO_SOLUTION


def test_greedy_starts_from_cheapest_when_unconstrained():
    catalog = synthetic_catalog(6, seed=2, weight_tightness=1.0, with_rules=False)
    problem = build_problem(replace(catalog, request=replace(catalog.request, max_total_weight_kg=None)))
    greedy = get_solver("greedy").solve(problem, SolveOptions())
    cheapest = tuple(int(np.argmin(problem.cost_vector[sl])) for sl in problem.position_slices)
    assert greedy.choice == cheapest


mmkp = pytest.importorskip("mmkp")
needs_mmkp = pytest.mark.skipif(not MMKP_DIR.is_dir(), reason="MMKP benchmark data not present")


@needs_mmkp
@pytest.mark.parametrize("name", ["I01", "I02", "I03"])
def test_exact_matches_khan_optimum(name: str):
    instance = mmkp.read_khan(MMKP_DIR / "khan" / f"{name}.txt")
    solution = get_solver("exact").solve(build_problem(mmkp.to_catalog(instance)), SolveOptions(time_limit_s=120))
    assert solution.status == Status.OPTIMAL
    assert mmkp.value_of(instance, solution.objective) == pytest.approx(instance.optimum)


@needs_mmkp
@pytest.mark.parametrize("test_set", ["TestSet1.5GP10IT5KP", "TestSet2.10GP10IT5KP"])
def test_exact_matches_hiremath_hill_optima(test_set: str):
    instances = mmkp.read_hiremath_hill(MMKP_DIR / "hiremath-hill" / f"{test_set}.txt", mmkp.hiremath_hill_optima())
    assert len(instances) == 30
    for instance in instances:
        solution = get_solver("exact").solve(build_problem(mmkp.to_catalog(instance)), SolveOptions())
        assert solution.status == Status.OPTIMAL, instance.name
        assert mmkp.value_of(instance, solution.objective) == pytest.approx(instance.optimum), instance.name


def test_anneal_improves_on_greedy_for_medium_sample():
    from test_samples import load

    from conftest import MEDIUM

    problem = build_problem(load(MEDIUM))
    greedy = get_solver("greedy").solve(problem, SolveOptions())
    annealed = get_solver("anneal").solve(problem, SolveOptions(seed=3))
    optimum = get_solver("exact").solve(problem, SolveOptions()).objective
    assert annealed.objective <= greedy.objective + 1e-9  # starts from greedy, keeps the best seen
    assert annealed.objective <= optimum * 1.02
