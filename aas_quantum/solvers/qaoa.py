"""QAOA with the constraint-preserving ansatz, simulated exactly in the one-hot subspace.

Parameters are optimised with qiskit-algorithms' optimisers (COBYLA, SPSA, L-BFGS-B), starting
from a linear ramp; with ``extra["interp"]`` the depth grows 1..p using INTERP initialisation.
The final state is sampled with the seed; decoding keeps the best feasible sample by the true
objective and repairs the best sample when none is feasible.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from qiskit_algorithms.optimizers import COBYLA, L_BFGS_B, SPSA, Optimizer

from aas_quantum.encode.encodings import Encoding, subspace_bits, tune_unbalanced
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.base import Solution, SolveOptions, SolverRecord, Status
from aas_quantum.solvers.greedy import repair
from aas_quantum.solvers.kernels import SubspaceQaoa

MAX_SUBSPACE_STATES = 2 ** 24  # 16.7M complex128 amplitudes = 268 MB: the memory guard


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


def linear_ramp(reps: int, delta: float = 0.3) -> np.ndarray:
    """gamma rising and beta falling linearly over the layers (a standard, trainable-free start)."""
    k = (np.arange(reps) + 0.5) / reps
    return np.concatenate([delta * k, delta * (1 - k)])


def interp(params: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al. 2020): parameters for depth p+1 interpolated from the optimum at depth p."""
    p = len(params) // 2

    def grow(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        return (i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i]

    return np.concatenate([grow(params[:p]), grow(params[p:])])


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


class QaoaSolver:
    name = "qaoa"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        dims = [len(p.options) for p in problem.positions]
        size = int(np.prod(dims, dtype=np.int64))
        if size > MAX_SUBSPACE_STATES:
            raise ValueError(f"the one-hot subspace has {size:,} states (more than {MAX_SUBSPACE_STATES:,}); "
                             "use --solver hybrid")
        encoding: Encoding = tune_unbalanced(problem)
        bits = subspace_bits(problem)
        diagonal = encoding.qubo.energies(bits)
        scale = float(diagonal.std()) or 1.0
        topology = options.extra.get("mixer", "ring")
        kernel = SubspaceQaoa(dims, (diagonal - diagonal.mean()) / scale, topology)
        alpha = float(options.extra.get("cvar_alpha", 1.0))
        evaluations = 0

        def energy(params: np.ndarray) -> float:
            nonlocal evaluations
            evaluations += 1
            return kernel.expectation(np.asarray(params), alpha)

        params = self._optimise(energy, options)
        probs = kernel.probabilities(params)
        objective, feasible = subspace_objective(problem, bits)
        rng = np.random.default_rng(options.seed)
        samples = rng.choice(size, size=options.shots, p=probs / probs.sum())
        seen = np.unique(samples)
        choice, status_note = self._decode(problem, seen, objective, feasible, diagonal)
        optimum = options.extra.get("optimum")
        record = SolverRecord(
            method=self.name, backend="subspace statevector (local)", encoding=encoding.name,
            qubits=problem.n_options, reps=len(params) // 2, optimizer=options.optimizer,
            evaluations=evaluations, shots=options.shots, seed=options.seed,
            wall_time_s=time.perf_counter() - start,
            p_feasible=float(probs[feasible].sum()),
            p_optimal=float(probs[feasible & (objective <= optimum + 1e-6)].sum()) if optimum is not None else None,
            best_energy=float(diagonal[seen].min()),
            details={"subspace_dimension": size, "mixer": topology, "cvar_alpha": alpha,
                     "parameters": params.tolist(), "sampled_feasible_share": float(feasible[samples].mean()),
                     "decoding": status_note, **encoding.report()},
        )
        if choice is None:
            return Solution(Status.NO_SOLUTION, None, None, record, reasons=("no feasible sample, repair failed",))
        x = problem.x_from_choice(choice)
        return Solution(Status.FEASIBLE, choice, problem.objective(x), record)

    @staticmethod
    def _optimise(energy: Callable[[np.ndarray], float], options: SolveOptions) -> np.ndarray:
        optimizer = make_optimizer(options.optimizer, options.maxiter, options.seed)
        if options.extra.get("interp", False):
            params = linear_ramp(1)
            for depth in range(1, options.reps + 1):
                params = optimizer.minimize(energy, params).x
                if depth < options.reps:
                    params = interp(params)
            return np.asarray(params)
        return np.asarray(optimizer.minimize(energy, linear_ramp(options.reps)).x)

    @staticmethod
    def _decode(problem: BomProblem, seen: np.ndarray, objective: np.ndarray, feasible: np.ndarray,
                diagonal: np.ndarray) -> tuple[tuple[int, ...] | None, str]:
        dims = [len(p.options) for p in problem.positions]
        good = seen[feasible[seen]]
        if len(good):
            best = int(good[np.argmin(objective[good])])
            return tuple(int(c) for c in np.unravel_index(best, dims)), "best feasible sample"
        lowest = int(seen[np.argmin(diagonal[seen])])
        repaired = repair(problem, [int(c) for c in np.unravel_index(lowest, dims)])
        return (tuple(repaired), "repaired lowest-energy sample") if repaired is not None else (None, "")
