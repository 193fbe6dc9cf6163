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


# the longest time limit: a run asked for more holds a service worker (and its queue) as a NaN limit did
WEEK_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Param:
    """The values a solver parameter may take, declared beside its field (as dimod declares a sampler's
    ``parameters`` beside its keyword arguments), so a new parameter is one line and its check cannot be
    forgotten in a table elsewhere. Every int and float field has a ``low`` (tests/app/test_app.py checks)."""

    low: float | None = None  # smallest value (None: not numeric)
    high: float | None = None  # largest value (None: unbounded above)
    exclusive: bool = False  # ``low`` itself is refused
    choices: tuple[str | None, ...] = ()  # the only values allowed (empty: any)


def param(low: float | None = None, high: float | None = None, *, exclusive: bool = False,
          choices: tuple[str | None, ...] = ()) -> dict[str, Param]:
    """A field's ``metadata``: ``field(default=2, metadata=param(1, 100))``."""
    return {"param": Param(low, high, exclusive, choices)}


@dataclass(frozen=True)
class SolveOptions:
    """Every solver parameter, typed, with its one default and the values it may take; each solver declares
    which it reads (``solvers.parameters(name)``) and a parameter the chosen solver does not read is an error."""

    # 0 s makes no sense; a week is the longest (WEEK_S)
    time_limit_s: float = field(default=60.0, metadata=param(0.0, WEEK_S, exclusive=True))
    seed: int = field(default=7, metadata=param(0, 2**32 - 1))
    # reps and shots are capped: the time limit is checked between evaluations, and one evaluation of 2**31
    # layers, or a draw of 2**31 shots, never reaches the check
    reps: int = field(default=2, metadata=param(1, 100))  # QAOA layers / VQE ansatz repetitions
    shots: int = field(default=4096, metadata=param(1, 10_000_000))
    qubit_budget: int = field(default=20, metadata=param(1))  # largest direct quantum run; auto decomposes above it
    optimizer: str = field(default="COBYLA", metadata=param(choices=("COBYLA", "SPSA", "L-BFGS-B")))
    maxiter: int = field(default=200, metadata=param(1))
    backend: str = "local"  # local | statevector | aer | fake:<FakeDevice> | ibm:<device>
    encoding: str = field(default="onehot", metadata=param(choices=("onehot", "unbalanced", "penalty")))
    warm_start: str | None = field(default=None, metadata=param(choices=(None, "greedy", "relaxed")))  # QAOA
    warm_epsilon: float = field(default=0.25, metadata=param(0.0, 0.5))  # QAOA warm-start regularisation
    # CVaR aggregation (1 = expectation); an empty tail (0) makes no sense
    cvar_alpha: float = field(default=1.0, metadata=param(0.0, 1.0, exclusive=True))
    tune_penalties: bool = True  # onehot/unbalanced: limit multipliers chosen on the enumerated subspace
    mixer: str = field(default="ring", metadata=param(choices=("ring", "complete")))  # QAOA XY mixer topology
    interp: bool = False  # QAOA: grow the depth 1..reps with INTERP initialisation
    ansatz: str = field(default="RealAmplitudes", metadata=param(choices=("RealAmplitudes", "EfficientSU2")))  # VQE
    sweeps: int = field(default=2000, metadata=param(1))  # anneal: sweeps over the positions
    # hybrid: what solves each window (random: the control)
    sub_solver: str = field(default="qaoa", metadata=param(choices=("qaoa", "exact", "random")))
    # hybrid: windows in a row without a gain before it stops (None: two passes' worth of windows over the
    # positions; 0: run to the time limit)
    patience: int | None = field(default=None, metadata=param(0))
    known_optimum: float | None = None  # set by the run from the exact baseline: P(optimal) in records
    # set by the run: the exact baseline it solved with this time limit, so auto does not solve it twice and
    # the hybrid starts from its incumbent rather than from a worse search of its own
    exact_baseline: Solution | None = field(default=None, compare=False, repr=False)
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


_RUN_FIELDS = ("known_optimum", "exact_baseline", "observer")  # set by the run, never by a user
USER_FIELDS = tuple(f.name for f in fields(SolveOptions) if f.name not in _RUN_FIELDS)
# a user field -> (its type, whether None is allowed)
_TYPES = {name: (hint.__args__[0] if isinstance(hint, types.UnionType) else hint, isinstance(hint, types.UnionType))
          for name, hint in typing.get_type_hints(SolveOptions).items() if name in USER_FIELDS}
# a user field -> what its declaration allows (Param(): anything of its type)
PARAMS = {f.name: f.metadata.get("param", Param()) for f in fields(SolveOptions) if f.name in USER_FIELDS}
# numeric parameter -> (smallest, largest) value, read from the declarations
RANGES = {name: (p.low, p.high) for name, p in PARAMS.items() if p.low is not None}


def _flag(key: str) -> str:
    return f"{key} (--{'time-limit' if key == 'time_limit_s' else key.replace('_', '-')})"


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def value_range(key: str) -> str:
    """How a message states a numeric parameter's range: ``> 0``, ``>= 0 and <= 0.5``."""
    low, high = RANGES[key]
    return f"{'>' if PARAMS[key].exclusive else '>='} {_num(low)}" + ("" if high is None else f" and <= {_num(high)}")


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
        if not math.isfinite(value) or value < low or (value == low and PARAMS[key].exclusive) \
                or (high is not None and value > high):
            raise ConfigError(f"{name} must be a number {value_range(key)}, got {value!r}")
    elif kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    choices = PARAMS[key].choices
    if choices and value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(str(c) for c in choices if c)}, got {value!r}")


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
