"""``greedy+ls``: the greedy selection polished by best-improvement single swaps.

The strong classical reference next to the naive greedy: "improvement vs greedy" alone flatters
any method, since one pass of swaps already closes most of greedy's gap on the samples. A swap
changes the option of one position; every candidate swap of every position is scored at once
(resource use, cost and the concentration term are kept per option), the best feasible improving
one is taken, until none improves or the time limit is reached.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, feasible_solution
from aas_quantum.solvers.greedy import GreedySolver


@dataclass(frozen=True)
class Swaps:
    """What changing one position's option would do, for every option of every position at once."""

    objective_change: np.ndarray  # per option; 0 for the options chosen now
    excess: np.ndarray  # (constraint, option): how far the constraint would be over its bound (0: it holds)

    def fits(self) -> np.ndarray:
        return np.asarray(np.all(self.excess <= 1e-9, axis=0))


def single_swaps(problem: BomProblem, choice: Sequence[int]) -> Swaps:
    """The effect of every single swap from ``choice``: the objective's change (cost, and the concentration
    term: moving a position from supplier s to t changes sum n^2 by 2 (n_t - n_s + 1)) and each
    constraint's excess (rows as ``problem.constraints``)."""
    a, b = problem.le_form
    costs = problem.cost_vector
    supplier_of = problem.option_supplier
    chosen = problem.position_starts + np.asarray(choice)
    old = chosen[problem.option_position]
    change = costs - costs[old]
    if problem.concentration_weight:
        used = np.bincount(supplier_of[chosen], minlength=len(problem.supplier_groups)).astype(float)
        other = supplier_of != supplier_of[old]
        change += np.where(other, 2.0 * problem.concentration_weight
                           * (used[supplier_of] - used[supplier_of[old]] + 1.0), 0.0)
    lhs = a[:, chosen].sum(axis=1)
    excess = np.maximum(lhs[:, None] + a - a[:, old] - b[:, None], 0.0)
    change[chosen] = 0.0
    return Swaps(change, excess)


def polish(problem: BomProblem, choice: tuple[int, ...], deadline: float) -> tuple[tuple[int, ...], int]:
    """``choice`` (feasible) after best-improvement swaps until none improves or ``deadline``
    (``time.perf_counter()``) passes; also the number of swaps made."""
    costs, starts, position_of = problem.cost_vector, problem.position_starts, problem.option_position
    current = list(choice)
    tolerance = 1e-9 * (1.0 + float(np.abs(costs).max(initial=0.0)))
    swaps = 0
    while time.perf_counter() < deadline:
        effects = single_swaps(problem, current)
        change = np.where(effects.fits(), effects.objective_change, np.inf)
        best = int(np.argmin(change))
        if not change[best] < -tolerance:
            break
        p = int(position_of[best])
        current[p] = best - int(starts[p])
        swaps += 1
    return tuple(current), swaps


def polished(problem: BomProblem, greedy: Solution, options: SolveOptions) -> Solution:
    """greedy+ls from a greedy solution already at hand (a run has one: greedy is not solved twice)."""
    start = time.perf_counter()
    if greedy.choice is None:
        return Solution(greedy.status, None, None, SolverRecord(method=GreedyLocalSearchSolver.name),
                        reasons=greedy.reasons)
    choice, swaps = polish(problem, greedy.choice, start + options.time_limit_s)
    return feasible_solution(problem, choice, SolverRecord(
        method=GreedyLocalSearchSolver.name, wall_time_s=greedy.record.wall_time_s + time.perf_counter() - start,
        details={"swaps": swaps, "greedy_objective": greedy.objective}))


class GreedyLocalSearchSolver(Solver):
    name = "greedy+ls"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        return polished(problem, GreedySolver().solve(problem, options), options)
