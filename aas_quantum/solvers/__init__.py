"""Solver registry: ``get_solver(name).solve(problem, options) -> Solution``."""

from __future__ import annotations

from aas_quantum.solvers.anneal import AnnealSolver
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status
from aas_quantum.solvers.exact import ExactSolver
from aas_quantum.solvers.greedy import GreedySolver
from aas_quantum.solvers.hybrid import HybridSolver
from aas_quantum.solvers.qaoa import QaoaSolver
from aas_quantum.solvers.vqe import VqeSolver

_SOLVERS: dict[str, type] = {
    "exact": ExactSolver,
    "greedy": GreedySolver,
    "qaoa": QaoaSolver,
    "hybrid": HybridSolver,
    "vqe": VqeSolver,
    "anneal": AnnealSolver,
}


def available() -> list[str]:
    return sorted(_SOLVERS)


def get_solver(name: str) -> Solver:
    try:
        return _SOLVERS[name]()
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(available())}") from None


__all__ = ["Solution", "SolveOptions", "Solver", "SolverRecord", "Status", "available", "get_solver"]
