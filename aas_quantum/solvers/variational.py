"""Pieces shared by the variational solvers (QAOA, VQE): optimisers, encodings, decoding."""

from __future__ import annotations

import numpy as np
from qiskit_algorithms.optimizers import COBYLA, L_BFGS_B, SPSA, Optimizer

from aas_quantum.encode.encodings import Encoding, penalty_qubo, tune_unbalanced, unbalanced_qubo
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.greedy import repair


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


def encode(problem: BomProblem, name: str) -> Encoding:
    if name == "onehot":
        return tune_unbalanced(problem)
    if name == "unbalanced":
        return tune_unbalanced(problem, unbalanced_qubo)
    if name == "penalty":
        return penalty_qubo(problem)
    raise ValueError(f"unknown encoding {name!r} (onehot, unbalanced, penalty)")

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
    best: tuple[float, tuple[int, ...]] | None = None
    for bits in sampled:
        x = bits.astype(float)
        if problem.is_feasible(x):
            value = problem.objective(x)
            if best is None or value < best[0]:
                best = (value, problem.choice_from_x(x))
    if best is not None:
        return best[1], "best feasible sample"
    lowest = sampled[int(np.argmin(energies))]
    repaired = repair(problem, choice_from_bits(problem, lowest))
    return (tuple(repaired), "repaired lowest-energy sample") if repaired is not None else (None, "")


def energy_distribution(energies: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Mean and quantiles of the encoded energy under the final state's distribution."""
    order = np.argsort(energies)
    mass = np.cumsum(probs[order]) / probs.sum()
    quantile = {f"q{int(q * 100):02d}": float(energies[order][min(np.searchsorted(mass, q), len(mass) - 1)])
                for q in (0.01, 0.1, 0.5, 0.9)}
    return {"mean": float(probs @ energies / probs.sum()), "min_sampled_support": float(energies.min()), **quantile}
