"""Solver registry: ``get_solver(name).solve(problem, options) -> Solution``.

Each solver is registered with the ``SolveOptions`` fields it reads (dimod's ``parameters``): a
parameter given for a solver that does not read it, or one that does not exist, is an error
rather than silently ignored. Solvers are imported on first use, so commands that solve nothing
(``--help``, ``validate``, ``export``) never load the quantum stack (qiskit, numba).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Mapping
from typing import Any

from aas_quantum.config import base_type, parse_bool
from aas_quantum.errors import ConfigError
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status

DEFAULT_METHOD = "auto"
# Every run reads these (the exact and greedy baselines too), whatever the method.
RUN_PARAMETERS = ("time_limit_s", "seed")
_VARIATIONAL = ("reps", "shots", "optimizer", "maxiter", "backend", "encoding", "cvar_alpha")
_QAOA = (*_VARIATIONAL, "warm_start", "warm_epsilon", "mixer", "interp")
_HYBRID = ("sub_solver", "patience")  # its windows always use the untuned multipliers (tuning sees the answer)


@dataclasses.dataclass(frozen=True)
class SolverSpec:
    name: str
    target: str  # "module:Class", imported when the solver is first asked for
    parameters: tuple[str, ...]  # the SolveOptions fields it reads beyond RUN_PARAMETERS
    summary: str


SPECS: dict[str, SolverSpec] = {spec.name: spec for spec in (
    SolverSpec("auto", "aas_quantum.solvers.auto:AutoSolver",
               ("qubit_budget", *_QAOA, "tune_penalties", *_HYBRID),
               "QAOA when the encoded problem fits the qubit budget, hybrid above it"),
    SolverSpec("qaoa", "aas_quantum.solvers.qaoa:QaoaSolver", (*_QAOA, "tune_penalties"),
               "QAOA with the constraint-preserving XY-mixer ansatz"),
    SolverSpec("hybrid", "aas_quantum.solvers.hybrid:HybridSolver", ("qubit_budget", *_QAOA, *_HYBRID),
               "large-neighbourhood search, each window of positions re-optimised by QAOA within the qubit budget"),
    SolverSpec("vqe", "aas_quantum.solvers.vqe:VqeSolver", (*_VARIATIONAL, "ansatz"),
               "VQE with a hardware-efficient ansatz on a penalty encoding"),
    SolverSpec("exact", "aas_quantum.solvers.exact:ExactSolver", (), "MILP (HiGHS): the proven optimum"),
    SolverSpec("greedy", "aas_quantum.solvers.greedy:GreedySolver", (), "best option per position, then repair"),
    SolverSpec("greedy+ls", "aas_quantum.solvers.local_search:GreedyLocalSearchSolver", (),
               "greedy, then best-improvement single swaps: the strong classical reference"),
    SolverSpec("anneal", "aas_quantum.solvers.anneal:AnnealSolver", ("sweeps",), "simulated annealing"),
)}


def available() -> list[str]:
    return sorted(SPECS)


def spec(name: str) -> SolverSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown solver {name!r}; choose one of {', '.join(available())}") from None


def get_solver(name: str) -> Solver:
    module, _, cls = spec(name).target.partition(":")
    solver: Solver = getattr(importlib.import_module(module), cls)()
    return solver


def parameters(name: str) -> tuple[str, ...]:
    """The ``SolveOptions`` fields solver ``name`` reads."""
    return RUN_PARAMETERS + spec(name).parameters


_RUN_FIELDS = ("known_optimum", "observer")  # set by the run, never by a user
_USER_FIELDS = {f.name: f for f in dataclasses.fields(SolveOptions) if f.name not in _RUN_FIELDS}


# parameter -> (smallest, largest) value it may take (None: unbounded on that side). reps and shots are
# capped: the time limit is checked between evaluations, and one evaluation of 2**31 layers (VQE held
# 19 GB at 90 s) or a draw of 2**31 shots (16 GB) never reaches the check
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "time_limit_s": (0.0, None), "seed": (0, 2**32 - 1), "reps": (1, 100), "shots": (1, 10_000_000),
    "qubit_budget": (1, None), "maxiter": (1, None), "warm_epsilon": (0.0, 0.5), "cvar_alpha": (0.0, 1.0),
    "sweeps": (1, None), "patience": (0, None)}
_CHOICES = {"optimizer": ("COBYLA", "SPSA", "L-BFGS-B"), "encoding": ("onehot", "unbalanced", "penalty"),
            "warm_start": (None, "greedy", "relaxed"), "mixer": ("ring", "complete"),
            "ansatz": ("RealAmplitudes", "EfficientSU2"), "sub_solver": ("qaoa", "exact", "random")}


def _flag(key: str) -> str:
    return f"{key} (--{'time-limit' if key == 'time_limit_s' else key.replace('_', '-')})"


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def check_value(key: str, value: Any, where: str | None = None) -> None:
    """Refuse a value its solver would choke on (``reps 0``, a negative seed), naming the flag (or ``where``)."""
    name = where or _flag(key)
    exclusive = key in ("time_limit_s", "cvar_alpha")  # 0 s or an empty CVaR tail make no sense
    if key in _RANGES and value is not None:
        low, high = _RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (low is not None and (value < low or (value == low and exclusive))) or \
                (high is not None and value > high):
            bounds = f"{'>' if exclusive else '>='} {_num(low or 0)}" + (f" and <= {_num(high)}" if high else "")
            raise ConfigError(f"{name} must be a number {bounds}, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{name} must be one of {', '.join(str(c) for c in _CHOICES[key] if c)}, got {value!r}")


def check_parameters(name: str, given: Mapping[str, Any]) -> None:
    """Refuse a parameter ``name`` does not read (a misspelling, or one of another solver) or a value out of
    its range."""
    reads = parameters(name)
    for key in given:
        check_value(key, given[key])
        if key not in _USER_FIELDS:
            raise ConfigError(f"unknown solver parameter {key!r}; {name} reads: {', '.join(reads)}")
        if key not in reads:
            users = [s for s in available() if key in parameters(s)]
            raise ConfigError(f"parameter {key!r} does not apply to solver {name} (it reads: {', '.join(reads)}; "
                              f"{key} is read by {', '.join(users)})")


def parse_parameter(key: str, text: str) -> Any:
    """A parameter given as text (``--param mixer=complete``, an operation input) in its field's type."""
    if key not in _USER_FIELDS:
        raise ConfigError(f"unknown solver parameter {key!r}; one of {', '.join(_USER_FIELDS)}")
    annotation = typing.get_type_hints(SolveOptions)[key]
    if isinstance(annotation, types.UnionType) and text.strip().lower() in ("", "none"):
        return None  # an optional parameter switched off
    kind = base_type(annotation)
    if kind is bool:
        return parse_bool(text, key)
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"solver parameter {key} must be a {kind.__name__}, got {text!r}") from None


def make_options(name: str, given: Mapping[str, Any], base: SolveOptions | None = None) -> SolveOptions:
    """``base`` (the defaults) with ``given`` applied, after checking that ``name`` reads each of them."""
    check_parameters(name, given)
    return (base or SolveOptions()).with_(**given)


__all__ = ["DEFAULT_METHOD", "Solution", "SolveOptions", "Solver", "SolverRecord", "Status", "available",
           "check_parameters", "check_value", "get_solver", "make_options", "parameters", "parse_parameter", "spec"]
