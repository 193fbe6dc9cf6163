"""``auto``: the fastest way to the best answer the time limit allows.

A problem whose encoding fits the qubit budget runs QAOA directly (what ``auto`` is for on small BoMs).
Above the budget, exact MILP first: when HiGHS proves the optimum within the limit nothing is faster for
the same answer (measured on main: the hybrid took 48 s at 2,000 positions and 100 s at 10,000 for the
selection exact proved in 5.6 s and 35 s). Only when exact stops unproven does the hybrid get the time
left, starting from exact's incumbent. In a run the exact baseline is solved already (``exact_baseline``)
and is not solved twice.
"""

from __future__ import annotations

import time
from dataclasses import replace

from aas_quantum.encode import encoding_scheme
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, Status
from aas_quantum.solvers.exact import ExactSolver
from aas_quantum.solvers.hybrid import HybridSolver
from aas_quantum.solvers.qaoa import QaoaSolver


class AutoSolver(Solver):
    name = "auto"

    @staticmethod
    def choose(problem: BomProblem, options: SolveOptions) -> Solver:
        """Direct QAOA when the encoded problem (slack qubits included) fits the qubit budget and the
        simulator can hold it; otherwise the hybrid, which gets what exact leaves of the time limit."""
        direct = QaoaSolver()
        if encoding_scheme(options.encoding).qubits(problem) <= options.qubit_budget \
                and direct.compatibility(problem, options) is None:
            return direct
        return HybridSolver()

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        chosen = self.choose(problem, options)
        if isinstance(chosen, QaoaSolver):
            return chosen.solve(problem, options)
        started = time.perf_counter()
        exact = options.exact_baseline or ExactSolver().solve(problem, options)
        # a baseline the run solved spent its wall time before this solver started: it counts all the same
        left = options.time_limit_s - max(exact.record.wall_time_s, time.perf_counter() - started)
        if exact.status in (Status.OPTIMAL, Status.INFEASIBLE) or left <= 0:
            why = "proved" if exact.status == Status.OPTIMAL else f"ended {exact.status.value}; no time left"
            return replace(exact, record=replace(exact.record, details={
                **exact.record.details, "chosen_by": self.name, "auto": f"exact {why} within the time limit"}))
        return chosen.solve(problem, options.with_(time_limit_s=left, exact_baseline=exact))
