"""``auto``: the quantum solver the problem allows, chosen by encoded qubits before any allocation."""

from __future__ import annotations

from aas_quantum.encode import encoding_scheme
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, Solver
from aas_quantum.solvers.hybrid import HybridSolver
from aas_quantum.solvers.qaoa import QaoaSolver


class AutoSolver(Solver):
    name = "auto"

    @staticmethod
    def choose(problem: BomProblem, options: SolveOptions) -> Solver:
        """Direct QAOA when the encoded problem (slack qubits included) fits the qubit budget and
        the simulator can hold it; the hybrid decomposition, whose windows fit the budget, otherwise."""
        direct = QaoaSolver()
        if encoding_scheme(options.encoding).qubits(problem) <= options.qubit_budget \
                and direct.compatibility(problem, options) is None:
            return direct
        return HybridSolver()

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        return self.choose(problem, options).solve(problem, options)
