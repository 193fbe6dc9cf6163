"""Pieces shared by the variational solvers (QAOA, VQE): optimisers, the table of selections the final
state is judged against, and choosing among the samples (read by their encoding) the Solution."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from qiskit_algorithms.optimizers import COBYLA, L_BFGS_B, SPSA, Optimizer

from aas_quantum.encode import EncodingScheme, basis_bits, choice_bits, subspace_objective, subspace_table
from aas_quantum.errors import ConfigError
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
    raise ConfigError(f"unknown optimizer {name!r} (COBYLA, SPSA, L-BFGS-B)")


def full_space_compatibility(problem: BomProblem, scheme: EncodingScheme) -> str | None:
    """Why the full 2^n statevector of the encoding cannot be simulated here (None when it can)."""
    n = scheme.qubits(problem)
    if n > 48:
        return f"the {scheme.name} encoding needs {n} qubits: far beyond a statevector simulation; use --solver hybrid"
    try:
        check_memory(n, np.dtype(np.complex128))
    except MemoryError as exc:
        return str(exc)
    return None


def decode(problem: BomProblem, scheme: EncodingScheme, sampled: list[np.ndarray], energies: np.ndarray
           ) -> tuple[tuple[int, ...] | None, str]:
    """Best feasible sampled selection; else the lowest-energy sample, read as its nearest selection, repaired."""
    choices, exact = scheme.interpret(problem, np.asarray(sampled))
    one_hot = np.flatnonzero(exact)
    if len(one_hot):
        objective, feasible = subspace_objective(problem, choice_bits(problem, choices[one_hot]))
        if feasible.any():
            best = one_hot[np.flatnonzero(feasible)[np.argmin(objective[feasible])]]
            return tuple(int(c) for c in choices[best]), "best feasible sample"
    repaired = repair(problem, [int(c) for c in choices[int(np.argmin(energies))]])
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
    sampled = list(basis_bits(counts, problem.n_options))
    feasible_shots = sum(c for bits, c in zip(sampled, counts.values(), strict=True)
                         if problem.is_feasible(bits.astype(float)))
    return sampled, feasible_shots / sum(counts.values())


def conclude(problem: BomProblem, scheme: EncodingScheme, record: SolverRecord, sampled: list[np.ndarray],
             energies: np.ndarray) -> Solution:
    """Decode the samples and return the Solution, the record completed with best energy and decoding."""
    choice, decoding = decode(problem, scheme, sampled, energies)
    record = replace(record, best_energy=float(energies.min()), details={**record.details, "decoding": decoding})
    if choice is None:
        return Solution(Status.NO_SOLUTION, None, None, record, reasons=("no feasible sample, repair failed",))
    return Solution(Status.FEASIBLE, choice, problem.objective(problem.x_from_choice(choice)), record)
