"""One solver interface, one result type (as qiskit-optimization's ``OptimizationResult``).

Every solver takes a ``BomProblem`` and ``SolveOptions`` and returns a ``Solution``; the solver
record says how the answer was obtained so reports can compare methods honestly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from aas_quantum.problem import BomProblem


class Status(enum.StrEnum):
    OPTIMAL = "optimal"  # proven optimal
    FEASIBLE = "feasible"  # satisfies every constraint, optimality not proven
    INFEASIBLE = "infeasible"  # proven that no feasible selection exists
    NO_SOLUTION = "no_solution"  # the method found no feasible selection (proves nothing)


@dataclass(frozen=True)
class SolveOptions:
    """Options shared by all solvers; each reads the ones it uses."""

    time_limit_s: float = 60.0
    seed: int = 7
    reps: int = 2
    shots: int = 4096
    qubit_budget: int = 20
    optimizer: str = "COBYLA"
    maxiter: int = 200
    backend: str = "local"
    encoding: str = "onehot"
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> SolveOptions:
        return replace(self, **changes)


@dataclass(frozen=True)
class SolverRecord:
    method: str
    backend: str = "classical"
    encoding: str = ""
    qubits: int = 0
    reps: int = 0
    optimizer: str = ""
    evaluations: int = 0
    shots: int = 0
    seed: int | None = None
    wall_time_s: float = 0.0
    p_feasible: float | None = None
    p_optimal: float | None = None
    best_energy: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Solution:
    status: Status
    choice: tuple[int, ...] | None  # option number within each position
    objective: float | None
    record: SolverRecord
    bound: float | None = None  # proven lower bound on the objective, where the method gives one
    reasons: tuple[str, ...] = ()

    @property
    def is_feasible(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    def x(self, problem: BomProblem) -> np.ndarray:
        if self.choice is None:
            raise ValueError(f"{self.record.method} returned no selection ({self.status.value})")
        return problem.x_from_choice(self.choice)


class Solver(Protocol):
    name: str

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution: ...


def feasible_solution(
    problem: BomProblem, choice: tuple[int, ...] | None, record: SolverRecord
) -> Solution:
    """Wrap a heuristic's choice: FEASIBLE when it satisfies every constraint, NO_SOLUTION otherwise."""
    if choice is None:
        return Solution(Status.NO_SOLUTION, None, None, record)
    x = problem.x_from_choice(choice)
    violated = problem.violations(x)
    if violated:
        return Solution(Status.NO_SOLUTION, None, None, record, reasons=tuple(c.name for c, _ in violated))
    return Solution(Status.FEASIBLE, tuple(choice), problem.objective(x), record)
