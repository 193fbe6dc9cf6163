"""Simulated annealing over selections: a classical heuristic baseline.

Moves swap the option of one position, so every state keeps exactly one option per position (a
penalty-QUBO annealer flipping single bits almost never lands on a feasible MMKP selection).
Limit violations are charged with a weight that grows during the run; the best feasible state
seen is returned. Incremental: a move updates the constraint left-hand sides by one column
difference.
"""

from __future__ import annotations

import math
import time

import numpy as np

from aas_quantum.encode import objective_spread
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, feasible_solution
from aas_quantum.solvers.greedy import GreedySolver, total_violation


class AnnealSolver(Solver):
    name = "anneal"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        rng = np.random.default_rng(options.seed)
        sweeps = options.sweeps
        a, b = problem.le_form
        greedy = GreedySolver().solve(problem, options)
        choice = list(greedy.choice) if greedy.choice is not None else \
            [int(np.argmin(problem.cost_vector[sl])) for sl in problem.position_slices]
        x = problem.x_from_choice(choice)
        lhs = a @ x
        value = problem.objective(x)
        spread = objective_spread(problem)
        t_hot, t_cold = 0.2 * spread / max(len(problem.positions), 1), 1e-4 * spread
        best: tuple[float, tuple[int, ...]] | None = None
        if greedy.is_feasible:
            best = (value, tuple(choice))
        movable = [p for p, sl in enumerate(problem.position_slices) if sl.stop - sl.start > 1]
        steps = sweeps * max(len(movable), 1)
        accepted = 0
        for step in range(steps if movable else 0):
            if step % 1000 == 0:
                if time.perf_counter() - start > options.time_limit_s:
                    break
                options.observe(step, "moves", best[0] if best else None, "objective")
            fraction = step / steps
            temperature = t_hot * (t_cold / t_hot) ** fraction
            weight = spread * (0.1 + 10.0 * fraction)  # violations cost more as the run cools
            p = movable[int(rng.integers(len(movable)))]
            sl = problem.position_slices[p]
            new = int(rng.integers(sl.stop - sl.start - 1))
            new += new >= choice[p]
            old_i, new_i = sl.start + choice[p], sl.start + new
            x_new = x.copy()
            x_new[old_i], x_new[new_i] = 0.0, 1.0
            new_value = problem.objective(x_new)
            new_lhs = lhs + a[:, new_i] - a[:, old_i]
            delta = (new_value - value) + weight * (total_violation(a, b, new_lhs) - total_violation(a, b, lhs))
            if delta <= 0 or rng.random() < math.exp(-delta / temperature):
                choice[p], x, lhs, value = new, x_new, new_lhs, new_value
                accepted += 1
                if total_violation(a, b, lhs) <= 1e-9 and (best is None or value < best[0] - 1e-12):
                    best = (value, tuple(choice))
        record = SolverRecord(method=self.name, wall_time_s=time.perf_counter() - start, seed=options.seed,
                              evaluations=accepted, details={"sweeps": sweeps, "moves": steps})
        return feasible_solution(problem, best[1] if best else None, record)
