"""QAOA with the constraint-preserving ansatz, simulated exactly in the one-hot subspace.

Warm start (``warm_start`` = "greedy" or "relaxed"): each position starts in a one-hot
superposition weighted towards the greedy choice or the LP relaxation's values instead of a W
state (Egger et al. 2021, kept inside the one-hot subspace), regularised by ``warm_epsilon``.

Parameters are optimised with qiskit-algorithms' optimisers (COBYLA, SPSA, L-BFGS-B), starting
from a linear ramp; with ``interp`` the depth grows 1..p using INTERP initialisation.
The final state is sampled with the seed; decoding keeps the best feasible sample by the true
objective and repairs the best sample when none is feasible.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from qiskit import QuantumCircuit

from aas_quantum.encode import Encoding, basis_bits, bind, encoding_scheme, onehot_qaoa_circuit, x_mixer_qaoa_circuit
from aas_quantum.errors import ConfigError
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.backends import sample
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord
from aas_quantum.solvers.exact import lp_relaxation
from aas_quantum.solvers.greedy import GreedySolver
from aas_quantum.solvers.kernels import SINGLE_PRECISION_STATES, FullSpaceQaoa, SubspaceQaoa, check_memory
from aas_quantum.solvers.variational import (
    EnergyTrace,
    Selections,
    conclude,
    device_samples,
    energy_distribution,
    full_space_compatibility,
    make_optimizer,
)

MAX_SUBSPACE_STATES = 2 ** 24  # 16.7M complex128 amplitudes = 268 MB: the memory guard


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


def warm_start(problem: BomProblem, kind: str | None, epsilon: float) -> list[np.ndarray] | None:
    """Per-position amplitudes sqrt((1 - eps) * w + eps / k) from a greedy or LP-relaxed selection w."""
    if kind is None:
        return None
    if kind == "greedy":
        greedy = GreedySolver().solve(problem, SolveOptions())
        weights = problem.x_from_choice(greedy.choice) if greedy.choice is not None else None
    elif kind == "relaxed":
        relaxation = lp_relaxation(problem)
        weights = None if relaxation is None else relaxation.values
    else:
        raise ConfigError(f"unknown warm start {kind!r} (greedy or relaxed)")
    if weights is None:
        return None
    start = []
    for sl in problem.position_slices:
        k = sl.stop - sl.start
        mixed = (1.0 - epsilon) * np.clip(weights[sl], 0.0, 1.0) + epsilon / k
        start.append(np.sqrt(mixed / mixed.sum()))
    return start


class _Space:
    """Where the QAOA state lives and how its basis states map to selections.

    ``one_hot``: the constraint-preserving ansatz on the one-hot subspace (basis = selections).
    Otherwise the X-mixer QAOA on all 2^n states of the encoding's qubits (option qubits low,
    slack qubits high), whose basis states may break one-hot.
    """

    def __init__(self, problem: BomProblem, encoding: Encoding, topology: str, dtype: type,
                 start: list[np.ndarray] | None = None) -> None:
        self.dims = [len(p.options) for p in problem.positions]
        self.n_options = problem.n_options
        self.selections = Selections.of(problem)
        self.one_hot = encoding_scheme(encoding.name).one_hot_by_ansatz
        self.encoding, self.topology, self.start = encoding, topology, start
        if not self.one_hot:  # the full diagonal alone is 2^n floats: refuse before allocating it
            check_memory(encoding.qubo.n, np.dtype(dtype))
        self.energies = encoding.qubo.onehot_energies(problem.position_slices) if self.one_hot \
            else encoding.qubo.full_diagonal()
        # energies are shifted and scaled to unit spread so one parameter range suits every problem
        self.scale = float(self.energies.std()) or 1.0
        normalised = (self.energies - self.energies.mean()) / self.scale
        if self.one_hot:
            single = len(normalised) >= SINGLE_PRECISION_STATES
            self.kernel: SubspaceQaoa | FullSpaceQaoa = SubspaceQaoa(
                self.dims, normalised, topology, start, dtype=np.float32 if single else np.float64)
        else:
            self.kernel = FullSpaceQaoa(normalised, dtype)

    def circuit(self, params: np.ndarray) -> QuantumCircuit:
        """The measured Qiskit circuit of the simulated ansatz, with the same (normalised) cost."""
        qubo = self.encoding.qubo.scaled(1.0 / self.scale)
        reps = len(params) // 2
        circuit = onehot_qaoa_circuit(self.dims, qubo, reps, self.topology, measure=True, start=self.start) \
            if self.one_hot \
            else x_mixer_qaoa_circuit(qubo, reps, measure=True)
        return bind(circuit, params)

    def selection_probabilities(self, probs: np.ndarray) -> np.ndarray:
        """Probability of each one-hot selection (in ``subspace_choices`` order), slack summed out."""
        return probs if self.one_hot else self.selections.marginal(probs)

    def bits(self, indices: np.ndarray) -> list[np.ndarray]:
        """Option bits of basis states of the simulated space."""
        if self.one_hot:
            return list(self.selections.bits(indices))
        return list(basis_bits((int(i) for i in indices), self.n_options))


class _OutOfTime(Exception):
    """Raised from the energy function past the time limit: the optimisers (COBYLA, SPSA, L-BFGS-B) take an
    iteration count, not a deadline, and a hybrid window must not outlast the time its caller has left."""


class QaoaSolver(Solver):
    name = "qaoa"

    def compatibility(self, problem: BomProblem, options: SolveOptions) -> str | None:
        size = int(np.prod([len(p.options) for p in problem.positions], dtype=np.int64))
        if size > MAX_SUBSPACE_STATES:
            return (f"the one-hot subspace has {size:,} states (more than {MAX_SUBSPACE_STATES:,}); "
                    "use --solver hybrid")
        scheme = encoding_scheme(options.encoding)
        if not scheme.one_hot_by_ansatz:  # the full 2^n space is simulated
            return full_space_compatibility(problem, scheme)
        return None

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        refused = self.compatibility(problem, options)
        if refused:
            raise ConfigError(refused)
        scheme = encoding_scheme(options.encoding)
        encoding = scheme.build(problem, options.tune_penalties)
        topology = options.mixer
        initial = warm_start(problem, options.warm_start, options.warm_epsilon)
        if initial is not None and not scheme.one_hot_by_ansatz:
            raise ConfigError("warm_start applies to the onehot encoding (its W-state preparation)")
        space = _Space(problem, encoding, topology, np.complex128, initial)
        alpha = options.cvar_alpha
        trace = EnergyTrace(options)

        deadline = start + options.time_limit_s
        best: list[tuple[float, np.ndarray]] = []  # the lowest energy so far and its parameters

        def energy(params: np.ndarray) -> float:
            if best and time.perf_counter() > deadline:
                raise _OutOfTime
            value = trace.record(space.kernel.expectation(np.asarray(params), alpha))
            if not best or value < best[0][0]:
                best[:] = [(value, np.array(params, dtype=float))]
            return value

        stopped = False
        try:
            params = self._optimise(energy, options)
        except _OutOfTime:  # the optimiser cannot be told a deadline: its best point so far is the answer
            params, stopped = best[0][1], True
        probs = space.kernel.probabilities(params).copy()
        selections = space.selections
        selection_probs = space.selection_probabilities(probs)
        details: dict[str, object] = {"state_dimension": len(probs),
                                      "state_precision": str(np.finfo(space.kernel.dtype).dtype), "cvar_alpha": alpha,
                                      "stopped_at_time_limit": stopped,
                                      "mixer": topology if space.one_hot else "x", "parameters": params.tolist(),
                                      "energy_distribution": energy_distribution(space.energies, probs),
                                      "energy_trace": trace.thinned()}
        if options.backend == "local":
            rng = np.random.default_rng(options.seed)
            drawn = np.unique(rng.choice(len(probs), size=options.shots, p=probs / probs.sum()))
            sampled = space.bits(drawn)
            backend = "subspace statevector (local)" if space.one_hot else "full statevector (local, numba)"
            p_feasible = selections.p_feasible(selection_probs)
        else:  # parameters trained on the exact simulator, final circuit sampled on the chosen primitive
            run = sample(space.circuit(params), options.backend, options.shots, options.seed)
            sampled, p_feasible = device_samples(problem, run.counts)
            backend = run.backend
            details.update(transpiled_depth=run.depth, two_qubit_gates=run.two_qubit_gates,
                           exact_p_feasible=selections.p_feasible(selection_probs))
        energies = encoding.qubo.energies(np.array([np.pad(b, (0, encoding.qubo.n - len(b))) for b in sampled]))
        record = SolverRecord(
            method=self.name, backend=backend, encoding=encoding.name, qubits=encoding.qubo.n,
            reps=len(params) // 2, optimizer=options.optimizer, evaluations=len(trace), shots=options.shots,
            seed=options.seed, wall_time_s=time.perf_counter() - start, p_feasible=p_feasible,
            p_optimal=selections.p_optimal(selection_probs, options.known_optimum),
            details={**details, **encoding.report()},
        )
        return conclude(problem, scheme, record, sampled, energies)

    @staticmethod
    def _optimise(energy: Callable[[np.ndarray], float], options: SolveOptions) -> np.ndarray:
        optimizer = make_optimizer(options.optimizer, options.maxiter, options.seed)
        if options.interp:
            params = linear_ramp(1)
            for depth in range(1, options.reps + 1):
                params = optimizer.minimize(energy, params).x
                if depth < options.reps:
                    params = interp(params)
            return np.asarray(params)
        return np.asarray(optimizer.minimize(energy, linear_ramp(options.reps)).x)
