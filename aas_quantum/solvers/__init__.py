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
from typing import TYPE_CHECKING, Any

from aas_quantum.config import base_type, parse_bool
from aas_quantum.errors import ConfigError
from aas_quantum.solvers.base import USER_FIELDS as _USER_FIELDS
from aas_quantum.solvers.base import (
    Observer,
    Solution,
    SolveOptions,
    Solver,
    SolverProgress,
    SolverRecord,
    Status,
    check_value,
)

if TYPE_CHECKING:
    from aas_quantum.solvers.local_search import polished, single_swaps

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
               "QAOA when the encoded problem fits the qubit budget; above it exact, and the hybrid from "
               "exact's incumbent with the time left only when exact does not prove the optimum"),
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
    return _instance(spec(name).target)


def _instance(target: str) -> Solver:
    """A new solver of ``target`` ("module:Class"), importing its module only now (see the module docstring)."""
    module, _, cls = target.partition(":")
    solver: Solver = getattr(importlib.import_module(module), cls)()
    return solver


def parameters(name: str) -> tuple[str, ...]:
    """The ``SolveOptions`` fields solver ``name`` reads."""
    return RUN_PARAMETERS + spec(name).parameters


def check_parameters(name: str | None, given: Mapping[str, Any]) -> None:
    """Refuse a parameter that does not exist, a value out of its range or of the wrong type, and one that
    solver ``name`` does not read (a misspelling, or one of another solver). Without a method (the request
    submodel's preference decides it later) every check but the last runs, so a bad value is refused before
    anything is read or queued."""
    reads = parameters(name) if name is not None else tuple(_USER_FIELDS)
    for key in given:
        if key not in _USER_FIELDS:
            known = f"{name} reads" if name is not None else "one of"
            raise ConfigError(f"unknown solver parameter {key!r}; {known}: {', '.join(reads)}")
        check_value(key, given[key])
        if key not in reads:
            users = [s for s in available() if key in parameters(s)]
            raise ConfigError(f"parameter {key!r} does not apply to solver {name} (it reads: {', '.join(reads)}; "
                              f"{key} is read by {', '.join(users)})")


def parse_parameter(key: str, text: Any, where: str | None = None) -> Any:
    """A parameter given as text (``--param mixer=complete``, an operation input) in its field's type, or
    given typed (a TOML scenario), checked as ``check_value`` does: ``nan`` parses as a float, and is
    refused here, not by a solver that would run until killed."""
    if key not in _USER_FIELDS:
        raise ConfigError(f"unknown solver parameter {key!r}; one of {', '.join(_USER_FIELDS)}")
    annotation = typing.get_type_hints(SolveOptions)[key]
    kind = base_type(annotation)
    value = text
    if not isinstance(text, str):  # typed already: an int where a float is read is that float
        if kind is float and isinstance(text, int) and not isinstance(text, bool):
            value = float(text)
    elif isinstance(annotation, types.UnionType) and text.strip().lower() in ("", "none"):
        value = None  # an optional parameter switched off
    elif kind is bool:
        value = parse_bool(text, where or key)
    elif kind is not str:
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{where or f'solver parameter {key}'} must be a {kind.__name__}, got {text!r}"
                              ) from None
    check_value(key, value, where)
    return value


def make_options(name: str, given: Mapping[str, Any], base: SolveOptions | None = None) -> SolveOptions:
    """``base`` (the defaults) with ``given`` applied, after checking that ``name`` reads each of them."""
    check_parameters(name, given)
    return (base or SolveOptions()).with_(**given)

__all__ = [
    "DEFAULT_METHOD",
    "Observer",
    "Solution",
    "SolveOptions",
    "Solver",
    "SolverProgress",
    "SolverRecord",
    "Status",
    "available",
    "check_parameters",
    "check_value",
    "get_solver",
    "make_options",
    "parameters",
    "parse_parameter",
    "polished",
    "single_swaps",
    "spec",
]


def __getattr__(name: str) -> Any:
    """The local-search moves (numpy) load on first use, as the solvers do: ``--help`` imports this package."""
    if name in ("polished", "single_swaps"):
        return getattr(importlib.import_module("aas_quantum.solvers.local_search"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
