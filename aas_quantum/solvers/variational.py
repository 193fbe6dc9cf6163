"""Pieces shared by the variational solvers (QAOA, VQE): optimisers, encodings, the table of
selections the final state is judged against, and decoding samples into a Solution."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from qiskit_algorithms.optimizers import COBYLA, L_BFGS_B, SPSA, Optimizer

from aas_quantum.encode.encodings import (
    Encoding,
    choice_bits,
    onehot_encoding,
    penalty_qubo,
    subspace_objective,
    subspace_table,
    tune_unbalanced,
    unbalanced_qubo,
)
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, SolverRecord, Status
from aas_quantum.solvers.greedy import repair
from aas_quantum.solvers.kernels import check_memory


def make_optimizer(name: str, maxiter: int, seed: int) -> Optimizer:
    name = name.upper()
    if name == "COBYLA":
        return COBYLA(maxiter=maxiter)
    if name == "SPSA":
        import qiskit_algorithms

        qiskit_algorithms.utils.algorithm_globals.random_seed = seed
        return SPSA(maxiter=maxiter)
    if name in ("L-BFGS-B", "L_BFGS_B", "LBFGSB"):
        return L_BFGS_B(maxiter=maxiter)
    raise ValueError(f"unknown optimizer {name!r} (COBYLA, SPSA, L-BFGS-B)")


def encode(problem: BomProblem, name: str, tuned: bool = True) -> Encoding:
    """``tuned``: the unbalanced multipliers are chosen on the enumerated subspace, which knows where the
    optimum is; untuned, the published pair is used (what a problem too large to enumerate gets)."""
    if name == "onehot":
        return tune_unbalanced(problem) if tuned else onehot_encoding(problem)
    if name == "unbalanced":
        return tune_unbalanced(problem, unbalanced_qubo) if tuned else unbalanced_qubo(problem)
    if name == "penalty":
        return penalty_qubo(problem)
    raise ValueError(f"unknown encoding {name!r} (onehot, unbalanced, penalty)")


def encoded_qubits(problem: BomProblem, name: str) -> int:
    """Qubits ``name`` needs for ``problem``, known before any state is allocated (slack qubits included)."""
    if name in ("onehot", "unbalanced"):
        return problem.n_options
    if name == "penalty":
        try:
            return penalty_qubo(problem).qubo.n
        except ValueError:  # a constraint needs more slack qubits than the encoding allows
            return 10**6
    raise ValueError(f"unknown encoding {name!r} (onehot, unbalanced, penalty)")


def full_space_compatibility(problem: BomProblem, encoding: str) -> str | None:
    """Why the full 2^n statevector of ``encoding`` cannot be simulated here (None when it can)."""
    n = encoded_qubits(problem, encoding)
    if n > 48:
        return f"the {encoding} encoding needs {n} qubits: far beyond a statevector simulation; use --solver hybrid"
    try:
        check_memory(n, np.dtype(np.complex128))
    except MemoryError as exc:
        return str(exc)
    return None


def full_bits(index: int, n: int) -> np.ndarray:
    return np.array([(index >> i) & 1 for i in range(n)], dtype=np.int8)


def choice_from_bits(problem: BomProblem, bits: np.ndarray) -> list[int]:
    """Nearest selection: the set option where exactly one is set, else the cheapest (set) option."""
    choice = []
    for sl in problem.position_slices:
        on = np.flatnonzero(bits[sl])
        costs = problem.cost_vector[sl]
        choice.append(int(on[0]) if len(on) == 1 else int((on[np.argmin(costs[on])]) if len(on) else np.argmin(costs)))
    return choice


def decode(problem: BomProblem, sampled: list[np.ndarray], energies: np.ndarray
            ) -> tuple[tuple[int, ...] | None, str]:
    """Best feasible sampled selection; else the lowest-energy sample made one-hot and repaired."""
    bits = np.asarray(sampled, dtype=np.int8).reshape(len(sampled), -1)[:, :problem.n_options]
    counts = np.stack([bits[:, sl].sum(axis=1) for sl in problem.position_slices], axis=1)
    one_hot = np.flatnonzero(np.all(counts == 1, axis=1))
    if len(one_hot):
        objective, feasible = subspace_objective(problem, bits[one_hot])
        if feasible.any():
            best = one_hot[np.flatnonzero(feasible)[np.argmin(objective[feasible])]]
            choice = problem.choice_from_x(bits[best].astype(float))
            assert choice is not None  # a one-hot row
            return choice, "best feasible sample"
    lowest = sampled[int(np.argmin(energies))]
    repaired = repair(problem, choice_from_bits(problem, lowest))
    return (tuple(repaired), "repaired lowest-energy sample") if repaired is not None else (None, "")


def energy_distribution(energies: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Mean and quantiles of the encoded energy under the final state's distribution."""
    quantiles = (0.01, 0.1, 0.5, 0.9)
    values = weighted_quantiles(energies, probs / probs.sum(), quantiles)
    return {"mean": float(probs @ energies / probs.sum()), "min_sampled_support": float(energies.min()),
            **{f"q{int(q * 100):02d}": value for q, value in zip(quantiles, values, strict=True)}}


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles: tuple[float, ...],
                       bins: int = 4096) -> list[float]:
    """For each q, the smallest value whose cumulative weight (values in ascending order) reaches q.
    Without sorting all values (seconds at 16.7M states): their weights are binned, and only the
    bin where q falls is sorted."""
    low, high = float(values.min()), float(values.max())
    if high == low:
        return [low] * len(quantiles)
    index = np.minimum(((values - low) * (bins / (high - low))).astype(np.int64), bins - 1)
    below = np.concatenate(([0.0], np.cumsum(np.bincount(index, weights, minlength=bins))))
    result = []
    for q in quantiles:
        # q is capped at the mass summed (rounding can leave it a hair under 1): the answer is then the
        # largest value with weight, never a weightless one above it
        b = int(np.searchsorted(below[1:], min(q, below[-1])))
        inside = np.flatnonzero(index == b)
        order = inside[np.argsort(values[inside])]
        mass = below[b] + np.cumsum(weights[order])
        result.append(float(values[order][int(np.searchsorted(mass, min(q, mass[-1])))]))
    return result


class EnergyTrace:
    """Every energy the optimiser evaluated, told to the run's observer as it goes (QAOA and VQE)."""

    def __init__(self, options: SolveOptions) -> None:
        self.options = options
        self.energies: list[float] = []
        self.best = math.inf

    def __len__(self) -> int:
        return len(self.energies)

    def record(self, energy: float) -> float:
        self.energies.append(energy)
        self.best = min(self.best, energy)
        self.options.observe(len(self.energies), "evaluations", self.best, "energy")
        return energy

    def thinned(self, points: int = 200) -> dict[str, list[float]]:
        """The energies thinned to at most ``points`` (always with the last), for convergence plots;
        short enough to travel in a run's record."""
        trace = self.energies
        if not trace:
            return {"evaluation": [], "energy": []}
        step = max(1, -(-len(trace) // points))
        kept = sorted({*range(0, len(trace), step), len(trace) - 1})
        return {"evaluation": [i + 1 for i in kept], "energy": [float(f"{trace[i]:.6g}") for i in kept]}


@dataclass(frozen=True)
class Selections:
    """Every one-hot selection (``subspace_choices`` order) with its true objective and feasibility;
    their bits are formed only for the rows asked for (all of them would be D x n_options bytes)."""

    problem: BomProblem
    objective: np.ndarray
    feasible: np.ndarray

    @classmethod
    def of(cls, problem: BomProblem) -> Selections:
        return cls(problem, *subspace_table(problem))

    def bits(self, rows: np.ndarray) -> np.ndarray:
        """Option bits of the selections numbered ``rows``, as (len(rows), n_options) 0/1 rows."""
        choices = np.unravel_index(np.asarray(rows), tuple(self.problem.position_sizes))
        return choice_bits(self.problem, np.stack(choices, axis=-1))

    def marginal(self, probs: np.ndarray) -> np.ndarray:
        """Probability of each selection under a full-space distribution (option qubits low, slack summed out)."""
        n = self.problem.n_options
        bits = self.bits(np.arange(len(self.objective)))
        return probs.reshape(-1, 2 ** n).sum(axis=0)[bits.astype(np.int64) @ (1 << np.arange(n))]

    def p_feasible(self, selection_probs: np.ndarray) -> float:
        return float(selection_probs[self.feasible].sum())

    def p_optimal(self, selection_probs: np.ndarray, optimum: float | None) -> float | None:
        if optimum is None:
            return None
        return float(selection_probs[self.feasible & (self.objective <= optimum + 1e-6)].sum())


def device_samples(problem: BomProblem, counts: dict[int, int]) -> tuple[list[np.ndarray], float]:
    """Option bits of each measured basis state, and the share of shots that were feasible."""
    sampled = [full_bits(index, problem.n_options) for index in counts]
    feasible_shots = sum(c for bits, c in zip(sampled, counts.values(), strict=True)
                         if problem.is_feasible(bits.astype(float)))
    return sampled, feasible_shots / sum(counts.values())


def conclude(problem: BomProblem, record: SolverRecord, sampled: list[np.ndarray], energies: np.ndarray
             ) -> Solution:
    """Decode the samples and return the Solution, the record completed with best energy and decoding."""
    choice, decoding = decode(problem, sampled, energies)
    record = replace(record, best_energy=float(energies.min()), details={**record.details, "decoding": decoding})
    if choice is None:
        return Solution(Status.NO_SOLUTION, None, None, record, reasons=("no feasible sample, repair failed",))
    return Solution(Status.FEASIBLE, choice, problem.objective(problem.x_from_choice(choice)), record)
