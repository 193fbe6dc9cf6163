"""The exact optimum of a small problem by trying every choice: what the solvers are checked against."""

from __future__ import annotations

import itertools

from aas_quantum.problem import BomProblem


def brute_force(problem: BomProblem) -> float | None:
    best = None
    for choice in itertools.product(*(range(len(p.options)) for p in problem.positions)):
        x = problem.x_from_choice(choice)
        if not problem.violations(x):
            value = problem.objective(x)
            best = value if best is None else min(best, value)
    return best
