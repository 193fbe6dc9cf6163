"""One solver interface, one result type (as qiskit-optimization's ``OptimizationResult``).

Every solver takes a ``BomProblem`` and ``SolveOptions`` and returns a ``Solution``; the solver
record says how the answer was obtained so reports can compare methods honestly.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol

from aas_quantum.errors import ConfigError

if TYPE_CHECKING:  # the registry (and so --help) loads without numpy
    import numpy as np

    from aas_quantum.problem import BomProblem


class Status(enum.StrEnum):
    OPTIMAL = "optimal"  # proven optimal
    FEASIBLE = "feasible"  # satisfies every constraint, optimality not proven
    INFEASIBLE = "infeasible"  # proven that no feasible selection exists
    NO_SOLUTION = "no_solution"  # the method found no feasible selection (proves nothing)


@dataclass(frozen=True)
class SolverProgress:
    """What a long solver says while it runs: how much work is done (``steps`` counted in ``unit``)
    and the best value so far (``what``: ``energy`` of a variational circuit, or ``objective`` of a
    selection)."""

    steps: int
    unit: str
    best: float | None
    what: str

    def text(self) -> str:
        if self.best is None:
            return f"{self.steps:,} {self.unit}"
        best = f"{self.best:,.2f}" if self.what == "objective" else f"{self.best:.4g}"
        return f"{self.steps:,} {self.unit}, best {self.what} {best}"


Observer = Callable[[SolverProgress], None]


@dataclass(frozen=True)
class SolveOptions:
    """Every solver parameter, typed, with its one default; each solver declares which it reads
    (``solvers.parameters(name)``) and a parameter the chosen solver does not read is an error."""

    time_limit_s: float = 60.0
    seed: int = 7
    reps: int = 2  # QAOA layers / VQE ansatz repetitions
    shots: int = 4096
    qubit_budget: int = 20  # largest direct quantum run; auto decomposes above it
    optimizer: str = "COBYLA"  # COBYLA | SPSA | L-BFGS-B
    maxiter: int = 200
    backend: str = "local"  # local | statevector | aer | fake:<FakeDevice> | ibm:<device>
    encoding: str = "onehot"  # onehot | unbalanced | penalty
    warm_start: str | None = None  # QAOA: greedy | relaxed
    warm_epsilon: float = 0.25  # QAOA warm-start regularisation
    cvar_alpha: float = 1.0  # CVaR aggregation (1 = expectation)
    tune_penalties: bool = True  # onehot/unbalanced: limit multipliers chosen on the enumerated subspace
    mixer: str = "ring"  # QAOA XY mixer topology: ring | complete
    interp: bool = False  # QAOA: grow the depth 1..reps with INTERP initialisation
    ansatz: str = "RealAmplitudes"  # VQE: RealAmplitudes | EfficientSU2
    sweeps: int = 2000  # anneal: sweeps over the positions
    sub_solver: str = "qaoa"  # hybrid: what solves each window (qaoa | exact, random: the controls)
    # hybrid: windows in a row without a gain before it stops (None: two passes' worth of windows over the
    # positions; 0: run to the time limit)
    patience: int | None = None
    known_optimum: float | None = None  # set by the run from the exact baseline: P(optimal) in records
    observer: Observer | None = field(default=None, compare=False, repr=False)  # set by the run: progress

    def __post_init__(self) -> None:
        """Options no solver can run with are never built, whichever edge they came from (a NaN time
        limit passed every range check and hung the run); the edges check earlier to name their own field."""
        for name in USER_FIELDS:
            check_value(name, getattr(self, name))

    def observe(self, steps: int, unit: str, best: float | None, what: str) -> None:
        if self.observer is not None:
            self.observer(SolverProgress(steps, unit, best, what))

    def with_(self, **changes: Any) -> SolveOptions:
        return replace(self, **changes)


_RUN_FIELDS = ("known_optimum", "observer")  # set by the run, never by a user
USER_FIELDS = tuple(f.name for f in fields(SolveOptions) if f.name not in _RUN_FIELDS)
# a user field -> (its type, whether None is allowed)
_TYPES = {name: (hint.__args__[0] if isinstance(hint, types.UnionType) else hint, isinstance(hint, types.UnionType))
          for name, hint in typing.get_type_hints(SolveOptions).items() if name in USER_FIELDS}

# the longest time limit: a run asked for more holds a service worker (and its queue) as a NaN limit did
WEEK_S = 7 * 24 * 3600.0
# numeric parameter -> (smallest, largest) value it may take (None: unbounded above); every int and float
# field has one (tests/app/test_app.py checks)
# reps and shots are capped: the time limit is checked between evaluations, and one evaluation of 2**31
# layers, or a draw of 2**31 shots, never reaches the check
RANGES: dict[str, tuple[float, float | None]] = {
    "time_limit_s": (0.0, WEEK_S), "seed": (0, 2**32 - 1), "reps": (1, 100), "shots": (1, 10_000_000),
    "qubit_budget": (1, None), "maxiter": (1, None), "warm_epsilon": (0.0, 0.5), "cvar_alpha": (0.0, 1.0),
    "sweeps": (1, None), "patience": (0, None)}
_EXCLUSIVE = ("time_limit_s", "cvar_alpha")  # their smallest is excluded: 0 s or an empty CVaR tail make no sense
_CHOICES = {"optimizer": ("COBYLA", "SPSA", "L-BFGS-B"), "encoding": ("onehot", "unbalanced", "penalty"),
            "warm_start": (None, "greedy", "relaxed"), "mixer": ("ring", "complete"),
            "ansatz": ("RealAmplitudes", "EfficientSU2"), "sub_solver": ("qaoa", "exact", "random")}


def _flag(key: str) -> str:
    return f"{key} (--{'time-limit' if key == 'time_limit_s' else key.replace('_', '-')})"


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def value_range(key: str) -> str:
    """How a message states a numeric parameter's range: ``> 0``, ``>= 0 and <= 0.5``."""
    low, high = RANGES[key]
    return f"{'>' if key in _EXCLUSIVE else '>='} {_num(low)}" + ("" if high is None else f" and <= {_num(high)}")


def check_value(key: str, value: Any, where: str | None = None) -> None:
    """Refuse a value its solver would choke on (``reps 0``, a negative seed, a NaN that every range check
    lets through, ``reps 2.5``), naming the flag (or ``where``)."""
    name = where or _flag(key)
    kind, optional = _TYPES[key]
    if value is None:
        if optional:
            return
        raise ConfigError(f"{name} must be set, got None")
    if kind is int or kind is float:
        low, high = RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
            raise ConfigError(f"{name} must be a {'whole ' if kind is int else ''}number {value_range(key)}, "
                              f"got {value!r}")
        if not math.isfinite(value) or value < low or (value == low and key in _EXCLUSIVE) \
                or (high is not None and value > high):
            raise ConfigError(f"{name} must be a number {value_range(key)}, got {value!r}")
    elif kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{name} must be one of {', '.join(str(c) for c in _CHOICES[key] if c)}, got {value!r}")


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

    def compatibility(self, problem: BomProblem, options: SolveOptions) -> str | None:
        """Why this solver cannot take ``problem`` with ``options`` (None when it can), decided
        before any memory is allocated (as qiskit-optimization's ``get_compatibility_msg``)."""
        return None


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
