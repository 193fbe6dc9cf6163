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
    """Swap options position by position until no constraint is violated; None if stuck.

    Each move takes, over every option of every position at once, the swap that removes the most
    violation per unit of extra cost (ties: the first position, then the first option). Violation
    is summed over rows, each row scaled by its largest coefficient so that different units weigh
    alike. What a swap changes (resource use, cost) is kept per option and updated only for the
    position that moved, so a move costs one pass over the options, not a rebuild.
    """
    a, b = problem.le_form
    scale = np.maximum(np.abs(a).max(axis=1, initial=0.0), 1e-9)[:, None]
    a, b = a / scale, b / scale[:, 0]
    costs = problem.cost_vector
    starts, position_of = problem.position_starts, problem.option_position
    chosen = starts + np.asarray(choice)  # the option chosen in each position
    old = chosen[position_of]  # per option: the option its position uses now
    delta = a - a[:, old]  # per option: what swapping to it changes in each row
    extra_cost = np.maximum(costs - costs[old], 0.0)
    tie = 1e-6 * (np.abs(costs[old]) + 1.0)
    lhs = a[:, chosen].sum(axis=1)
    for _ in range(max_moves or 4 * problem.n_options):
        current = float(np.maximum(lhs - b, 0.0).sum())
        if current <= 1e-9:
            return [int(c - s) for c, s in zip(chosen, starts, strict=True)]
        gain = current - np.maximum(lhs[:, None] + delta - b[:, None], 0.0).sum(axis=0)
        score = gain / (extra_cost + tie)
        score[gain <= 1e-12] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            return None
        p = position_of[best]
        lhs += delta[:, best]
        chosen[p] = best
        sl = problem.position_slices[p]
        delta[:, sl] = a[:, sl] - a[:, [best]]
        extra_cost[sl] = np.maximum(costs[sl] - costs[best], 0.0)
        tie[sl] = 1e-6 * (abs(costs[best]) + 1.0)
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
