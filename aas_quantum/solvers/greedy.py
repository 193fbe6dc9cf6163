"""Greedy baseline: cheapest option per position, then repair violated limits.

This is the classical procurement heuristic the "improvement vs greedy" figure is measured
against, so it is deliberately simple: one pass of cheapest choices, then single-position swaps
that remove the most violation per unit of extra cost until every limit holds.
"""

from __future__ import annotations

import time

import numpy as np

from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, feasible_solution


def total_violation(a: np.ndarray, b: np.ndarray, lhs: np.ndarray) -> np.ndarray:
    """Violation summed over rows, each row scaled so that different units weigh alike.

    ``lhs`` may carry extra trailing axes (one per candidate move).
    """
    scale = np.maximum(np.abs(a).max(axis=1), 1e-9)
    excess = np.maximum(lhs - b.reshape(b.shape + (1,) * (lhs.ndim - 1)), 0.0)
    return (excess / scale.reshape(scale.shape + (1,) * (lhs.ndim - 1))).sum(axis=0)


def repair(problem: BomProblem, choice: list[int], max_moves: int | None = None) -> list[int] | None:
    """Swap options position by position until no constraint is violated; None if stuck."""
    a, b = problem.le_form
    x = problem.x_from_choice(choice)
    lhs = a @ x
    costs = problem.cost_vector
    for _ in range(max_moves or 4 * problem.n_options):
        current = total_violation(a, b, lhs)
        if current <= 1e-9:
            return choice
        best: tuple[float, int, int] | None = None
        for p, sl in enumerate(problem.position_slices):
            old = sl.start + choice[p]
            delta = a[:, sl] - a[:, [old]]
            gain = current - total_violation(a, b, lhs[:, None] + delta)
            extra_cost = costs[sl] - costs[old]
            for option in np.flatnonzero(gain > 1e-12):
                score = gain[option] / (max(extra_cost[option], 0.0) + 1e-6 * (abs(costs[old]) + 1.0))
                if best is None or score > best[0]:
                    best = (score, p, int(option))
        if best is None:
            return None
        _, p, k = best
        sl = problem.position_slices[p]
        lhs += a[:, sl.start + k] - a[:, sl.start + choice[p]]
        choice[p] = k
    return None


class GreedySolver(Solver):
    name = "greedy"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        costs = problem.cost_vector
        choice = [int(np.argmin(costs[sl])) for sl in problem.position_slices]
        repaired = repair(problem, choice)
        record = SolverRecord(method=self.name, wall_time_s=time.perf_counter() - start)
        return feasible_solution(problem, tuple(repaired) if repaired is not None else None, record)
