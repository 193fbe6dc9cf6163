"""The hybrid's classical controls: window solvers that run in QAOA's place, so the same search at the
same time limit shows what QAOA adds. ``exact`` enumerates the window's one-hot selections; ``random``
draws QAOA's shots uniformly from them and keeps the best feasible one, QAOA's decoding."""

from __future__ import annotations

import time

import numpy as np

from aas_quantum.encode import choice_bits, subspace_objective
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status
from aas_quantum.solvers.variational import Selections


def enumerated_optimum(problem: BomProblem) -> tuple[float | None, tuple[int, ...] | None]:
    """The optimum over every one-hot selection (None when none is feasible)."""
    selections = Selections.of(problem)
    if not selections.feasible.any():
        return None, None
    objective = np.where(selections.feasible, selections.objective, np.inf)
    best = int(np.argmin(objective))
    return float(objective[best]), problem.choice_from_x(selections.bits(np.array([best]))[0].astype(float))


class WindowEnumeration(Solver):
    name = "exact"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        value, choice = enumerated_optimum(problem)
        record = SolverRecord(method=self.name, backend="enumeration (classical control)",
                              wall_time_s=time.perf_counter() - start)
        if choice is None:
            return Solution(Status.INFEASIBLE, None, None, record, reasons=("no one-hot selection is feasible",))
        return Solution(Status.OPTIMAL, choice, value, record, bound=value)


class UniformSampling(Solver):
    name = "random"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        rng = np.random.default_rng(options.seed)
        choices = np.stack([rng.integers(len(p.options), size=options.shots) for p in problem.positions], axis=1)
        objective, feasible = subspace_objective(problem, choice_bits(problem, choices))
        record = SolverRecord(method=self.name, backend="uniform sampling (random control)", shots=options.shots,
                              seed=options.seed, wall_time_s=time.perf_counter() - start)
        if not feasible.any():
            return Solution(Status.NO_SOLUTION, None, None, record, reasons=("no feasible sample",))
        best = np.flatnonzero(feasible)[np.argmin(objective[feasible])]
        return Solution(Status.FEASIBLE, tuple(int(c) for c in choices[best]), float(objective[best]), record)
