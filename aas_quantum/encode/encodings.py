"""The three quantum encodings of a BomProblem, built from the same constraints (the exact model as a
QuadraticProgram is in ``qiskit_qp``, the one module that imports Qiskit Optimization):

- ``penalty_qubo``: one-hot and every limit as squared penalties, inequalities with binary slack
  variables; each constraint gets its own penalty, calibrated so that no violation can pay
  (ground state = constrained optimum).
- ``unbalanced_qubo``: inequalities as -l1*h + l2*h^2 with h = bound - lhs (Montanez-Barrera et
  al. 2022): no slack qubits, a heuristic whose multipliers are tuned per instance.
- ``onehot``: the unbalanced terms only; one option per position is kept by the ansatz (W states
  and XY mixers) instead of a penalty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from aas_quantum.encode.qubo import Qubo, grid_sum
from aas_quantum.errors import ConfigError
from aas_quantum.milp import one_hot_name
from aas_quantum.problem import BomProblem

MAX_SLACK_BITS = 16
# Montanez-Barrera et al. (2022) multipliers for normalised objective and constraint.
UNBALANCED_L1, UNBALANCED_L2 = 0.96, 0.0371


def objective_qubo(problem: BomProblem) -> Qubo:
    """Cost vector plus w * sum_s (sum_{o in s} x_o)^2."""
    n = problem.n_options
    q = Qubo.affine(problem.cost_vector, 0.0)
    if problem.concentration_weight:
        for idx in problem.supplier_groups.values():
            a = np.zeros(n)
            a[list(idx)] = 1.0
            q = q + Qubo.squared_affine(a, 0.0).scaled(problem.concentration_weight)
    return q


def objective_spread(problem: BomProblem) -> float:
    """Upper bound on f(any one-hot x) - f(any binary x): what a violation could gain at most."""
    upper = sum(float(problem.cost_vector[sl].max()) for sl in problem.position_slices)
    upper += problem.concentration_weight * sum(
        min(len(idx), len(problem.positions)) ** 2 for idx in problem.supplier_groups.values())
    lower = float(np.minimum(problem.cost_vector, 0.0).sum())
    return max(upper - lower, 1e-9)


def _le_rows(problem: BomProblem) -> list[tuple[str, np.ndarray, float]]:
    a, b = problem.le_form
    return [(c.name, a[r], float(b[r])) for r, c in enumerate(problem.constraints)]


@dataclass(frozen=True)
class Encoding:
    """A QUBO over the option variables (first ``n_options``) plus any slack variables."""

    name: str
    qubo: Qubo
    n_options: int
    penalties: dict[str, float] = field(default_factory=dict)
    multipliers: tuple[float, float] | None = None  # unbalanced (l1, l2), where used

    @property
    def n_slack(self) -> int:
        return self.qubo.n - self.n_options

    def report(self) -> dict[str, object]:
        return {"encoding": self.name, "option_qubits": self.n_options, "slack_qubits": self.n_slack,
                "multipliers": self.multipliers, **self.qubo.stats()}


def _resolution(values: np.ndarray) -> float:
    """Largest step d with every value an integer multiple of d (to 1e-9), down to 1e-6."""
    nonzero = np.abs(values[np.abs(values) > 1e-12])
    for decimals in range(0, 7):
        step = 10.0 ** -decimals
        if np.allclose(nonzero / step, np.round(nonzero / step), atol=1e-9):
            scaled = np.round(nonzero / step).astype(np.int64)
            return step * math.gcd(*scaled.tolist()) if len(scaled) else step
    return 1e-6


def penalty_qubo(problem: BomProblem) -> Encoding:
    """Penalty QUBO with slack bits; each penalty is the objective spread over the constraint's
    smallest possible squared violation, so any violation costs more than it can gain."""
    n = problem.n_options
    spread = objective_spread(problem) + 1.0
    rows = []
    for name, a, b in _le_rows(problem):
        step = _resolution(np.append(a, b))
        a_int, b_int = np.round(a / step), math.floor(b / step + 1e-9)
        # lhs can only reach the min over one-hot selections; slack covers 0 .. b - that minimum
        per_position_min = sum(float(a_int[sl].min()) for sl in problem.position_slices)
        span = max(int(b_int - per_position_min), 0)
        bits = span.bit_length()
        if bits > MAX_SLACK_BITS:
            raise ConfigError(f"constraint {name} needs {bits} slack qubits at resolution {step:g}; "
                             "use the unbalanced or onehot encoding")
        rows.append((name, a_int, b_int, step, span, bits))
    total = n + sum(r[5] for r in rows)
    qubo = Qubo.zeros(total)
    penalties: dict[str, float] = {}
    for p, sl in zip(problem.positions, problem.position_slices, strict=True):
        a = np.zeros(total)
        a[sl] = 1.0
        qubo = qubo + Qubo.squared_affine(a, -1.0).scaled(spread)
        penalties[one_hot_name(p.position_id)] = spread
    objective = objective_qubo(problem)
    qubo = qubo + Qubo(objective.constant, np.pad(objective.linear, (0, total - n)),
                       np.pad(objective.quadratic, ((0, total - n), (0, total - n))))
    column = n
    for name, a_int, b_int, _step, span, bits in rows:
        a = np.zeros(total)
        a[:n] = a_int
        # slack bits 1, 2, 4, ... with the last one capped so the sum covers exactly 0..span
        remaining = span
        for k in range(bits):
            weight = min(2 ** k, remaining) if k == bits - 1 else 2 ** k
            a[column] = weight
            remaining -= weight
            column += 1
        qubo = qubo + Qubo.squared_affine(a, -float(b_int)).scaled(spread)
        penalties[name] = spread
    return Encoding("penalty", qubo, n, penalties)


def _unbalanced_terms(problem: BomProblem, multipliers: tuple[float, float], total: int
                      ) -> tuple[Qubo, dict[str, float]]:
    """sum_c R * (-l1 * h_c + l2 * h_c^2), h_c = (b - a.x) / s_c normalised by the constraint's spread s_c
    and R the objective spread, so the multipliers are dimensionless."""
    l1, l2 = multipliers
    spread = objective_spread(problem)
    qubo = Qubo.zeros(total)
    penalties: dict[str, float] = {}
    for name, a, b in _le_rows(problem):
        scale = sum(float(a[sl].max() - a[sl].min()) for sl in problem.position_slices) or max(abs(b), 1.0)
        coefficients = np.pad(-a / scale, (0, total - len(a)))
        qubo = (qubo + Qubo.affine(coefficients, b / scale).scaled(-l1 * spread)
                + Qubo.squared_affine(coefficients, b / scale).scaled(l2 * spread))
        penalties[name] = spread * l2
    return qubo, penalties


def unbalanced_qubo(problem: BomProblem, multipliers: tuple[float, float] = (UNBALANCED_L1, UNBALANCED_L2)
                    ) -> Encoding:
    """Unbalanced penalisation for the limits, a squared penalty for one-hot; no slack qubits."""
    n = problem.n_options
    spread = objective_spread(problem) + 1.0
    qubo = objective_qubo(problem)
    for sl in problem.position_slices:
        a = np.zeros(n)
        a[sl] = 1.0
        qubo = qubo + Qubo.squared_affine(a, -1.0).scaled(spread)
    terms, penalties = _unbalanced_terms(problem, multipliers, n)
    return Encoding("unbalanced", qubo + terms, n, penalties, multipliers)


def onehot_encoding(problem: BomProblem, multipliers: tuple[float, float] = (UNBALANCED_L1, UNBALANCED_L2)
                    ) -> Encoding:
    """Objective plus unbalanced limit terms; one-hot is kept by the XY-mixer ansatz, not penalised."""
    terms, penalties = _unbalanced_terms(problem, multipliers, problem.n_options)
    return Encoding("onehot", objective_qubo(problem) + terms, problem.n_options, penalties, multipliers)


# Candidate (l1, l2) pairs, weakest first; the paper's pair is among them.
UNBALANCED_GRID = tuple((l1, l2) for l2 in (0.0371, 0.3, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
                        for l1 in (0.96, 0.1, 0.5, 2.0, 5.0))


Builder = Callable[[BomProblem, tuple[float, float]], "Encoding"]


def tune_unbalanced(problem: BomProblem, build: Builder = onehot_encoding, max_states: int = 2 ** 18) -> Encoding:
    """Multipliers chosen on the enumerated one-hot subspace: the pair that ranks a feasible optimum
    lowest (ideally as the ground state) and, among those, whose lowest-energy states (bottom 5 %)
    are most often feasible, since that low end is where QAOA puts its weight. Falls back to the
    paper's pair when the subspace is too large to enumerate (decoding still checks every sample)."""
    dims = [len(p.options) for p in problem.positions]
    if math.prod(dims) > max_states or not problem.constraints:
        return build(problem, (UNBALANCED_L1, UNBALANCED_L2))
    objective, feasible = subspace_table(problem)
    if not feasible.any():
        return build(problem, (UNBALANCED_L1, UNBALANCED_L2))
    optimum = objective[feasible].min()
    optimal = np.flatnonzero(feasible & (objective <= optimum + 1e-9))
    low = max(1, len(objective) // 20)
    best: tuple[tuple[int, float], Encoding] | None = None
    for pair in UNBALANCED_GRID:
        encoding = build(problem, pair)
        energies = encoding.qubo.onehot_energies(problem.position_slices)
        # rank of the best optimal state (0 = ground state), then feasible share of the low end
        rank = int((energies < energies[optimal].min() - 1e-9).sum())
        score = (rank, -float(feasible[np.argpartition(energies, low - 1)[:low]].mean()))
        if best is None or score < best[0]:
            best = (score, encoding)
    assert best is not None
    return best[1]


def subspace_choices(problem: BomProblem) -> np.ndarray:
    """Every one-hot selection as (D, positions) option numbers, last position fastest."""
    dims = [len(p.options) for p in problem.positions]
    return np.indices(dims).reshape(len(dims), -1).T


def subspace_bits(problem: BomProblem) -> np.ndarray:
    """The one-hot selections as (D, n_options) 0/1 rows, in ``subspace_choices`` order."""
    return choice_bits(problem, subspace_choices(problem))


def choice_bits(problem: BomProblem, choices: np.ndarray) -> np.ndarray:
    """(rows, positions) option numbers as (rows, n_options) one-hot 0/1 rows."""
    bits = np.zeros((len(choices), problem.n_options), dtype=np.int8)
    rows = np.arange(len(choices))
    for p, sl in enumerate(problem.position_slices):
        bits[rows, sl.start + choices[:, p]] = 1
    return bits


def subspace_table(problem: BomProblem) -> tuple[np.ndarray, np.ndarray]:
    """True objective and feasibility of every one-hot selection, in ``subspace_choices`` order,
    without enumerating the selections (what ``subspace_objective(problem, subspace_bits(problem))``
    gives, in O(D) memory per term instead of O(D n_options))."""
    slices = problem.position_slices
    objective = grid_sum([problem.cost_vector[sl] for sl in slices])
    if problem.concentration_weight:
        for s in range(len(problem.supplier_groups)):
            served = grid_sum([(problem.option_supplier[sl] == s).astype(float) for sl in slices])
            objective += problem.concentration_weight * served ** 2
    a, b = problem.le_form
    feasible = np.ones(len(objective), dtype=bool)
    for row, bound in zip(a, b, strict=True):
        feasible &= grid_sum([row[sl] for sl in slices]) <= bound + 1e-9
    return objective, feasible


def subspace_objective(problem: BomProblem, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True objective and feasibility of every one-hot selection (rows of ``bits``)."""
    x = bits.astype(float)
    objective = x @ problem.cost_vector
    if problem.concentration_weight:
        for idx in problem.supplier_groups.values():
            objective += problem.concentration_weight * x[:, list(idx)].sum(axis=1) ** 2
    a, b = problem.le_form
    feasible = np.all(x @ a.T <= b + 1e-9, axis=1) if len(b) else np.ones(len(x), dtype=bool)
    return objective, feasible
